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
        ..LoadOptions::default()
    };
    let loaded = load_from(body, Path::new(name), Some(body.len() as u64), &opts);
    if opt & 8 != 0 {
        same_in_pieces(name, body, &opts, 2 + usize::from(opt >> 6), &loaded);
    }
    let Ok((d, report)) = loaded else {
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

/// Reading `body` from a file (under `TMPDIR`, which `run-fuzz.sh` points at
/// a directory of its own and removes) in `pieces` pieces (one thread each) gives
/// what reading it whole gave, whenever the pieces give an answer at all (a
/// file they decline goes to the one-thread reader).
fn same_in_pieces(
    name: &str,
    body: &[u8],
    opts: &LoadOptions,
    pieces: usize,
    whole: &wmf_host::Result<(wmf_host::data::Dataset, wmf_host::io::LoadReport)>,
) {
    let dir = std::env::temp_dir().join(format!("wmf-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join(name);
    std::fs::write(&path, body).expect("temporary file");
    if let Some(got) = wmf_host::io::load_in_pieces(&path, opts, wmf_host::ids::MAX_IDS, pieces) {
        match whole {
            Ok(want) => assert!(got == *want, "{pieces} pieces differ from the whole file"),
            Err(e) => panic!("{pieces} pieces loaded what the whole file rejects: {e}"),
        }
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
