//! Factor export: `.npy`, C header and raw little-endian blob.
//!
//! - `.npy` (NumPy format v1.0, dtype `'<f4'`, C order): [`write_npy`] /
//!   [`npy_bytes`] for the user or item factors; [`read_npy`] reads it back.
//! - The `"WMFB"` blob (what the ffi layer and a firmware load), all
//!   little-endian: magic `b"WMFB"`, `u32` version = 1, `u32` n, `u32` k, `u32`
//!   dtype (0 = f32), then `n*k` `f32` item factors (row-major), the `k*k` `f32`
//!   Gramian `G0 = Hᵀ diag(c0) H`, `n` `f32` `c0`, then a `u32` CRC32 (IEEE) of
//!   every byte before it. [`ItemBlob`] builds, writes and reads it.
//! - The C header ([`c_header`]): `WMF_MODEL_N`, `WMF_MODEL_K`, and the arrays
//!   `wmf_item_factors[N*K]`, `wmf_gramian[K*K]`, `wmf_item_c0[N]`, with every
//!   value printed with 9 significant digits, so each `f32` round-trips exactly.

use std::fmt::Write as _;
use std::path::Path;

use ndarray::{Array2, ArrayView2};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::model_io::atomic_write;

/// Magic bytes of the item blob.
pub const BLOB_MAGIC: &[u8; 4] = b"WMFB";
/// Version of the item blob this build writes and reads.
pub const BLOB_VERSION: u32 = 1;
/// `dtype` code of `f32` in the blob.
pub const BLOB_DTYPE_F32: u32 = 0;
/// Bytes before the item factors in the blob.
pub const BLOB_HEADER_LEN: usize = 20;

