//! Triplet files (`user,item[,value[,timestamp]]`, any delimiter) and format
//! detection, through `wmf_host::io::load_from` over the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmf_host::io::Format;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let auto = data.first().is_some_and(|b| b & 4 != 0);
    if auto {
        common::check_load(Format::Auto, "input.csv", data);
    } else {
        common::check_load(Format::Triplets, "input.txt", data);
    }
});
