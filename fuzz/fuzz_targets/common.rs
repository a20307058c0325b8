//! Shared checks of the reader targets.
#![allow(dead_code)]

use std::path::Path;

use wmf_host::io::{Format, LoadOptions, load_from};

/// Loads `data` (after a first option byte) in `format` and checks the
/// invariants every successful load must keep; an error is fine, a panic is
/// a finding.
pub fn check_load(format: Format, name: &str, data: &[u8]) {
    let Some((&opt, body)) = data.split_first() else {
        return;
    };
    let opts = LoadOptions {
        format,
        min_value: (opt & 1 != 0).then_some(f32::from(opt >> 4)),
        skip_bad_lines: opt & 2 != 0,
    };
    let Ok((d, report)) = load_from(body, Path::new(name), Some(body.len() as u64), &opts) else {
        return;
    };
    let x = &d.users;
    assert!(x.nnz() > 0, "a successful load has interactions");
    assert_eq!(x.indptr.len(), x.nrows + 1);
    assert_eq!(x.indptr.last().copied(), Some(x.nnz() as u64));
    assert_eq!(d.user_ids.len(), x.nrows);
    assert_eq!(d.item_ids.len(), x.ncols);
    assert_ne!(report.format, Format::Auto);
    for i in 0..x.nrows {
        let (cols, vals) = x.row(i);
        assert!(
            cols.windows(2).all(|w| w[0] < w[1]),
            "row {i} not ascending"
        );
        assert!(cols.iter().all(|&c| (c as usize) < x.ncols));
        assert!(
            vals.iter().all(|v| v.is_finite() && *v >= 0.0),
            "row {i}: {vals:?}"
        );
    }
    if let Some(ts) = &d.timestamps {
        assert_eq!(ts.len(), x.nnz());
    }
}

/// The input after its first byte; when that byte is odd, with the last four
/// bytes replaced by the CRC32 (IEEE, little-endian) of the bytes before them,
/// as the model, checkpoint and WMFB formats end. `None` for an empty input.
pub fn maybe_reseal(data: &[u8]) -> Option<Vec<u8>> {
    let (&mode, rest) = data.split_first()?;
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 && bytes.len() >= 4 {
        let n = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
    }
    Some(bytes)
}
