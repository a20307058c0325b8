//! Versioned, checksummed, atomically written model files.
//!
//! # File layout (version 1, all integers little-endian)
//! | field | bytes |
//! |---|---|
//! | magic `b"WMFMODEL"` | 8 |
//! | format version `u32` (= [`FORMAT_VERSION`]) | 4 |
//! | length `u64` + JSON of the [`TrainConfig`] | 8 + len |
//! | `m`, `n`, `k` as `u64` | 24 |
//! | user factors `W`, `m x k` `f32`, row-major | 4 m k |
//! | item factors `H`, `n x k` `f32`, row-major | 4 n k |
//! | `item_c0`, `n` `f32` | 4 n |
//! | `m` user ids, each `u32` byte length + UTF-8 | |
//! | `n` item ids, each `u32` byte length + UTF-8 | |
//! | CRC32 (IEEE) of every byte before it, `u32` | 4 |
//!
//! Loading checks the magic, then the version (a newer one is refused with a
//! message saying so), bounds every length by the bytes left in the file before
//! allocating, and accepts the model only when the trailing CRC matches and the
//! file ends right after it. Any failure is an [`Error::Format`]: a truncated or
//! corrupted file never yields a model.
//!
//! Files are written through [`atomic_write_with`]: a temporary file in the
//! target's directory, flushed and `fsync`ed, renamed over the target, then the
//! directory is `fsync`ed, so a crash leaves either the old or the new file.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::ids::IdMap;
use crate::model::{Model, TrainConfig};

/// First bytes of a model file.
pub const MAGIC: &[u8; 8] = b"WMFMODEL";
/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically (see [`atomic_write_with`]).
///
/// # Errors
/// [`Error::Io`] naming the path; the target is untouched on failure.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// Writes a file atomically: `write` fills a buffered temporary file
/// (`.<name>.tmp.<pid>.<n>` in the same directory), which is flushed, `fsync`ed
/// and renamed over `path`; the directory is then `fsync`ed (where the platform
/// allows). On any error the temporary file is removed and `path` is untouched.
///
/// # Errors
/// [`Error::Io`] naming the path.
pub fn atomic_write_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        io_error(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);
    let result = (|| -> std::io::Result<()> {
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        // Persist the rename; directories cannot be opened for sync everywhere.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    Ok(())
}

/// A writer that keeps a running CRC32 of what passes through.
struct CrcWriter<'a> {
    inner: &'a mut dyn Write,
    crc: crc32fast::Hasher,
}

impl Write for CrcWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn write_f32s<'a>(w: &mut impl Write, vals: impl Iterator<Item = &'a f32>) -> std::io::Result<()> {
    let mut chunk = Vec::with_capacity(1 << 16);
    for v in vals {
        chunk.extend_from_slice(&v.to_le_bytes());
        if chunk.len() >= 1 << 16 {
            w.write_all(&chunk)?;
            chunk.clear();
        }
    }
    w.write_all(&chunk)
}

fn write_ids(w: &mut impl Write, ids: &IdMap) -> std::io::Result<()> {
    for name in ids.names() {
        let len = u32::try_from(name.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "id longer than 4 GiB")
        })?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(name.as_bytes())?;
    }
    Ok(())
}

/// Checks that a model's parts agree in shape before saving.
fn check_model(model: &Model) -> Result<()> {
    let (m, k) = model.user_factors.dim();
    let (n, k2) = model.item_factors.dim();
    let bad = |message: String| Err(Error::invalid("model", message));
    if k != k2 {
        return bad(format!("user factors have k = {k}, item factors k = {k2}"));
    }
    if model.config.k != k {
        return bad(format!(
            "config says k = {} but factors have k = {k}",
            model.config.k
        ));
    }
    if model.item_c0.len() != n {
        return bad(format!(
            "{} item_c0 values for {n} items",
            model.item_c0.len()
        ));
    }
    if model.user_ids.len() != m || model.item_ids.len() != n {
        return bad(format!(
            "{} user ids / {} item ids for a {m} x {n} model",
            model.user_ids.len(),
            model.item_ids.len()
        ));
    }
    Ok(())
}

