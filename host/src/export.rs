//! Factor export: .npy, C header and raw little-endian blob.
