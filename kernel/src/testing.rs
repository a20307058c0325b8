//! Helpers shared by the kernel's unit tests.

/// A small deterministic generator (xorshift64), values in [-1, 1).
pub(crate) struct Gen(pub(crate) u64);

impl Gen {
    /// The next value in [-1, 1).
    pub(crate) fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}
