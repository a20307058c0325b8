//! Bad input: one clear error line, non-zero exit, never a panic.

#[path = "common/cli.rs"]
mod cli_common;

use cli_common::{fails_with, ok, wmf, write_triplets};

#[test]
fn bad_arguments_are_rejected_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_triplets(d, "data.csv", 10, 8, 4, 2);
    let cases: &[(&[&str], &[&str])] = &[
        (&["-k", "0"], &["-k", "outside 1..=256"]),
        (&["-k", "300"], &["-k", "outside"]),
        (&["--lambda", "-1"], &["--lambda", "-1"]),
        (&["--iterations", "0"], &["--iterations"]),
        (&["--threads", "0"], &["--threads"]),
        (&["--alpha", "-2"], &["--alpha"]),
        (&["--confidence", "log", "--eps", "0"], &["--eps"]),
        (&["--c0", "-1"], &["--c0"]),
        (&["--popularity-beta", "NaN"], &["--popularity-beta"]),
        (&["--solver", "cg", "--cg-steps", "0"], &["--cg-steps"]),
        (
            &["--solver", "cholesky", "--cg-rows", "bf16"],
            &["--cg-rows", "cg only"],
        ),
        (&["--cg-rows", "f16"], &["--cg-rows"]),
        (&["--format", "xml"], &["unknown format"]),
    ];
    for (extra, needles) in cases {
        let mut args = vec!["train", "data.csv", "-o", "m.wmf"];
        args.extend_from_slice(extra);
        fails_with(&wmf(d, &args), needles);
        assert!(
            !d.join("m.wmf").exists(),
            "no model may be written for {extra:?}"
        );
    }
}

#[test]
fn bad_input_files_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = |name: &str, text: &str, extra: &[&str]| {
        std::fs::write(d.join(name), text).unwrap();
        let mut args = vec![
            "train",
            name,
            "-o",
            "m.wmf",
            "-k",
            "2",
            "--iterations",
            "1",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        wmf(d, &args)
    };
    fails_with(
        &wmf(d, &["train", "missing.csv"]),
        &["missing.csv", "No such file"],
    );
    fails_with(
        &train("empty.csv", "", &[]),
        &["empty.csv", "no interactions"],
    );
    fails_with(
        &train("nan.csv", "a,x,1\nb,y,NaN\n", &[]),
        &["nan.csv:2", "NaN"],
    );
    fails_with(
        &train("inf.csv", "a,x,1\nb,y,inf\n", &[]),
        &["inf.csv:2", "infinite"],
    );
    fails_with(
        &train("neg.csv", "a,x,1\nb,y,2\nc,z,-3\n", &[]),
        &["neg.csv:3", "negative"],
    );
    fails_with(&train("short.csv", "a,x,1\nb\n", &[]), &["short.csv:2"]);
    fails_with(
        &train("word.csv", "a,x,1\nb,y,lots\n", &[]),
        &["word.csv:2", "lots"],
    );
    // --skip-bad-lines skips and reports
    std::fs::write(d.join("mixed.csv"), "a,x,1\nb\nc,y,2\nd,z,-1\n").unwrap();
    let out = wmf(
        d,
        &[
            "train",
            "mixed.csv",
            "-o",
            "m.wmf",
            "-k",
            "2",
            "--iterations",
            "1",
            "--skip-bad-lines",
        ],
    );
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped 2 bad lines") && err.contains("mixed.csv:2"),
        "{err}"
    );
    // --min-value thresholds everything away: no interactions
    fails_with(
        &train("low.csv", "a,x,1\nb,y,2\n", &["--min-value", "4"]),
        &["no interactions"],
    );
}

#[test]
fn bad_models_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_triplets(d, "data.csv", 30, 12, 5, 3);
    ok(&wmf(
        d,
        &[
            "train",
            "data.csv",
            "-o",
            "m.wmf",
            "-k",
            "3",
            "--iterations",
            "2",
            "--quiet",
        ],
    ));
    // corrupted and truncated model files are errors
    let mut bytes = std::fs::read(d.join("m.wmf")).unwrap();
    std::fs::write(d.join("short.wmf"), &bytes[..bytes.len() / 2]).unwrap();
    fails_with(
        &wmf(d, &["similar", "-m", "short.wmf", "--item", "item1"]),
        &["short.wmf"],
    );
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(d.join("bad.wmf"), &bytes).unwrap();
    fails_with(
        &wmf(d, &["similar", "-m", "bad.wmf", "--item", "item1"]),
        &["bad.wmf"],
    );
    fails_with(
        &wmf(
            d,
            &[
                "recommend",
                "-m",
                "m.wmf",
                "--user",
                "nobody",
                "--include-seen",
            ],
        ),
        &["unknown user id \"nobody\""],
    );
    fails_with(
        &wmf(d, &["recommend", "-m", "m.wmf", "--user", "u1"]),
        &["--seen"],
    );
    fails_with(
        &wmf(
            d,
            &[
                "recommend",
                "-m",
                "m.wmf",
                "--all",
                "--user",
                "u1",
                "--include-seen",
            ],
        ),
        &["exactly one"],
    );
    fails_with(
        &wmf(
            d,
            &[
                "recommend",
                "-m",
                "m.wmf",
                "--all",
                "-n",
                "0",
                "--include-seen",
            ],
        ),
        &["-n"],
    );
    fails_with(
        &wmf(d, &["similar", "-m", "m.wmf", "--item", "nothing"]),
        &["unknown item id"],
    );
    std::fs::write(d.join("new.txt"), "item1,-2\n").unwrap();
    fails_with(
        &wmf(d, &["fold-in", "-m", "m.wmf", "new.txt"]),
        &["new.txt:1"],
    );
    fails_with(&wmf(d, &["gradcheck", "-k", "0"]), &["invalid size"]);
}

/// `wmf ... | head`: a reader that closes standard output early is not an
/// error of wmf's. Every command that writes there stops quietly with
/// success (no panic, no message); a model that was to be written is
/// written. A standard output that fails otherwise is an error.
#[test]
fn a_closed_standard_output_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_triplets(d, "data.csv", 400, 60, 10, 5);
    ok(&wmf(
        d,
        &["train", "data.csv", "-o", "m.wmf", "-k", "4", "--quiet"],
    ));
    let cases: &[&[&str]] = &[
        &[
            "recommend",
            "-m",
            "m.wmf",
            "--all",
            "-n",
            "50",
            "--include-seen",
        ],
        &[
            "recommend",
            "-m",
            "m.wmf",
            "--all",
            "-n",
            "50",
            "--include-seen",
            "--json",
        ],
        &["similar", "-m", "m.wmf", "--item", "item1", "-n", "60"],
        &["info"],
        &["eval", "data.csv", "-k", "4", "--iterations", "2"],
        &[
            "train",
            "data.csv",
            "-o",
            "again.wmf",
            "-k",
            "4",
            "--iterations",
            "3",
            "--json",
            "--loss-every",
            "1",
        ],
    ];
    for args in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wmf"))
            .args(*args)
            .current_dir(d)
            .env("OPENBLAS_NUM_THREADS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, then close the pipe.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?}: no output");
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !err.contains("panicked") && !err.contains("error"),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
    assert!(d.join("again.wmf").exists(), "the model is written");
    // Standard output that fails for another reason is still an error.
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = Command::new(env!("CARGO_BIN_EXE_wmf"))
            .args(["recommend", "-m", "m.wmf", "--all", "--include-seen"])
            .current_dir(d)
            .stdout(full)
            .output()
            .unwrap();
        fails_with(&out, &["writing to standard output"]);
    }
}
