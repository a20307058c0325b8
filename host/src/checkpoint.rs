//! Training checkpoints: the complete state of an ALS run between iterations,
//! written atomically and checksummed, so that a resumed run produces exactly
//! the factors of an uninterrupted one.
//!
//! # What the state is
//! An ALS iteration reads only the current factors `W`, `H` (the Gramians are
//! recomputed from them each half, CG and eALS warm-start from them), the
//! problem (fixed by the data and the configuration) and its own index. The
//! random stream is used once, for the initial factors. So the state after
//! iteration `t` is `(config, t, W, H)`; the checkpoint also records a
//! fingerprint of the input matrix so that resuming on different data fails.
//! Factors are stored with their exact bits (`f32` or `f64`), so resuming is
//! bit-identical (for the same thread count; the host's ALS is in fact
//! deterministic for any count, see [`crate::als`]).
//!
//! # File layout (version 1, all integers little-endian)
//! | field | bytes |
//! |---|---|
//! | magic `b"WMFCKPT\0"` ([`MAGIC`]) | 8 |
//! | format version `u32` (= [`FORMAT_VERSION`]) | 4 |
//! | length `u64` + JSON of the [`TrainConfig`] | 8 + len |
//! | completed iterations `t` (`u64`) | 8 |
//! | data fingerprint `u32` ([`fingerprint`]) | 4 |
//! | dtype `u32`: 0 = `f32`, 1 = `f64` | 4 |
//! | `m`, `n`, `k` as `u64` | 24 |
//! | user factors `W`, `m x k`, row-major, dtype | 4 or 8 per value |
//! | item factors `H`, `n x k`, row-major, dtype | 4 or 8 per value |
//! | CRC32 (IEEE) of every byte before it, `u32` | 4 |
//!
//! Loading checks the magic, the version (newer is refused, naming both
//! versions), bounds every length by the bytes left before allocating, and
//! accepts the checkpoint only when the CRC matches and the file ends right
//! after it; a truncated or bit-flipped file is an [`Error::Format`].
//!
//! A checkpoint directory holds one file, [`FILE_NAME`], replaced atomically
//! ([`crate::model_io::atomic_write_with`]: temporary file, `fsync`, rename,
//! directory `fsync`), so a crash during a write leaves the previous
//! checkpoint intact.

use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::gramian::Float;
use crate::model::TrainConfig;
use crate::model_io::atomic_write_with;
use crate::sparse::Csr;

/// First bytes of a checkpoint file.
pub const MAGIC: &[u8; 8] = b"WMFCKPT\0";
/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The checkpoint file inside a checkpoint directory.
pub const FILE_NAME: &str = "checkpoint.wmfc";

/// The state of a training run after `iteration` completed iterations.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint<T> {
    /// The configuration of the run.
    pub config: TrainConfig,
    /// Iterations completed (1-based count; the next iteration is `iteration + 1`).
    pub iteration: u64,
    /// [`fingerprint`] of the raw interaction matrix trained on.
    pub data_fingerprint: u32,
    /// User factors `W` (`m x k`).
    pub w: Array2<T>,
    /// Item factors `H` (`n x k`).
    pub h: Array2<T>,
}

/// CRC32 of a matrix's shape, structure and values: identifies the training
/// data of a checkpoint.
///
/// The bytes hashed are every number's little-endian bytes in that order;
/// they go to the hasher 4 KiB at a time (one small update per number ran
/// the CRC's scalar path: 0.1 s at ML-20M's size).
pub fn fingerprint(values: &Csr) -> u32 {
    /// Feeds `xs`'s little-endian bytes (`to_le` of each) in 4 KiB blocks.
    fn update_le<X: Copy, const N: usize>(
        h: &mut crc32fast::Hasher,
        xs: &[X],
        to_le: impl Fn(X) -> [u8; N],
    ) {
        let mut buf = [0u8; 4096];
        for chunk in xs.chunks(buf.len() / N) {
            for (out, &x) in buf.chunks_exact_mut(N).zip(chunk) {
                out.copy_from_slice(&to_le(x));
            }
            h.update(&buf[..chunk.len() * N]);
        }
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&(values.nrows as u64).to_le_bytes());
    h.update(&(values.ncols as u64).to_le_bytes());
    update_le(&mut h, &values.indptr, u64::to_le_bytes);
    update_le(&mut h, &values.indices, u32::to_le_bytes);
    update_le(&mut h, &values.values, f32::to_le_bytes);
    h.finalize()
}

