//! The model-file loader (`wmf_host::model_io::from_bytes`): never panics;
//! whatever it accepts saves and loads back to the same model.
//!
//! The first input byte picks the mode: odd = rewrite the trailing CRC32 of
//! the rest before loading, so that mutations reach the parsing behind the
//! checksum (the config JSON, the factor checks, the id maps); even = load the
//! rest as it is.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = common::maybe_reseal(data) else {
        return;
    };
    if let Ok(model) = wmf_host::model_io::from_bytes(&bytes) {
        let again = wmf_host::model_io::to_bytes(&model).expect("an accepted model saves");
        let back = wmf_host::model_io::from_bytes(&again).expect("a saved model loads");
        assert_eq!(back, model, "save/load changed the model");
    }
});
