//! The checkpoint loader (`wmf_host::checkpoint::Checkpoint::from_bytes`, f32
//! and f64): never panics, and whatever it accepts writes back to the same bytes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wmf_host::checkpoint::Checkpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Checkpoint::<f32>::from_bytes(data, Path::new("fuzz")) {
        assert_eq!(c.to_bytes().expect("an accepted checkpoint saves"), data);
    }
    if let Ok(c) = Checkpoint::<f64>::from_bytes(data, Path::new("fuzz")) {
        assert_eq!(c.to_bytes().expect("an accepted checkpoint saves"), data);
    }
});
