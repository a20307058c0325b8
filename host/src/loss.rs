//! Training loss in O(nnz k + (m + n) k^2).
