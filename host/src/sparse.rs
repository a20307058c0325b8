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
    /// are rejected with [`crate::Error::Invalid`].
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
                    *x += v;
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
        let mut indptr = vec![0u64; self.ncols + 1];
        for &c in &self.indices {
            indptr[c as usize + 1] += 1;
        }
        for j in 0..self.ncols {
            indptr[j + 1] += indptr[j];
        }
        let mut next: Vec<u64> = indptr[..self.ncols].to_vec();
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for i in 0..self.nrows {
            let (cols, vals) = self.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                let p = next[c as usize] as usize;
                indices[p] = i as u32;
                values[p] = v;
                next[c as usize] += 1;
            }
        }
        Csr {
            indptr,
            indices,
            values,
            nrows: self.ncols,
            ncols: self.nrows,
        }
    }
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
}
