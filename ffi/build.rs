//! Gives the shared library the SONAME it is installed under (`libwmf.so`),
//! so programs linked with `-lwmf` load it by that name.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwmf.so");
    }
}
