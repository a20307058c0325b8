//! Top-N recommendation (batched on BLAS) and cosine similarity.
