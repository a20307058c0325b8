//! How the host loops are blocked for the machine's vector registers.

/// The register blocking of the kernel's tiled host loop that forms the
/// normal equations' rank updates `Σ (c − c0) h hᵀ` (in
/// [`crate::solve_row_cholesky`] and [`crate::row_normal_equations`]).
///
/// A tiling never changes a result: under every tiling each element of `A`
/// receives the same operations in the same order (the tiles
/// only decide which elements are kept in registers together), so the bits
/// are the same on every target and for every choice. It decides speed: a
/// tile whose accumulators do not fit in the register file is spilled to the
/// stack on every cell. On bare metal (`target_os = "none"`) the loops are
/// untiled and the tiling is ignored.
///
/// [`Default`] is [`Tiling::Wide`] where the crate is compiled with
/// AVX-512F enabled and [`Tiling::Narrow`] everywhere else; a host that
/// selects its instruction set at run time (as `wmf-host` does) sets the one
/// it runs with [`crate::Items::with_tiling`].
///
/// ```
/// use wmf_kernel::{Baseline, Factors, Items, Tiling};
/// let h = [1.0f32, 0.0, 0.0, 1.0];
/// let g0 = [1.0f32, 0.0, 0.0, 1.0];
/// let items = Items::new(Factors::new(&h, 2, 2).unwrap(), &g0, Baseline::Uniform(1.0)).unwrap();
/// assert_eq!(items.with_tiling(Tiling::Narrow).tiling(), Tiling::Narrow);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tiling {
    /// 32 vector registers of 16 `f32` lanes (AVX-512): tiles of 4 rows x
    /// 64 columns (16 accumulator registers).
    Wide,
    /// 16 vector registers of up to 8 `f32` lanes (AVX2, SSE2) or 32 of 4
    /// (NEON): tiles of 16 columns and, for `f32`, 4 rows when the
    /// multiply-adds are fused (8 accumulator registers of 8 lanes, 2 for
    /// the cell's row and the rest for the broadcasts), 3 rows when they
    /// are not (6 accumulators: with separate products the compiler issues
    /// a cell's 8 products before its additions, and one of a 4-row tile's
    /// accumulators lives on the stack; the wide tiles' 32 spill on every
    /// cell); 3 rows for `f64`, fused or not. BENCHMARKS.md, batches 11, 12
    /// and 35.
    Narrow,
}

impl Tiling {
    /// Columns of a rank-update tile, in chunks of 16.
    #[cfg_attr(target_os = "none", allow(dead_code))]
    #[inline(always)]
    pub(crate) fn syr_chunks(self) -> usize {
        match self {
            Tiling::Wide => 4,
            Tiling::Narrow => 1,
        }
    }

    /// Rows of a rank-update tile over elements of `T` (the last tile of a
    /// matrix may have fewer), with fused multiply-adds (`fused`) or
    /// separate products and sums.
    #[cfg_attr(target_os = "none", allow(dead_code))]
    #[inline(always)]
    pub(crate) fn syr_rows<T>(self, fused: bool) -> usize {
        match self {
            Tiling::Wide => 4,
            // f64: a row of 16 is 4 registers, 3 rows already spill
            Tiling::Narrow if fused && core::mem::size_of::<T>() <= 4 => 4,
            Tiling::Narrow => 3,
        }
    }
}

impl Default for Tiling {
    fn default() -> Self {
        if cfg!(target_feature = "avx512f") {
            Tiling::Wide
        } else {
            Tiling::Narrow
        }
    }
}