/// The `.npy` (v1.0, `'<f4'`, C order) encoding of an `m x k` matrix.
///
/// The header is padded with spaces and a newline so that the data starts at a
/// multiple of 64 bytes, as NumPy writes it.
///
/// ```
/// let a = ndarray::array![[1.0f32, 2.0], [3.0, 4.0]];
/// let b = wmf_host::export::npy_bytes(a.view());
/// assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
/// assert_eq!(b.len(), 128 + 16); // header padded to 128 bytes, then 4 f32
/// ```
pub fn npy_bytes(a: ArrayView2<'_, f32>) -> Vec<u8> {
    let (rows, cols) = a.dim();
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic(6) + version(2) + header_len(2) + dict + padding + '\n'
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let header_len = total - 10;
    let mut out = Vec::with_capacity(total + 4 * rows * cols);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    for v in a.iter() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes `a` as a `.npy` file (atomically).
///
/// # Errors
/// [`Error::Io`] naming the path.
pub fn write_npy(path: &Path, a: ArrayView2<'_, f32>) -> Result<()> {
    atomic_write(path, &npy_bytes(a))
}

/// Reads a 2-D `'<f4'` C-order `.npy` (v1.0 or v2.0) from bytes.
///
/// # Errors
/// [`Error::Format`] (naming `path`) for anything else or a truncated file.
pub fn read_npy(bytes: &[u8], path: &Path) -> Result<Array2<f32>> {
    let fmt = |message: &str| Error::Format {
        path: path.to_path_buf(),
        message: format!("not a 2-D '<f4' C-order .npy file: {message}"),
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(fmt("wrong magic"));
    }
    let (hlen, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(fmt("unsupported version")),
    };
    let header = bytes
        .get(start..start + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| fmt("truncated header"))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("'descr':'<f4'") || !compact.contains("'fortran_order':False") {
        return Err(fmt("dtype must be '<f4' and order C"));
    }
    let shape = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| fmt("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| fmt("bad shape"))?;
    let [rows, cols] = dims[..] else {
        return Err(fmt("not 2-D"));
    };
    let data = &bytes[start + hlen..];
    if Some(data.len()) != rows.checked_mul(cols).and_then(|x| x.checked_mul(4)) {
        return Err(fmt("data length does not match the shape"));
    }
    let vals = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Array2::from_shape_vec((rows, cols), vals).map_err(|e| fmt(&e.to_string()))
}

/// Rotates the item factors `h` (`n x k`), and the user factors `w` when
/// given, into the eigenbasis of the weighted item Gramian `G0 = Hᵀ
/// diag(c0) H` ([`crate::als::rotate_to_eigenbasis`], the rotation the CG
/// training uses) and returns `G0` in that basis: `diag(e)`, `k x k`. The
/// model `W Hᵀ` is unchanged to rounding.
///
/// # Errors
/// [`Error::Invalid`] when the factors are not row-major, `c0` does not
/// match the items, or LAPACK cannot decompose the Gramian.
pub fn to_item_eigenbasis(
    h: &mut ndarray::Array2<f32>,
    w: Option<&mut ndarray::Array2<f32>>,
    c0: &[f32],
) -> Result<Vec<f32>> {
    let k = h.ncols();
    let g = crate::gramian::gramian_weighted(h.view(), c0)?;
    let layout = || Error::invalid("model", "factors not in row-major layout");
    let mut none: [f32; 0] = [];
    let solved = match w {
        Some(w) => w.as_slice_mut().ok_or_else(layout)?,
        None => &mut none[..],
    };
    let g = g.as_slice().ok_or_else(layout)?;
    let fixed = h.as_slice_mut().ok_or_else(layout)?;
    crate::als::rotate_to_eigenbasis(g, k, fixed, solved).ok_or_else(eigen_failed)
}

fn eigen_failed() -> Error {
    Error::invalid("model", "LAPACK could not decompose the item Gramian")
}

/// What a device needs from a model's item side: `H` (`n x k`), `G0 = Hᵀ
/// diag(c0) H` (`k x k`) and `c0` (`n`), all row-major `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemBlob {
    /// Number of items `n`.
    pub n: usize,
    /// Number of factors `k`.
    pub k: usize,
    /// Item factors, `n * k`, row-major.
    pub item_factors: Vec<f32>,
    /// Gramian `G0`, `k * k`, row-major.
    pub gramian: Vec<f32>,
    /// Per-item baseline weights `c0`, `n`.
    pub item_c0: Vec<f32>,
}

impl ItemBlob {
    /// The blob of a model; `G0` is computed with BLAS
    /// ([`crate::gramian::gramian_weighted`]).
    ///
    /// # Errors
    /// [`Error::Invalid`] when `item_c0` does not match the items or is
    /// negative / non-finite, or a dimension exceeds `u32`.
    pub fn from_model(model: &Model) -> Result<Self> {
        let (n, k) = model.item_factors.dim();
        if n == 0 || k == 0 {
            return Err(Error::invalid(
                "model",
                format!("empty item factors ({n} x {k})"),
            ));
        }
        if u32::try_from(n).is_err() || u32::try_from(k).is_err() {
            return Err(Error::invalid("model", format!("{n} x {k} exceeds u32")));
        }
        if let Some(i) = model.item_factors.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "model",
                format!("item factor {} of item {} is not finite", i % k, i / k),
            ));
        }
        let g = crate::gramian::gramian_weighted(model.item_factors.view(), &model.item_c0)?;
        Ok(Self {
            n,
            k,
            item_factors: model.item_factors.iter().copied().collect(),
            gramian: g.iter().copied().collect(),
            item_c0: model.item_c0.clone(),
        })
    }

    /// [`ItemBlob::from_model`] with the items in the eigenbasis of their
    /// Gramian ([`to_item_eigenbasis`]): `G0` is then `diag(e)`, exactly
    /// zero off the diagonal, and a device's CG fold-in (the kernel
    /// notices the diagonal, [`wmf_kernel::Items::gramian_is_diagonal`])
    /// takes each step's `G0 p` in `O(k)` instead of `O(k²)`. Scores
    /// `x · h_j` of a user folded in on the device are the unrotated
    /// blob's to rounding; the user's vector `x` is in the rotated basis.
    ///
    /// # Errors
    /// As [`ItemBlob::from_model`]; [`Error::Invalid`] when LAPACK cannot
    /// decompose the Gramian.
    pub fn from_model_in_eigenbasis(model: &Model) -> Result<Self> {
        let mut blob = Self::from_model(model)?;
        // the blob's own G0 and copy of H, turned in place
        blob.gramian = crate::als::rotate_to_eigenbasis(
            &blob.gramian,
            blob.k,
            &mut blob.item_factors,
            &mut [],
        )
        .ok_or_else(eigen_failed)?;
        Ok(blob)
    }

    /// The blob's bytes (layout in the [module docs](self)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            BLOB_HEADER_LEN + 4 * (self.n * self.k + self.k * self.k + self.n) + 4,
        );
        out.extend_from_slice(BLOB_MAGIC);
        for x in [BLOB_VERSION, self.n as u32, self.k as u32, BLOB_DTYPE_F32] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for v in self
            .item_factors
            .iter()
            .chain(&self.gramian)
            .chain(&self.item_c0)
        {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Writes the blob to `path` atomically.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path.
    pub fn write(&self, path: &Path) -> Result<()> {
        atomic_write(path, &self.to_bytes())
    }

    /// Parses a blob; `path` names it in messages.
    ///
    /// # Errors
    /// [`Error::Format`] for a wrong magic, another version or dtype, a length
    /// that does not match `n` and `k`, a checksum mismatch or non-finite values.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let fmt = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        if bytes.len() < BLOB_HEADER_LEN + 4 || &bytes[..4] != BLOB_MAGIC {
            return Err(fmt("not a WMFB item blob (wrong magic or too short)".into()));
        }
        let word = |i: usize| {
            u32::from_le_bytes([
                bytes[4 * i],
                bytes[4 * i + 1],
                bytes[4 * i + 2],
                bytes[4 * i + 3],
            ])
        };
        let (version, n, k, dtype) = (word(1), word(2) as usize, word(3) as usize, word(4));
        if version != BLOB_VERSION {
            return Err(fmt(format!(
                "blob version {version} is not supported (this build reads {BLOB_VERSION})"
            )));
        }
        if dtype != BLOB_DTYPE_F32 {
            return Err(fmt(format!(
                "blob dtype {dtype} is not supported (0 = f32)"
            )));
        }
        let floats = n
            .checked_mul(k)
            .and_then(|nk| nk.checked_add(k.checked_mul(k)?))
            .and_then(|x| x.checked_add(n));
        let want = floats
            .and_then(|f| f.checked_mul(4))
            .map(|b| b + BLOB_HEADER_LEN + 4);
        if want != Some(bytes.len()) {
            return Err(fmt(format!(
                "{} bytes, but n = {n}, k = {k} needs {} (truncated or corrupt)",
                bytes.len(),
                want.map_or("more than fits in memory".into(), |w| w.to_string())
            )));
        }
        let body = bytes.len() - 4;
        let stored = u32::from_le_bytes([
            bytes[body],
            bytes[body + 1],
            bytes[body + 2],
            bytes[body + 3],
        ]);
        if crc32fast::hash(&bytes[..body]) != stored {
            return Err(fmt("checksum mismatch: the blob is corrupted".into()));
        }
        let vals: Vec<f32> = bytes[BLOB_HEADER_LEN..body]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if vals.iter().any(|v| !v.is_finite()) {
            return Err(fmt("blob holds a non-finite value".into()));
        }
        let (h, rest) = vals.split_at(n * k);
        let (g, c0) = rest.split_at(k * k);
        Ok(Self {
            n,
            k,
            item_factors: h.to_vec(),
            gramian: g.to_vec(),
            item_c0: c0.to_vec(),
        })
    }

    /// Reads a blob file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path, or as [`ItemBlob::from_bytes`].
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// The C header of this blob (see [`c_header`]).
    ///
    /// # Errors
    /// As [`c_header`].
    pub fn c_header(&self) -> Result<String> {
        c_header(self)
    }
}