/// The path of the checkpoint file in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

fn dtype_of<T: Float>() -> u32 {
    if std::mem::size_of::<T>() == 4 { 0 } else { 1 }
}

fn push_values<T: Float>(out: &mut Vec<u8>, a: &Array2<T>) {
    for &v in a.iter() {
        if dtype_of::<T>() == 0 {
            // Exact: T is f32 here.
            out.extend_from_slice(&(v.to_f64() as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_f64().to_le_bytes());
        }
    }
}

impl<T: Float> Checkpoint<T> {
    fn check(&self) -> Result<()> {
        let k = self.w.ncols();
        let k2 = self.h.ncols();
        if k != k2 || k != self.config.k {
            return Err(Error::invalid(
                "checkpoint",
                format!(
                    "user factors have k = {k}, item factors k = {k2}, config k = {}",
                    self.config.k
                ),
            ));
        }
        Ok(())
    }

    /// The checkpoint as bytes (the layout of the [module docs](self)).
    ///
    /// # Errors
    /// [`Error::Invalid`] when the factor shapes disagree with each other or with `config.k`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.check()?;
        let config = serde_json::to_vec(&self.config)
            .map_err(|e| Error::invalid("checkpoint config", e.to_string()))?;
        let (m, k) = self.w.dim();
        let n = self.h.nrows();
        let size = std::mem::size_of::<T>();
        let mut out = Vec::with_capacity(72 + config.len() + (m + n) * k * size);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(config.len() as u64).to_le_bytes());
        out.extend_from_slice(&config);
        out.extend_from_slice(&self.iteration.to_le_bytes());
        out.extend_from_slice(&self.data_fingerprint.to_le_bytes());
        out.extend_from_slice(&dtype_of::<T>().to_le_bytes());
        for d in [m, n, k] {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        push_values(&mut out, &self.w);
        push_values(&mut out, &self.h);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok(out)
    }

    /// Reads a checkpoint from bytes; `path` names it in messages.
    ///
    /// # Errors
    /// [`Error::Format`]: wrong magic, a newer or unknown version, a dtype other
    /// than `T`'s, a truncated or corrupted file (checksum mismatch, impossible
    /// lengths, trailing bytes), an invalid config, non-finite factors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let fmt = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(fmt("not a wmf checkpoint file (wrong magic bytes)".into()));
        }
        let mut r = Cursor { bytes, at: 8, path };
        let version = r.u32("version")?;
        if version > FORMAT_VERSION {
            return Err(fmt(format!(
                "checkpoint format version {version} is newer than this build supports ({FORMAT_VERSION}); use a newer wmf"
            )));
        }
        if version == 0 {
            return Err(fmt("invalid checkpoint format version 0".into()));
        }
        // Verify the checksum before interpreting anything variable-length.
        if bytes.len() < 16 {
            return Err(fmt("truncated: no checksum".into()));
        }
        let body = &bytes[..bytes.len() - 4];
        let stored = u32::from_le_bytes(
            bytes[bytes.len() - 4..]
                .try_into()
                .map_err(|_| fmt("truncated: no checksum".into()))?,
        );
        if crc32fast::hash(body) != stored {
            return Err(fmt(
                "checksum mismatch: the checkpoint is truncated or corrupted".into(),
            ));
        }
        r.bytes = body;
        let clen = r.u64("config length")?;
        let cbytes = r.take(clen, 1, "config")?;
        let config: TrainConfig =
            serde_json::from_slice(cbytes).map_err(|e| fmt(format!("config is not valid: {e}")))?;
        let iteration = r.u64("iteration")?;
        let data_fingerprint = r.u32("data fingerprint")?;
        let dtype = r.u32("dtype")?;
        if dtype != dtype_of::<T>() {
            return Err(fmt(format!(
                "factors are stored as {} but {} were expected",
                if dtype == 0 {
                    "f32"
                } else {
                    "f64 (or unknown)"
                },
                if dtype_of::<T>() == 0 { "f32" } else { "f64" }
            )));
        }
        let (m, n, k) = (r.u64("m")?, r.u64("n")?, r.u64("k")?);
        if config.k as u64 != k {
            return Err(fmt(format!(
                "config says k = {} but factors have k = {k}",
                config.k
            )));
        }
        let w = r.values::<T>(m, k, "user factors")?;
        let h = r.values::<T>(n, k, "item factors")?;
        if r.at != r.bytes.len() {
            return Err(fmt(format!(
                "{} unexpected bytes before the checksum",
                r.bytes.len() - r.at
            )));
        }
        Ok(Self {
            config,
            iteration,
            data_fingerprint,
            w,
            h,
        })
    }

    /// Writes the checkpoint atomically to `dir/`[`FILE_NAME`], creating `dir`.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path (the previous checkpoint is then intact);
    /// [`Error::Invalid`] as [`Checkpoint::to_bytes`].
    pub fn save(&self, dir: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        remove_stale_temporaries(dir);
        atomic_write_with(&path_in(dir), |w| w.write_all(&bytes))
    }

    /// Test hook of the crash tests: writes the first `keep` bytes of the
    /// checkpoint to the temporary file, flushes them, then calls `crash`
    /// (which is expected not to return, e.g. by `SIGKILL`ing the process).
    /// If it returns, the write fails and the destination is untouched.
    ///
    /// # Errors
    /// Always (the write is never completed).
    #[doc(hidden)]
    pub fn save_interrupted(&self, dir: &Path, keep: usize, crash: impl FnOnce()) -> Result<()> {
        let bytes = self.to_bytes()?;
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        atomic_write_with(&path_in(dir), |w| {
            w.write_all(&bytes[..keep.min(bytes.len())])?;
            w.flush()?;
            crash();
            Err(std::io::Error::other("checkpoint write interrupted"))
        })
    }

    /// Loads `dir/`[`FILE_NAME`].
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read (naming the file);
    /// [`Checkpoint::from_bytes`]'s errors.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = path_in(dir);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_bytes(&bytes, &path)
    }

    /// Checks that this checkpoint can continue a run of `config` on `values`:
    /// the same data and the same configuration apart from `iterations` (which
    /// may grow) and `threads`; `iteration <= config.iterations`.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`--resume`) saying what differs.
    pub fn check_resumable(&self, values: &Csr, config: &TrainConfig) -> Result<()> {
        let bad = |m: String| Err(Error::invalid("--resume", m));
        if self.data_fingerprint != fingerprint(values) {
            return bad(format!(
                "the checkpoint was made on different data ({} x {} factors; input has {} users, {} items, or different interactions)",
                self.w.nrows(),
                self.h.nrows(),
                values.nrows,
                values.ncols
            ));
        }
        if self.w.nrows() != values.nrows || self.h.nrows() != values.ncols {
            return bad(format!(
                "checkpoint factors are {} x {} but the input has {} users and {} items",
                self.w.nrows(),
                self.h.nrows(),
                values.nrows,
                values.ncols
            ));
        }
        let mut ours = config.clone();
        ours.iterations = self.config.iterations;
        ours.threads = self.config.threads;
        if ours != self.config {
            let show = |c: &TrainConfig| serde_json::to_string(c).unwrap_or_default();
            return bad(format!(
                "the training options differ from the checkpoint's (checkpoint: {}, now: {})",
                show(&self.config),
                show(&ours)
            ));
        }
        if self.iteration > config.iterations as u64 {
            return bad(format!(
                "the checkpoint is at iteration {} but --iterations is {}",
                self.iteration, config.iterations
            ));
        }
        Ok(())
    }
}

