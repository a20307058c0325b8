//! Helpers shared by the CLI tests (included with `#[path]`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the built `wmf` binary with `args` in `dir`.
pub fn wmf(dir: &Path, args: &[&str]) -> Output {
    wmf_with(dir, args, &[], &[])
}

/// [`wmf`] with the variables `remove` taken out of the environment it
/// inherits, then `set` set (test hooks a test must control).
pub fn wmf_with(dir: &Path, args: &[&str], remove: &[&str], set: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wmf"));
    cmd.args(args)
        .current_dir(dir)
        .env("OPENBLAS_NUM_THREADS", "1");
    for k in remove {
        cmd.env_remove(k);
    }
    cmd.envs(set.iter().copied());
    cmd.output().expect("the wmf binary runs")
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "wmf failed: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts failure with exactly one error line containing every `needle`.
pub fn fails_with(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "one error line expected: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr should contain {n:?}: {err}");
    }
}

/// Writes a planted interaction file: `users` users with about `per_user`
/// items each out of `items`, ids `u{i}` and `item{j}`, values 1..=5.
pub fn write_triplets(
    dir: &Path,
    name: &str,
    users: usize,
    items: usize,
    per_user: usize,
    seed: u64,
) -> PathBuf {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as usize
    };
    let mut text = String::from("user,item,value\n");
    for u in 0..users {
        let group = u % 4;
        for _ in 0..per_user {
            // items of the user's group are much more likely: planted taste
            let j = if next() % 4 != 0 {
                group * (items / 4) + next() % (items / 4)
            } else {
                next() % items
            };
            text.push_str(&format!("u{u},item{j},{}\n", 1 + next() % 5));
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
