//! The export readers: the WMFB item blob (`ItemBlob::from_bytes`) and `.npy`
//! (`read_npy`). Never panic; an accepted blob writes back to the same bytes
//! and holds only finite values; a C header can be generated from it.
//! The first byte picks the mode as in `model_file` (odd = reseal the CRC of
//! the blob; the `.npy` reader sees the rest unchanged).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wmf_host::export::{ItemBlob, npy_bytes, read_npy};

#[path = "common.rs"]
mod common;

fuzz_target!(|input: &[u8]| {
    let Some(blob) = common::maybe_reseal(input) else {
        return;
    };
    let data = &input[1..];
    if let Ok(b) = ItemBlob::from_bytes(&blob, Path::new("fuzz.wmfb")) {
        assert_eq!(b.to_bytes(), blob, "accepted blob does not round-trip");
        assert_eq!(b.item_factors.len(), b.n * b.k);
        assert_eq!(b.gramian.len(), b.k * b.k);
        assert_eq!(b.item_c0.len(), b.n);
        if data.len() < 4096 {
            let _ = b.c_header();
        }
    }
    if let Ok(a) = read_npy(data, Path::new("fuzz.npy")) {
        // A re-encoded array reads back to the same values.
        let again = read_npy(&npy_bytes(a.view()), Path::new("again.npy")).expect("re-read");
        assert_eq!(again.dim(), a.dim());
        assert!(
            again
                .iter()
                .zip(a.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }
});
