//! Matrix Market coordinate files, through `load_from`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmf_host::io::Format;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check_load(Format::MatrixMarket, "input.mtx", data);
});