fn c_array(out: &mut String, name: &str, len: &str, vals: &[f32]) {
    let _ = writeln!(out, "static const float {name}[{len}] = {{");
    for row in vals.chunks(6) {
        out.push_str("   ");
        for v in row {
            // 9 significant digits: every f32 round-trips exactly.
            let _ = write!(out, " {v:.8e}f,");
        }
        out.push('\n');
    }
    out.push_str("};\n");
}

/// The C header with the blob's contents: `#define WMF_MODEL_N`,
/// `#define WMF_MODEL_K`, `static const float wmf_item_factors[N*K]`,
/// `wmf_gramian[K*K]` and `wmf_item_c0[N]`, values in `%.8e` form (9
/// significant digits, exact for `f32`), inside an include guard.
///
/// # Errors
/// [`Error::Invalid`] when the blob's arrays do not match `n` and `k` or hold a
/// non-finite value (which C cannot spell as a literal).
pub fn c_header(blob: &ItemBlob) -> Result<String> {
    let (n, k) = (blob.n, blob.k);
    if blob.item_factors.len() != n * k
        || blob.gramian.len() != k * k
        || blob.item_c0.len() != n
        || n == 0
        || k == 0
    {
        return Err(Error::invalid(
            "blob",
            format!("arrays do not match n = {n}, k = {k}"),
        ));
    }
    let all = blob
        .item_factors
        .iter()
        .chain(&blob.gramian)
        .chain(&blob.item_c0);
    if all.clone().any(|v| !v.is_finite()) {
        return Err(Error::invalid("blob", "non-finite value"));
    }
    let mut out = String::with_capacity(16 * (n * k + k * k + n) + 512);
    out.push_str(
        "/* Generated by wmf export: item side of a weighted matrix factorisation model.\n",
    );
    out.push_str(" * wmf_item_factors: H (N x K, row-major); wmf_gramian: G0 = H^T diag(c0) H\n");
    out.push_str(" * (K x K, row-major); wmf_item_c0: weight of unobserved cells per item. */\n");
    out.push_str("#ifndef WMF_MODEL_H\n#define WMF_MODEL_H\n\n");
    let _ = writeln!(out, "#define WMF_MODEL_N {n}");
    let _ = writeln!(out, "#define WMF_MODEL_K {k}\n");
    c_array(
        &mut out,
        "wmf_item_factors",
        "WMF_MODEL_N * WMF_MODEL_K",
        &blob.item_factors,
    );
    out.push('\n');
    c_array(
        &mut out,
        "wmf_gramian",
        "WMF_MODEL_K * WMF_MODEL_K",
        &blob.gramian,
    );
    out.push('\n');
    c_array(&mut out, "wmf_item_c0", "WMF_MODEL_N", &blob.item_c0);
    out.push_str("\n#endif /* WMF_MODEL_H */\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::IdMap;
    use crate::model::TrainConfig;

    fn model(n: usize, k: usize) -> Model {
        let config = TrainConfig {
            k,
            ..TrainConfig::default()
        };
        Model {
            config,
            user_factors: Array2::from_shape_fn((2, k), |(i, j)| (i + j) as f32 * 0.1),
            item_factors: Array2::from_shape_fn((n, k), |(i, j)| {
                ((i * 7 + j * 3) % 11) as f32 / 3.0 - 1.0 + 1e-7 * i as f32
            }),
            item_c0: (0..n).map(|j| 0.5 + j as f32 / 7.0).collect(),
            user_ids: IdMap::sequential(2),
            item_ids: IdMap::sequential(n),
        }
    }

    #[test]
    fn npy_header_is_numpy_v1() {
        let a = Array2::from_shape_vec((2, 3), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, -6.5]).unwrap();
        let b = npy_bytes(a.view());
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(&b[10 + hlen..10 + hlen + 4], &1.0f32.to_le_bytes());
        assert_eq!(b.len(), 10 + hlen + 24);
        assert_eq!(read_npy(&b, Path::new("x.npy")).unwrap(), a);
        assert!(read_npy(&b[..b.len() - 1], Path::new("x.npy")).is_err());
    }

    #[test]
    fn blob_round_trips_and_matches_the_kernel_gramian() {
        let m = model(9, 3);
        let blob = ItemBlob::from_model(&m).unwrap();
        let mut g = vec![0f32; 9];
        let h = wmf_kernel::Factors::new(&blob.item_factors, 9, 3).unwrap();
        wmf_kernel::gramian(&h, wmf_kernel::Baseline::PerItem(&m.item_c0), &mut g).unwrap();
        for (a, b) in g.iter().zip(&blob.gramian) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
        }
        let bytes = blob.to_bytes();
        assert_eq!(&bytes[..4], b"WMFB");
        assert_eq!(bytes.len(), 20 + 4 * (27 + 9 + 9) + 4);
        assert_eq!(ItemBlob::from_bytes(&bytes, Path::new("b")).unwrap(), blob);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wmfb");
        blob.write(&p).unwrap();
        assert_eq!(ItemBlob::read(&p).unwrap(), blob);
    }

    /// The eigenbasis blob: `G0` exactly diagonal (so the kernel takes the
    /// `O(k)` products), the rotated items' own Gramian within rounding of
    /// it, and a user folded in against it scoring every item as against
    /// the plain blob, to rounding.
    #[test]
    fn an_eigenbasis_blob_is_the_same_item_side_with_a_diagonal_gramian() {
        use wmf_kernel::{Baseline, CgParams, Factors, Items, Row};
        let (n, k) = (40, 6);
        let mut m = model(n, k);
        m.item_factors = Array2::from_shape_fn((n, k), |(i, j)| {
            (((i * 7 + j * 13) % 17) as f32 - 8.0) * 0.05 + if i % k == j { 0.3 } else { 0.0 }
        });
        let plain = ItemBlob::from_model(&m).unwrap();
        let eig = ItemBlob::from_model_in_eigenbasis(&m).unwrap();
        assert_eq!((eig.n, eig.k, &eig.item_c0), (n, k, &m.item_c0));
        let top = plain.gramian.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let mut own = vec![0.0f32; k * k];
        let rows = Factors::new(&eig.item_factors, n, k).unwrap();
        wmf_kernel::gramian(&rows, Baseline::PerItem(&eig.item_c0), &mut own).unwrap();
        for r in 0..k {
            for c in 0..k {
                let g = eig.gramian[r * k + c];
                assert!(r == c || g.to_bits() == 0, "G0[{r}][{c}] = {g}");
                assert!((own[r * k + c] - g).abs() <= 1e-5 * top, "G0[{r}][{c}]");
            }
        }
        let fold = |b: &ItemBlob| {
            let rows = Factors::new(&b.item_factors, n, k).unwrap();
            let items = Items::new(rows, &b.gramian, Baseline::PerItem(&b.item_c0)).unwrap();
            let row = Row::implicit(&[1, 5, 22, 39], &[3.0, 2.0, 5.0, 2.5]);
            let (mut x, mut scratch) = (vec![0.0f32; k], vec![0.0f32; 3 * k]);
            let params = CgParams {
                steps: 4 * k,
                tol: 1e-7,
            };
            wmf_kernel::solve_row_cg(&items, &row, 0.5, &mut x, params, &mut scratch).unwrap();
            assert_eq!(items.gramian_is_diagonal(), std::ptr::eq(b, &eig));
            (0..n)
                .map(|j| {
                    b.item_factors[j * k..(j + 1) * k]
                        .iter()
                        .zip(&x)
                        .map(|(h, x)| h * x)
                        .sum::<f32>()
                })
                .collect::<Vec<f32>>()
        };
        let (a, b) = (fold(&plain), fold(&eig));
        let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0);
        for (j, (a, b)) in a.iter().zip(&b).enumerate() {
            assert!((a - b).abs() <= 1e-4 * scale, "item {j}: {a} vs {b}");
        }
    }

    #[test]
    fn damaged_blobs_are_rejected() {
        let bytes = ItemBlob::from_model(&model(4, 2)).unwrap().to_bytes();
        let p = Path::new("b");
        for len in 0..bytes.len() {
            assert!(
                ItemBlob::from_bytes(&bytes[..len], p).is_err(),
                "truncated to {len}"
            );
        }
        for byte in 0..bytes.len() {
            let mut b = bytes.clone();
            b[byte] ^= 0x10;
            assert!(ItemBlob::from_bytes(&b, p).is_err(), "flip in byte {byte}");
        }
    }

    #[test]
    fn c_header_values_round_trip_exactly() {
        let blob = ItemBlob::from_model(&model(5, 2)).unwrap();
        let h = blob.c_header().unwrap();
        assert!(h.contains("#define WMF_MODEL_N 5\n#define WMF_MODEL_K 2\n"));
        let arrays: Vec<Vec<f32>> = h
            .split("= {")
            .skip(1)
            .map(|s| {
                s.split("};")
                    .next()
                    .unwrap()
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| t.trim_end_matches('f').parse::<f32>().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(
            arrays,
            vec![
                blob.item_factors.clone(),
                blob.gramian.clone(),
                blob.item_c0.clone()
            ]
        );
        for names in [
            "wmf_item_factors[WMF_MODEL_N * WMF_MODEL_K]",
            "wmf_gramian[WMF_MODEL_K * WMF_MODEL_K]",
            "wmf_item_c0[WMF_MODEL_N]",
        ] {
            assert!(
                h.contains(&format!("static const float {names} = {{")),
                "{names}"
            );
        }
    }
}
