//! The WMFB model blob (the export format of `wmf export --format blob`):
//!
//! ```text
//! offset 0   b"WMFB"
//!        4   u32 version = 1
//!        8   u32 n        (items)
//!        12  u32 k        (rank)
//!        16  u32 dtype    (0 = f32)
//!        20  n*k f32      item factors H, row-major
//!            k*k f32      Gramian G0 = Hᵀ diag(c0) H
//!            n   f32      c0 per item
//!            u32          CRC-32 (IEEE) of every byte before it
//! ```
//!
//! All integers and floats little-endian. The payload is viewed in place:
//! the blob must start 4-byte aligned (the firmware wraps `include_bytes!` in
//! an aligned struct) and the target must be little-endian.

use core::fmt;

/// Magic bytes at offset 0.
pub const MAGIC: [u8; 4] = *b"WMFB";
/// The only version this reader accepts.
pub const VERSION: u32 = 1;
/// `dtype` code for `f32`.
pub const DTYPE_F32: u32 = 0;
/// Header length in bytes.
pub const HEADER_LEN: usize = 20;

/// A malformed blob: what is wrong, with the offending values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobError {
    /// Shorter than a header plus CRC.
    TooShort {
        /// Bytes present.
        len: usize,
    },
    /// The first four bytes are not `WMFB`.
    BadMagic,
    /// A version other than 1.
    BadVersion {
        /// Version found.
        version: u32,
    },
    /// A dtype other than 0 (`f32`).
    BadDtype {
        /// Dtype found.
        dtype: u32,
    },
    /// `n` or `k` is zero, or the sizes overflow.
    BadShape {
        /// Items.
        n: u32,
        /// Rank.
        k: u32,
    },
    /// The length does not match `n` and `k`.
    LengthMismatch {
        /// `20 + 4 (n k + k² + n) + 4`.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The stored CRC differs from the computed one.
    BadCrc {
        /// CRC stored in the blob.
        stored: u32,
        /// CRC of the bytes before it.
        computed: u32,
    },
    /// The payload is not 4-byte aligned in memory (or the target is big-endian).
    Misaligned,
    /// The model has too few items for the fixed test user.
    TooFewItems {
        /// Items in the model.
        n: usize,
        /// Items needed.
        min: usize,
    },
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BlobError::TooShort { len } => write!(f, "{len} bytes, shorter than header + CRC"),
            BlobError::BadMagic => write!(f, "magic is not \"WMFB\" at offset 0"),
            BlobError::BadVersion { version } => {
                write!(f, "version {version} at offset 4, expected {VERSION}")
            }
            BlobError::BadDtype { dtype } => {
                write!(f, "dtype {dtype} at offset 16, expected {DTYPE_F32} (f32)")
            }
            BlobError::BadShape { n, k } => write!(f, "bad shape n = {n}, k = {k}"),
            BlobError::LengthMismatch { expected, actual } => {
                write!(f, "length {actual} bytes, n and k need {expected}")
            }
            BlobError::BadCrc { stored, computed } => {
                write!(f, "CRC-32 {stored:08x} stored, {computed:08x} computed")
            }
            BlobError::Misaligned => write!(f, "payload not 4-byte aligned in memory"),
            BlobError::TooFewItems { n, min } => {
                write!(f, "model has {n} items, the test user needs {min}")
            }
        }
    }
}

/// The model inside a blob, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    /// Items.
    pub n: usize,
    /// Rank.
    pub k: usize,
    /// Item factors (`n * k`, row-major).
    pub h: &'a [f32],
    /// Gramian (`k * k`).
    pub g0: &'a [f32],
    /// Per-item unobserved weight (`n`).
    pub c0: &'a [f32],
}

/// CRC-32 (IEEE 802.3, reflected, polynomial `0xEDB88320`, as zlib and
/// `crc32fast`), bit by bit without a table: 8 shift/xor steps per byte and
/// no 1 KiB table in flash.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn u32_at(bytes: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = bytes.get(off..off + 4) {
        w.copy_from_slice(s);
    }
    u32::from_le_bytes(w)
}

/// Checks the trailing CRC-32 against the bytes before it.
///
/// # Errors
/// [`BlobError::TooShort`], [`BlobError::BadCrc`].
pub fn check_crc(bytes: &[u8]) -> Result<(), BlobError> {
    if bytes.len() < HEADER_LEN + 4 {
        return Err(BlobError::TooShort { len: bytes.len() });
    }
    let body = bytes.len() - 4;
    let stored = u32_at(bytes, body);
    let computed = crc32(&bytes[..body]);
    if stored != computed {
        return Err(BlobError::BadCrc { stored, computed });
    }
    Ok(())
}

/// The expected blob length for `n` items of rank `k`, if it fits in `usize`.
pub fn blob_len(n: usize, k: usize) -> Option<usize> {
    let floats = n
        .checked_mul(k)?
        .checked_add(k.checked_mul(k)?)?
        .checked_add(n)?;
    floats.checked_mul(4)?.checked_add(HEADER_LEN + 4)
}

/// Parses the header and views the payload in place. Does not check the CRC
/// (see [`check_crc`]) or the floats (the kernel's `Factors::new`/`Items::new` do).
///
/// # Errors
/// The first problem, see [`BlobError`].
pub fn parse_blob(bytes: &[u8]) -> Result<Model<'_>, BlobError> {
    if bytes.len() < HEADER_LEN + 4 {
        return Err(BlobError::TooShort { len: bytes.len() });
    }
    if bytes[..4] != MAGIC {
        return Err(BlobError::BadMagic);
    }
    let version = u32_at(bytes, 4);
    if version != VERSION {
        return Err(BlobError::BadVersion { version });
    }
    let (n32, k32) = (u32_at(bytes, 8), u32_at(bytes, 12));
    let dtype = u32_at(bytes, 16);
    if dtype != DTYPE_F32 {
        return Err(BlobError::BadDtype { dtype });
    }
    let (n, k) = (n32 as usize, k32 as usize);
    let expected = match blob_len(n, k) {
        Some(len) if n > 0 && k > 0 => len,
        _ => return Err(BlobError::BadShape { n: n32, k: k32 }),
    };
    if bytes.len() != expected {
        return Err(BlobError::LengthMismatch {
            expected,
            actual: bytes.len(),
        });
    }
    if cfg!(target_endian = "big") {
        return Err(BlobError::Misaligned);
    }
    let payload = &bytes[HEADER_LEN..bytes.len() - 4];
    let floats: &[f32] = bytemuck::try_cast_slice(payload).map_err(|_| BlobError::Misaligned)?;
    let (h, rest) = floats.split_at(n * k);
    let (g0, c0) = rest.split_at(k * k);
    Ok(Model { n, k, h, g0, c0 })
}
