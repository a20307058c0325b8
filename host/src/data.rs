//! A loaded interaction dataset: user CSR, id maps, optional timestamps.