/// Writes `model` to any writer in the format of the [module docs](self).
///
/// # Errors
/// [`Error::Invalid`] when the model's parts disagree in shape;
/// `std::io` errors are reported as [`Error::Io`] naming `path_for_errors`.
pub fn write_model(model: &Model, w: &mut dyn Write, path_for_errors: &Path) -> Result<()> {
    check_model(model)?;
    let config = serde_json::to_vec(&model.config)
        .map_err(|e| Error::invalid("model config", e.to_string()))?;
    let (m, k) = model.user_factors.dim();
    let n = model.item_factors.nrows();
    let mut cw = CrcWriter {
        inner: w,
        crc: crc32fast::Hasher::new(),
    };
    let body = (|| -> std::io::Result<()> {
        cw.write_all(MAGIC)?;
        cw.write_all(&FORMAT_VERSION.to_le_bytes())?;
        cw.write_all(&(config.len() as u64).to_le_bytes())?;
        cw.write_all(&config)?;
        for d in [m, n, k] {
            cw.write_all(&(d as u64).to_le_bytes())?;
        }
        write_f32s(&mut cw, model.user_factors.iter())?;
        write_f32s(&mut cw, model.item_factors.iter())?;
        write_f32s(&mut cw, model.item_c0.iter())?;
        write_ids(&mut cw, &model.user_ids)?;
        write_ids(&mut cw, &model.item_ids)?;
        let crc = cw.crc.clone().finalize();
        cw.inner.write_all(&crc.to_le_bytes())
    })();
    body.map_err(|e| io_error(path_for_errors, e))
}

/// Saves `model` to `path` atomically (see the [module docs](self)).
///
/// # Errors
/// [`Error::Invalid`] for an inconsistent model, [`Error::Io`] naming the path.
pub fn save(model: &Model, path: &Path) -> Result<()> {
    check_model(model)?;
    let mut inner: Option<Error> = None;
    let r = atomic_write_with(path, |w| {
        write_model(model, w, path).map_err(|e| {
            let msg = e.to_string();
            inner = Some(e);
            std::io::Error::other(msg)
        })
    });
    match (r, inner) {
        (Err(_), Some(e)) => Err(e),
        (r, _) => r,
    }
}

/// The model as bytes (same layout as a file).
///
/// # Errors
/// [`Error::Invalid`] for an inconsistent model.
///
/// ```
/// use wmf_host::{Model, TrainConfig, ids::IdMap, model_io};
/// let k = 2;
/// let model = Model {
///     config: TrainConfig { k, ..TrainConfig::default() },
///     user_factors: ndarray::Array2::ones((3, k)),
///     item_factors: ndarray::Array2::zeros((2, k)),
///     item_c0: vec![1.0; 2],
///     user_ids: IdMap::sequential(3),
///     item_ids: IdMap::sequential(2),
/// };
/// let mut bytes = model_io::to_bytes(&model).unwrap();
/// assert_eq!(model_io::from_bytes(&bytes).unwrap(), model);
/// bytes[40] ^= 1; // any damage is detected
/// assert!(model_io::from_bytes(&bytes).is_err());
/// ```
pub fn to_bytes(model: &Model) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_model(model, &mut out, Path::new("<memory>"))?;
    Ok(out)
}

/// A reader that keeps a running CRC32 and counts bytes left.
struct CrcReader<R> {
    inner: R,
    crc: crc32fast::Hasher,
    left: u64,
    path: PathBuf,
}

