//! The checkpoint loader (`Checkpoint::from_bytes`, f32 and f64): never
//! panics; whatever it accepts saves and loads back to the same checkpoint.
//! The first byte picks the mode as in `model_file` (odd = reseal the CRC).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wmf_host::checkpoint::Checkpoint;

#[path = "common.rs"]
mod common;

fn check<T: wmf_host::gramian::Float>(bytes: &[u8]) {
    if let Ok(c) = Checkpoint::<T>::from_bytes(bytes, Path::new("fuzz")) {
        let again = c.to_bytes().expect("an accepted checkpoint saves");
        let back = Checkpoint::<T>::from_bytes(&again, Path::new("again")).expect("reloads");
        assert_eq!(back, c, "save/load changed the checkpoint");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = common::maybe_reseal(data) else {
        return;
    };
    check::<f32>(&bytes);
    check::<f64>(&bytes);
});
