//! Compressed sparse rows: `u32` column indices and `f32` values, 8 bytes per
//! stored cell plus one `u64` offset per row.

/// A sparse `nrows x ncols` matrix in CSR form. Within each row, column
/// indices are strictly ascending (no duplicates); the kernel's
/// [`wmf_kernel::Row`] relies on this.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr {
    /// Row `i` occupies `indices[indptr[i]..indptr[i + 1]]`; `indptr.len() == nrows + 1`.
    pub indptr: Vec<u64>,
    /// Column index of each stored cell.
    pub indices: Vec<u32>,
    /// Value of each stored cell.
    pub values: Vec<f32>,
    /// Number of rows.
    pub nrows: usize,
    /// Number of columns.
    pub ncols: usize,
}

/// The sum `a + b` of two values of one `(row, column)` pair (every builder
/// of a matrix sums duplicates), or `None` when finite values sum past
/// `f32::MAX`: callers turn that into an error naming the pair
/// ([`duplicate_overflow`]), never store an infinity.
pub(crate) fn sum_duplicate(a: f32, b: f32) -> Option<f32> {
    let s = a + b;
    s.is_finite().then_some(s)
}

/// The message for a pair whose duplicate values sum past `f32::MAX`.
pub(crate) fn duplicate_overflow(
    row: impl std::fmt::Display,
    col: impl std::fmt::Display,
) -> String {
    format!(
        "{row}, {col}: the values of its duplicates sum past the largest f32 ({:e})",
        f32::MAX
    )
}

impl Csr {
    /// Number of stored cells.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Row `i`'s column indices and values (empty for `i >= nrows`).
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        if i >= self.nrows {
            return (&[], &[]);
        }
        let (a, b) = (self.indptr[i] as usize, self.indptr[i + 1] as usize);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// Number of stored cells in row `i`.
    pub fn row_len(&self, i: usize) -> usize {
        self.row(i).0.len()
    }

    /// Builds a CSR from `(row, col, value)` triplets, summing duplicates.
    /// Triplets need not be sorted. Out-of-range indices are a caller bug and
    /// are rejected with [`crate::Error::Invalid`], as are duplicates whose
    /// values sum past `f32::MAX`.
    pub fn from_triplets(
        nrows: usize,
        ncols: usize,
        triplets: &[(u32, u32, f32)],
    ) -> crate::Result<Self> {
        let mut t: Vec<(u32, u32, f32)> = triplets.to_vec();
        if let Some(bad) = t
            .iter()
            .find(|(r, c, _)| *r as usize >= nrows || *c as usize >= ncols)
        {
            return Err(crate::Error::invalid(
                "triplet",
                format!("({}, {}) outside a {nrows} x {ncols} matrix", bad.0, bad.1),
            ));
        }
        t.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut indptr = vec![0u64; nrows + 1];
        let mut indices = Vec::with_capacity(t.len());
        let mut values: Vec<f32> = Vec::with_capacity(t.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in t {
            if last == Some((r, c)) {
                if let Some(x) = values.last_mut() {
                    *x = sum_duplicate(*x, v).ok_or_else(|| {
                        crate::Error::invalid(
                            "triplet",
                            duplicate_overflow(format_args!("row {r}"), format_args!("column {c}")),
                        )
                    })?;
                }
                continue;
            }
            last = Some((r, c));
            indices.push(c);
            values.push(v);
            indptr[r as usize + 1] += 1;
        }
        for i in 0..nrows {
            indptr[i + 1] += indptr[i];
        }
        Ok(Self {
            indptr,
            indices,
            values,
            nrows,
            ncols,
        })
    }

    /// The transpose (`ncols x nrows`), in O(nnz + nrows + ncols) by counting sort;
    /// rows of the result stay strictly ascending.
    pub fn transpose(&self) -> Csr {
        let (indptr, indices, values) =
            transpose_parts(&self.indptr, &self.indices, &self.values, self.ncols);
        Csr {
            indptr,
            indices,
            values,
            nrows: self.ncols,
            ncols: self.nrows,
        }
    }
}

/// The transpose of the CSR arrays `(indptr, indices, values)` of a matrix with
/// `ncols` columns: the `(indptr, indices, values)` of its `ncols` rows, by
/// counting sort in O(nnz + nrows + ncols). Allocates exactly the result
/// (`8 (ncols + 1)` bytes of offsets and `nnz` indices and values) plus one
/// `u64` cursor per column. Rows of the result stay strictly ascending when
/// the input's row indices ascend (they are visited in order). Column indices
/// `>= ncols` are a caller bug (they panic).
pub(crate) fn transpose_parts<V: Copy + Default>(
    indptr: &[u64],
    indices: &[u32],
    values: &[V],
    ncols: usize,
) -> (Vec<u64>, Vec<u32>, Vec<V>) {
    let mut out_ptr = vec![0u64; ncols + 1];
    for &c in indices {
        out_ptr[c as usize + 1] += 1;
    }
    for j in 0..ncols {
        out_ptr[j + 1] += out_ptr[j];
    }
    let mut next: Vec<u64> = out_ptr[..ncols].to_vec();
    let mut out_idx = vec![0u32; indices.len()];
    let mut out_val = vec![V::default(); indices.len()];
    for (i, w) in indptr.windows(2).enumerate() {
        let (a, b) = (w[0] as usize, w[1] as usize);
        for (&c, &v) in indices[a..b].iter().zip(&values[a..b]) {
            let p = next[c as usize] as usize;
            out_idx[p] = i as u32;
            out_val[p] = v;
            next[c as usize] += 1;
        }
    }
    (out_ptr, out_idx, out_val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triplets_sum_duplicates_and_transpose_round_trips() {
        let m = Csr::from_triplets(3, 4, &[(2, 1, 1.0), (0, 3, 2.0), (0, 0, 1.0), (2, 1, 0.5)])
            .unwrap();
        assert_eq!(m.nnz(), 3);
        assert_eq!(m.row(0), (&[0u32, 3][..], &[1.0f32, 2.0][..]));
        assert_eq!(m.row(2), (&[1u32][..], &[1.5f32][..]));
        assert_eq!(m.transpose().transpose(), m);
        assert!(Csr::from_triplets(1, 1, &[(0, 1, 1.0)]).is_err());
    }

    #[test]
    fn duplicates_summing_past_f32_max_are_an_error() {
        let big = 3.0e38f32;
        let e = Csr::from_triplets(2, 3, &[(0, 0, 1.0), (1, 2, big), (1, 2, big)]).unwrap_err();
        assert!(
            e.to_string()
                .contains("row 1, column 2: the values of its duplicates sum past"),
            "{e}"
        );
        // Up to f32::MAX is fine.
        let m =
            Csr::from_triplets(1, 1, &[(0, 0, f32::MAX / 2.0), (0, 0, f32::MAX / 2.0)]).unwrap();
        assert_eq!(m.values, vec![f32::MAX]);
    }
}
