//! `wmf` corrects an OpenBLAS that fell back to kernels older than the CPU
//! (`wmf_host::blas`): with `OPENBLAS_CORETYPE` unset and a core without
//! AVX2 kernels on a CPU with AVX2 or AVX-512, it runs itself again with the
//! variable set. A value the user set is kept. The re-execution keeps the
//! arguments, the output and the exit status; the model it trains is the
//! one a run with the same core set by hand trains, byte for byte.
//!
//! The CPUs that make OpenBLAS fall back are rare, so most tests pretend
//! one through the binary's test hook `WMF_TEST_BLAS_CORENAME`. Where the
//! environment sets `OPENBLAS_CORETYPE` the tests keep it and check that
//! `wmf` does too; the re-execution is exercised where it is unset.

#[path = "common/cli.rs"]
mod cli_common;

use cli_common::{fails_with, ok, wmf_with, write_triplets};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use wmf_host::blas::lacks_avx2;

/// `OPENBLAS_CORETYPE` as the environment sets it. The tests never change a
/// value the environment set (some machines set it because OpenBLAS's own
/// choice misbehaves on them); where it is set, they check that `wmf`
/// keeps it, and the re-execution, which needs it unset, is not exercised.
fn env_coretype() -> Option<String> {
    std::env::var("OPENBLAS_CORETYPE").ok()
}

/// `wmf args` in `dir` with the environment's `OPENBLAS_CORETYPE` (if any),
/// the test hook and the re-execution marker removed, then `env` set.
fn wmf_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    wmf_with(
        dir,
        args,
        &["WMF_BLAS_RETARGETED_FROM", "WMF_TEST_BLAS_CORENAME"],
        env,
    )
}

fn info(env: &[(&str, &str)]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = wmf_env(dir.path(), &["info", "--json"], env);
    serde_json::from_str(ok(&out).trim()).unwrap()
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// The core `wmf` forces on this CPU, as `wmf info` reports its level.
fn forced_for(level: &str) -> Option<&'static str> {
    match level {
        "Avx512" => Some("SkylakeX"),
        "Avx2" => Some("Haswell"),
        _ => None,
    }
}

/// Whether OpenBLAS honours `OPENBLAS_CORETYPE` (a `DYNAMIC_ARCH` build).
fn dynamic(b: &Value) -> bool {
    b["config"].as_str().unwrap().contains("DYNAMIC_ARCH")
}

/// `wmf` keeps the environment's value: no second run, that core in use.
fn kept(v: &Value, user: &str) {
    let b = &v["blas"];
    assert_eq!(s(&b["coretype_env"]).as_deref(), Some(user), "{v}");
    assert_eq!(b["retargeted_from"], Value::Null, "{v}");
    if !user.is_empty() && dynamic(b) {
        let core = s(&b["core"]).unwrap();
        assert!(
            core.eq_ignore_ascii_case(user),
            "{user} set, {core} in use: {v}"
        );
    }
}

#[test]
fn the_kernels_in_use_are_as_wide_as_the_cpu() {
    let v = info(&[]);
    assert!(["Avx512", "Avx2", "Baseline"].contains(&v["solver_isa"].as_str().unwrap()));
    assert!(v["threads"].as_u64().unwrap() >= 1);
    let b = &v["blas"];
    let core = s(&b["core"]).unwrap();
    assert!(!core.is_empty(), "{v}");
    if let Some(user) = env_coretype() {
        return kept(&v, &user);
    }
    if forced_for(b["cpu_level"].as_str().unwrap()).is_some() {
        assert!(
            !lacks_avx2(&core),
            "OpenBLAS runs {core} on a CPU with AVX2: {v}"
        );
    }
    match s(&b["retargeted_from"]) {
        // wmf ran itself again: what it set is what runs.
        Some(from) => {
            assert!(lacks_avx2(&from), "{v}");
            assert_eq!(s(&b["coretype_env"]), Some(core.clone()), "{v}");
        }
        None => assert_eq!(s(&b["coretype_env"]), None, "{v}"),
    }
}

#[test]
fn a_fallback_is_retargeted_and_reported() {
    let v = info(&[("WMF_TEST_BLAS_CORENAME", "Prescott")]);
    if let Some(user) = env_coretype() {
        // The environment's value wins over any fallback.
        return kept(&v, &user);
    }
    let b = &v["blas"];
    match forced_for(b["cpu_level"].as_str().unwrap()) {
        Some(core) => {
            assert_eq!(s(&b["retargeted_from"]).as_deref(), Some("Prescott"), "{v}");
            assert_eq!(s(&b["coretype_env"]).as_deref(), Some(core), "{v}");
            if dynamic(b) {
                assert_eq!(s(&b["core"]).as_deref(), Some(core), "{v}");
            }
        }
        // Nothing wider to choose: no second run.
        None => {
            assert_eq!(b["retargeted_from"], Value::Null, "{v}");
            assert_eq!(b["coretype_env"], Value::Null, "{v}");
        }
    }
    // A choice that has AVX2 kernels is never second-guessed.
    let v = info(&[("WMF_TEST_BLAS_CORENAME", "Haswell")]);
    assert_eq!(v["blas"]["retargeted_from"], Value::Null, "{v}");
    assert_eq!(v["blas"]["coretype_env"], Value::Null, "{v}");
}

#[test]
fn the_users_choice_is_kept() {
    // Only where the environment sets nothing (a value it set is checked
    // above); Prescott's SSE3 kernels run on every x86-64 CPU.
    if env_coretype().is_some() || !cfg!(target_arch = "x86_64") {
        return;
    }
    kept(&info(&[("OPENBLAS_CORETYPE", "Prescott")]), "Prescott");
    kept(
        &info(&[
            ("OPENBLAS_CORETYPE", "Prescott"),
            ("WMF_TEST_BLAS_CORENAME", "Core2"),
        ]),
        "Prescott",
    );
}

#[test]
fn the_second_run_keeps_arguments_output_status_and_results() {
    if env_coretype().is_some() {
        // wmf never runs itself again under a value the environment set.
        return;
    }
    let level = info(&[])["blas"]["cpu_level"].as_str().unwrap().to_string();
    let Some(core) = forced_for(&level) else {
        // No AVX2: wmf never runs itself again here; nothing to compare.
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_triplets(d, "data.csv", 200, 80, 15, 3);
    let train = |model: &str, env: &[(&str, &str)]| {
        let out = wmf_env(
            d,
            &[
                "train",
                "data.csv",
                "-o",
                model,
                "-k",
                "8",
                "--iterations",
                "3",
                "--solver",
                "cholesky",
                "--threads",
                "2",
                "--json",
                "--loss-every",
                "1",
            ],
            env,
        );
        let stdout = ok(&out);
        let losses: Vec<String> = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v.get("loss").map(Value::to_string))
            .collect();
        assert_eq!(losses.len(), 3, "{stdout}");
        (std::fs::read(d.join(model)).unwrap(), losses)
    };
    let by_hand = train("hand.wmf", &[("OPENBLAS_CORETYPE", core)]);
    let again = train("again.wmf", &[("WMF_TEST_BLAS_CORENAME", "Prescott")]);
    assert_eq!(by_hand.1, again.1, "losses");
    assert!(by_hand.0 == again.0, "the model files differ");
    // A failing command fails the same way, with one error line.
    let bad = wmf_env(
        d,
        &["train", "missing.csv", "-o", "m.wmf"],
        &[("WMF_TEST_BLAS_CORENAME", "Prescott")],
    );
    fails_with(&bad, &["missing.csv"]);
    assert_eq!(bad.status.code(), Some(1));
}