impl<R: Read> CrcReader<R> {
    fn fmt(&self, message: impl Into<String>) -> Error {
        Error::Format {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// Reads exactly `buf.len()` bytes, or fails saying the file is truncated.
    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        if (buf.len() as u64) > self.left {
            return Err(self.fmt(format!(
                "truncated or corrupt: {what} needs {} bytes but only {} remain",
                buf.len(),
                self.left
            )));
        }
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.fmt(format!("truncated while reading {what}"))
            } else {
                io_error(&self.path, e)
            }
        })?;
        self.crc.update(buf);
        self.left -= buf.len() as u64;
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let mut b = [0u8; 4];
        self.fill(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        let mut b = [0u8; 8];
        self.fill(&mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Checks that `count` items of `size` bytes fit in what is left.
    fn fits(&self, count: u64, size: u64, what: &str) -> Result<usize> {
        let bytes = count
            .checked_mul(size)
            .filter(|&b| b <= self.left)
            .ok_or_else(|| {
                self.fmt(format!(
                    "truncated or corrupt: {count} {what} do not fit in the {} bytes left",
                    self.left
                ))
            })?;
        usize::try_from(bytes).map_err(|_| self.fmt(format!("{what} too large for memory")))
    }

    fn f32s(&mut self, count: u64, what: &str) -> Result<Vec<f32>> {
        self.fits(count, 4, what)?;
        let mut out = Vec::with_capacity(count as usize);
        let mut chunk = vec![0u8; 1 << 16];
        let mut left = count as usize * 4;
        while left > 0 {
            let take = left.min(chunk.len());
            self.fill(&mut chunk[..take], what)?;
            out.extend(
                chunk[..take]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            left -= take;
        }
        Ok(out)
    }

    /// Reads `count` length-prefixed ids as raw bytes (concatenated, with end
    /// offsets); they are interpreted only after the checksum is verified.
    fn raw_ids(&mut self, count: u64, what: &str) -> Result<(Vec<u8>, Vec<usize>)> {
        // Each id takes at least its 4-byte length.
        self.fits(count, 4, what)?;
        let (mut bytes, mut ends) = (Vec::new(), Vec::with_capacity(count as usize));
        for _ in 0..count {
            let len = u64::from(self.u32(what)?);
            let len = self.fits(len, 1, what)?;
            let start = bytes.len();
            bytes.resize(start + len, 0);
            self.fill(&mut bytes[start..], what)?;
            ends.push(bytes.len());
        }
        Ok((bytes, ends))
    }

    /// Builds the id map of raw ids, rejecting invalid UTF-8 and duplicates.
    fn id_map(&self, raw: &(Vec<u8>, Vec<usize>), what: &str) -> Result<IdMap> {
        let mut map = IdMap::new();
        let mut start = 0;
        for (i, &end) in raw.1.iter().enumerate() {
            let name = std::str::from_utf8(&raw.0[start..end])
                .map_err(|_| self.fmt(format!("{what}: id {i} is not valid UTF-8")))?;
            if map.get_or_insert(name) != Some(i as u32) {
                return Err(self.fmt(format!("{what}: id {i} ('{name}') is a duplicate")));
            }
            start = end;
        }
        Ok(map)
    }
}

/// Reads a model written by [`write_model`] from `r`, which holds exactly
/// `len` bytes; `path` names it in messages.
///
/// # Errors
/// [`Error::Format`] for a wrong magic, a newer or unknown version, a truncated
/// or corrupted file (checksum mismatch, impossible lengths, trailing bytes);
/// [`Error::Io`] for read errors.
pub fn read_model(r: impl Read, len: u64, path: &Path) -> Result<Model> {
    let mut cr = CrcReader {
        inner: r,
        crc: crc32fast::Hasher::new(),
        left: len,
        path: path.to_path_buf(),
    };
    let mut magic = [0u8; 8];
    if len < 8 || cr.fill(&mut magic, "magic").is_err() || &magic != MAGIC {
        return Err(cr.fmt("not a wmf model file (wrong magic bytes)"));
    }
    let version = cr.u32("version")?;
    if version > FORMAT_VERSION {
        return Err(cr.fmt(format!(
            "model format version {version} is newer than this build supports ({FORMAT_VERSION}); use a newer wmf"
        )));
    }
    if version == 0 {
        return Err(cr.fmt("invalid model format version 0"));
    }
    let clen = cr.u64("config length")?;
    let clen = cr.fits(clen, 1, "config bytes")?;
    let mut cbytes = vec![0u8; clen];
    cr.fill(&mut cbytes, "config")?;
    let (m, n, k) = (cr.u64("m")?, cr.u64("n")?, cr.u64("k")?);
    let uf = cr.f32s(m.saturating_mul(k), "user factors")?;
    let itf = cr.f32s(n.saturating_mul(k), "item factors")?;
    let c0 = cr.f32s(n, "item_c0")?;
    let raw_users = cr.raw_ids(m, "user ids")?;
    let raw_items = cr.raw_ids(n, "item ids")?;
    let want = cr.crc.clone().finalize();
    let mut b = [0u8; 4];
    cr.fill(&mut b, "checksum")?;
    if u32::from_le_bytes(b) != want {
        return Err(cr.fmt("checksum mismatch: the file is corrupted"));
    }
    if cr.left != 0 {
        return Err(cr.fmt(format!("{} unexpected bytes after the checksum", cr.left)));
    }
    // Only now, with the checksum verified, interpret the contents.
    let config: TrainConfig =
        serde_json::from_slice(&cbytes).map_err(|e| cr.fmt(format!("config is not valid: {e}")))?;
    if config.k as u64 != k {
        return Err(cr.fmt(format!(
            "config says k = {} but factors have k = {k}",
            config.k
        )));
    }
    for (what, vals) in [
        ("user factors", &uf),
        ("item factors", &itf),
        ("item_c0", &c0),
    ] {
        if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
            return Err(cr.fmt(format!("{what}: value {i} is not finite")));
        }
    }
    if c0.iter().any(|&c| c < 0.0) {
        return Err(cr.fmt("item_c0 has a negative value"));
    }
    let user_ids = cr.id_map(&raw_users, "user ids")?;
    let item_ids = cr.id_map(&raw_items, "item ids")?;
    let shape_err = |e: ndarray::ShapeError| cr.fmt(format!("factor shape: {e}"));
    let user_factors = Array2::from_shape_vec((m as usize, k as usize), uf).map_err(shape_err)?;
    let item_factors = Array2::from_shape_vec((n as usize, k as usize), itf).map_err(shape_err)?;
    Ok(Model {
        config,
        user_factors,
        item_factors,
        item_c0: c0,
        user_ids,
        item_ids,
    })
}

/// Loads a model file saved by [`save`].
///
/// # Errors
/// As [`read_model`]; [`Error::Io`] when the file cannot be opened.
pub fn load(path: &Path) -> Result<Model> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let len = file.metadata().map_err(|e| io_error(path, e))?.len();
    read_model(BufReader::with_capacity(1 << 20, file), len, path)
}