/// Removes temporary files a killed run left in a checkpoint directory
/// (`.checkpoint.wmfc.tmp.*`); best effort.
fn remove_stale_temporaries(dir: &Path) {
    let prefix = format!(".{FILE_NAME}.tmp.");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A bounds-checked little-endian reader over the checkpoint body.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, count: u64, size: u64, what: &str) -> Result<&'a [u8]> {
        let left = (self.bytes.len() - self.at) as u64;
        let len = count
            .checked_mul(size)
            .filter(|&b| b <= left)
            .ok_or_else(|| Error::Format {
                path: self.path.to_path_buf(),
                message: format!(
                    "truncated or corrupt: {what} ({count} x {size} bytes) do not fit in the {left} bytes left"
                ),
            })? as usize;
        let s = &self.bytes[self.at..self.at + len];
        self.at += len;
        Ok(s)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, 1, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, 1, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn values<T: Float>(&mut self, rows: u64, k: u64, what: &str) -> Result<Array2<T>> {
        let count = rows.checked_mul(k).ok_or_else(|| Error::Format {
            path: self.path.to_path_buf(),
            message: format!("{what}: {rows} x {k} overflows"),
        })?;
        let size = std::mem::size_of::<T>() as u64;
        let raw = self.take(count, size, what)?;
        let vals: Vec<T> = if size == 4 {
            raw.chunks_exact(4)
                .map(|b| T::from_f64(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64))
                .collect()
        } else {
            raw.chunks_exact(8)
                .map(|b| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    T::from_f64(f64::from_le_bytes(a))
                })
                .collect()
        };
        if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
            return Err(Error::Format {
                path: self.path.to_path_buf(),
                message: format!("{what}: value {i} is not finite"),
            });
        }
        Array2::from_shape_vec((rows as usize, k as usize), vals).map_err(|e| Error::Format {
            path: self.path.to_path_buf(),
            message: format!("{what}: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocked fingerprint is the one each number fed alone gives (the
    /// definition checkpoints written before were made with), across block
    /// boundaries.
    #[test]
    fn fingerprint_is_the_crc_of_every_number_in_order() {
        for (m, n, per_row) in [(1, 1, 1), (3, 5, 2), (700, 900, 3), (2000, 40, 7)] {
            let triplets: Vec<(u32, u32, f32)> = (0..m)
                .flat_map(|r| {
                    (0..per_row).map(move |t| (r, (r * 7 + t * 13) % n, 0.25 + (r + t) as f32))
                })
                .collect();
            let x = Csr::from_triplets(m as usize, n as usize, &triplets).unwrap();
            let mut h = crc32fast::Hasher::new();
            h.update(&(x.nrows as u64).to_le_bytes());
            h.update(&(x.ncols as u64).to_le_bytes());
            x.indptr.iter().for_each(|p| h.update(&p.to_le_bytes()));
            x.indices.iter().for_each(|i| h.update(&i.to_le_bytes()));
            x.values.iter().for_each(|v| h.update(&v.to_le_bytes()));
            assert_eq!(fingerprint(&x), h.finalize(), "{m} x {n}");
        }
    }

    fn ckpt() -> Checkpoint<f32> {
        let k = 3;
        Checkpoint {
            config: TrainConfig {
                k,
                iterations: 7,
                ..TrainConfig::default()
            },
            iteration: 4,
            data_fingerprint: 0xdead_beef,
            w: Array2::from_shape_fn((5, k), |(i, j)| (i as f32 - 1.5) * 0.1 + j as f32 * 1e-7),
            h: Array2::from_shape_fn((4, k), |(i, j)| {
                f32::from_bits(0x3f80_0001 + (i * k + j) as u32)
            }),
        }
    }

    fn format_error(bytes: &[u8]) -> String {
        match Checkpoint::<f32>::from_bytes(bytes, Path::new("c.wmfc")) {
            Err(Error::Format { message, .. }) => message,
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_is_bit_exact_f32_and_f64() {
        let c = ckpt();
        let b = c.to_bytes().unwrap();
        assert_eq!(Checkpoint::from_bytes(&b, Path::new("x")).unwrap(), c);
        let c64 = Checkpoint::<f64> {
            config: c.config.clone(),
            iteration: 1,
            data_fingerprint: 1,
            w: c.w.mapv(|v| v as f64 + 1e-12),
            h: c.h.mapv(|v| v as f64),
        };
        let b = c64.to_bytes().unwrap();
        assert_eq!(Checkpoint::from_bytes(&b, Path::new("x")).unwrap(), c64);
        assert!(Checkpoint::<f32>::from_bytes(&b, Path::new("x")).is_err());
    }

    #[test]
    fn checkpoint_truncation_is_detected() {
        let b = ckpt().to_bytes().unwrap();
        for len in 0..b.len() {
            assert!(
                matches!(
                    Checkpoint::<f32>::from_bytes(&b[..len], Path::new("x")),
                    Err(Error::Format { .. })
                ),
                "truncation to {len} accepted"
            );
        }
        assert_eq!(
            format_error(&b[..b.len() - 1]),
            "checksum mismatch: the checkpoint is truncated or corrupted"
        );
    }

    #[test]
    fn checkpoint_bit_flip_is_detected() {
        let b = ckpt().to_bytes().unwrap();
        for byte in 0..b.len() {
            for bit in 0..8 {
                let mut c = b.clone();
                c[byte] ^= 1 << bit;
                assert!(
                    Checkpoint::<f32>::from_bytes(&c, Path::new("x")).is_err(),
                    "flip of bit {bit} in byte {byte} accepted"
                );
            }
        }
        let mut c = b.clone();
        let at = c.len() - 9;
        c[at] ^= 0x10;
        assert_eq!(
            format_error(&c),
            "checksum mismatch: the checkpoint is truncated or corrupted"
        );
    }

    #[test]
    fn checkpoint_newer_version_is_refused() {
        let mut b = ckpt().to_bytes().unwrap();
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            format_error(&b),
            "checkpoint format version 2 is newer than this build supports (1); use a newer wmf"
        );
        assert_eq!(
            format_error(b"WMFMODEL"),
            "not a wmf checkpoint file (wrong magic bytes)"
        );
    }

    #[test]
    fn save_replaces_atomically_and_load_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("ck");
        let mut c = ckpt();
        c.save(&d).unwrap();
        c.iteration = 5;
        c.save(&d).unwrap();
        assert_eq!(Checkpoint::<f32>::load(&d).unwrap(), c);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        // An interrupted write leaves the previous checkpoint and no temp file.
        let mut c2 = c.clone();
        c2.iteration = 6;
        assert!(c2.save_interrupted(&d, 30, || {}).is_err());
        assert_eq!(Checkpoint::<f32>::load(&d).unwrap(), c);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
    }

    #[test]
    fn resumable_checks_data_and_options() {
        let x = Csr::from_triplets(5, 4, &[(0, 0, 1.0), (4, 3, 2.0)]).unwrap();
        let mut c = ckpt();
        c.data_fingerprint = fingerprint(&x);
        let mut config = c.config.clone();
        config.threads = 3;
        config.iterations = 10;
        c.check_resumable(&x, &config).unwrap();
        config.lambda = 0.5;
        let e = c.check_resumable(&x, &config).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid --resume: the training options differ"),
            "{e}"
        );
        let y = Csr::from_triplets(5, 4, &[(0, 0, 1.0), (4, 3, 3.0)]).unwrap();
        let e = c.check_resumable(&y, &c.config).unwrap_err().to_string();
        assert!(e.contains("different data"), "{e}");
    }
}
