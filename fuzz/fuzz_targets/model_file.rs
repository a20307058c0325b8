//! The model-file loader (`wmf_host::model_io::from_bytes`): never panics, and
//! whatever it accepts writes back to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = wmf_host::model_io::from_bytes(data) {
        let again = wmf_host::model_io::to_bytes(&model).expect("an accepted model saves");
        assert_eq!(again, data, "accepted bytes do not round-trip");
    }
});
