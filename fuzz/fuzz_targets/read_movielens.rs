//! MovieLens `u.data` (100K) and `ratings.csv`, through `load_from`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmf_host::io::Format;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if data.first().is_some_and(|b| b & 4 != 0) {
        common::check_load(Format::MovieLensCsv, "ratings.csv", data);
    } else {
        common::check_load(Format::MovieLensData, "u.data", data);
    }
});
