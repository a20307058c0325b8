//! The host compiles its hot loops three times (AVX-512, AVX2, plain
//! x86-64; `wmf_host::als::Isa`) and the AVX-512 and AVX2 copies fold the
//! four-row dots' lane sums with their own shuffles (`wmf_host::fold`).
//! Every copy must give the kernel's bits: here the same training run under
//! each level the CPU has (`WMF_ISA`) writes the same model file, byte for
//! byte, and prints the same losses, for every solver path the folds touch
//! (CG groups in place and gathered, `f32` and bfloat16 rows, per-row
//! Gramians; Cholesky's low-rank solve with one and with per-row `λ`; the
//! loss), with fused multiply-adds (the default: one instruction in the
//! AVX copies, the C library's correctly rounded `fmaf` in the plain one)
//! and with separate roundings (`--arith separate`).

#[path = "common/cli.rs"]
mod cli_common;

use cli_common::{ok, write_triplets};
use std::path::Path;
use std::process::Command;

/// `wmf train` under `WMF_ISA=isa`: the model's bytes and the JSON lines'
/// losses (as printed, so bit for bit as far as they are printed).
fn train(dir: &Path, isa: &str, extra: &[&str]) -> (Vec<u8>, Vec<String>) {
    let model = format!("model-{isa}.wmf");
    let mut args = vec![
        "train",
        "data.csv",
        "-o",
        &model,
        "-k",
        "40",
        "--iterations",
        "3",
        "--threads",
        "2",
        "--alpha",
        "4",
        "--lambda",
        "0.2",
        "--json",
        "--loss-every",
        "1",
    ];
    args.extend(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_wmf"))
        .args(&args)
        .current_dir(dir)
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("WMF_ISA", isa)
        .output()
        .expect("the wmf binary runs");
    let stdout = ok(&out);
    let losses = stdout
        .lines()
        .filter(|l| l.contains("\"loss\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["loss"].to_string()
        })
        .collect::<Vec<_>>();
    assert!(!losses.is_empty(), "no loss lines: {stdout}");
    (std::fs::read(dir.join(&model)).unwrap(), losses)
}

#[test]
fn every_instruction_set_gives_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 300 users with about 20 items (rows shorter than k: Cholesky's
    // low-rank solve), 120 items with about 50 users each (longer rows:
    // the full solve; CG groups large enough to be gathered)
    write_triplets(d, "data.csv", 300, 120, 20, 7);
    let cases: [&[&str]; 8] = [
        &["--solver", "cg", "--arith", "separate"],
        &["--solver", "cholesky", "--arith", "separate"],
        &["--solver", "cg"],
        &["--solver", "cg", "--cg-rows", "bf16"],
        &["--solver", "cg", "--popularity-beta", "0.5"],
        &["--solver", "cholesky"],
        &["--solver", "cholesky", "--reg-scaling", "0.5"],
        &["--solver", "eals"],
    ];
    let mut models = Vec::new();
    for extra in cases {
        let (want, want_losses) = train(d, "avx512", extra);
        for isa in ["avx2", "baseline"] {
            let (got, losses) = train(d, isa, extra);
            assert_eq!(losses, want_losses, "{extra:?}: losses under {isa}");
            assert!(got == want, "{extra:?}: the model under {isa} differs");
        }
        models.push(want_losses);
    }
    // and the two arithmetics are two (the fused one is not a no-op)
    assert_ne!(models[0], models[2], "CG, separate against fused");
    assert_ne!(models[1], models[5], "Cholesky, separate against fused");
}
