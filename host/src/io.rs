//! Readers for triplet, MovieLens and Matrix Market files into a Dataset.
