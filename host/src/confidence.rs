//! Confidence and baseline-weight schemes applied to a dataset.