/// Reads a model from bytes (see [`read_model`]).
///
/// # Errors
/// As [`read_model`].
pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
    read_model(bytes, bytes.len() as u64, Path::new("<memory>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let (m, n, k) = (3, 4, 2);
        let config = TrainConfig {
            k,
            ..TrainConfig::default()
        };
        Model {
            config,
            user_factors: Array2::from_shape_fn((m, k), |(i, j)| i as f32 - 0.5 * j as f32),
            item_factors: Array2::from_shape_fn((n, k), |(i, j)| 0.25 * i as f32 + j as f32),
            item_c0: vec![1.0, 0.5, 0.25, 2.0],
            user_ids: IdMap::sequential(m),
            item_ids: {
                let mut ids = IdMap::new();
                for s in ["a", "b,c", "é", ""] {
                    ids.get_or_insert(s);
                }
                ids
            },
        }
    }

    fn reject(bytes: &[u8], needle: &str) {
        match from_bytes(bytes) {
            Err(Error::Format { message, .. }) => {
                assert!(message.contains(needle), "'{message}' lacks '{needle}'")
            }
            other => panic!("expected a format error with '{needle}', got {other:?}"),
        }
    }

    /// Rewrites the trailing checksum after editing the body.
    fn reseal(bytes: &mut [u8]) {
        let n = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn save_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wmf");
        let m = model();
        save(&m, &path).unwrap();
        assert_eq!(load(&path).unwrap(), m);
        // Overwrite in place; no temporary files remain.
        save(&m, &path).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// The arithmetic setting travels in the config; a config written
    /// before it existed reads as `Separate`, which is what trained it.
    #[test]
    fn arith_is_saved_and_older_configs_read_as_separate() {
        use crate::model::Arith;
        let mut m = model();
        for arith in [Arith::Fused, Arith::Separate] {
            m.config.arith = arith;
            assert_eq!(
                from_bytes(&to_bytes(&m).unwrap()).unwrap().config.arith,
                arith
            );
        }
        let mut v = serde_json::to_value(TrainConfig::default()).unwrap();
        assert_eq!(v["arith"], "Fused");
        v.as_object_mut().unwrap().remove("arith");
        let old: TrainConfig = serde_json::from_value(v).unwrap();
        assert_eq!(old.arith, Arith::Separate);
    }

    #[test]
    fn every_truncation_is_rejected() {
        let bytes = to_bytes(&model()).unwrap();
        for len in 0..bytes.len() {
            assert!(
                matches!(from_bytes(&bytes[..len]), Err(Error::Format { .. })),
                "truncation to {len} bytes accepted"
            );
        }
    }

    #[test]
    fn every_bit_flip_is_rejected() {
        let bytes = to_bytes(&model()).unwrap();
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[byte] ^= 1 << bit;
                assert!(
                    from_bytes(&b).is_err(),
                    "flip of bit {bit} in byte {byte} accepted"
                );
            }
        }
    }

    #[test]
    fn checksum_mismatch_is_named() {
        let mut bytes = to_bytes(&model()).unwrap();
        let at = bytes.len() - 10;
        bytes[at] ^= 0x40;
        reject(&bytes, "checksum mismatch");
    }

    #[test]
    fn wrong_magic_newer_version_and_trailing_bytes_are_rejected() {
        let bytes = to_bytes(&model()).unwrap();
        let mut b = bytes.clone();
        b[0] = b'X';
        reject(&b, "wrong magic");
        let mut b = bytes.clone();
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        reseal(&mut b);
        reject(&b, "newer than this build");
        let mut b = bytes.clone();
        b.extend_from_slice(&[0, 0, 0, 0]);
        reject(&b, "");
    }

    #[test]
    fn inconsistent_model_is_not_saved() {
        let mut m = model();
        m.item_c0.pop();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wmf");
        assert!(matches!(save(&m, &path), Err(Error::Invalid { .. })));
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn atomic_write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two!").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two!");
        let failed = atomic_write_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(failed.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"two!");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
