//! Puts `memory.x` on the linker path and picks the model blob:
//! `$WMF_BLOB` if set, else `../target/model/k<K>/model.wmfb`
//! (written by `wmf-fw-gen model`, or `wmf export --format blob`).

use std::env;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x to OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    let k = match (
        env::var_os("CARGO_FEATURE_K16").is_some(),
        env::var_os("CARGO_FEATURE_K32").is_some(),
    ) {
        (true, false) => 16,
        (false, true) => 32,
        _ => panic!("enable exactly one of the features k16, k32"),
    };
    println!("cargo:rerun-if-env-changed=WMF_BLOB");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let blob = env::var_os("WMF_BLOB")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join(format!("../target/model/k{k}/model.wmfb")));
    let blob = blob.canonicalize().unwrap_or_else(|e| {
        panic!(
            "model blob {}: {e}; write it with `cargo run --manifest-path ../gen/Cargo.toml -- model --n 3000 --k {k} --out ...` or set WMF_BLOB",
            blob.display()
        )
    });
    println!("cargo:rerun-if-changed={}", blob.display());
    println!("cargo:rustc-env=WMF_BLOB={}", blob.display());
}
