//! Crash-safe training: a run killed with SIGKILL (mid-iteration, and in the
//! middle of writing a checkpoint) or stopped with SIGINT, then resumed with
//! `--resume`, writes exactly the model bytes of an uninterrupted run.
//!
//! The kill points are chosen deterministically through the binary's test
//! hooks (`WMF_TEST_FAULT`, see `host/src/main.rs`); SIGINT is sent to the
//! child process from here.
#![cfg(unix)]

#[path = "common/cli.rs"]
mod cli;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cli::{wmf_with, write_triplets};
use wmf_host::checkpoint::{Checkpoint, path_in};

const ITERATIONS: &str = "6";

fn train_args<'a>(input: &'a str, output: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "train",
        input,
        "-o",
        output,
        "-k",
        "5",
        "--iterations",
        ITERATIONS,
        "--threads",
        "2",
        "--lambda",
        "0.1",
        "-q",
    ];
    v.extend_from_slice(extra);
    v
}

fn wmf_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    wmf_with(
        dir,
        args,
        &["WMF_TEST_FAULT", "WMF_TEST_ITERATION_DELAY_MS"],
        env,
    )
}

fn killed_by_sigkill(out: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    out.status.signal() == Some(libc::SIGKILL)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "wmf failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    reference: Vec<u8>,
}

/// Data and the model bytes of an uninterrupted run.
fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    write_triplets(&dir, "data.csv", 60, 40, 8, 7);
    ok(&wmf_env(&dir, &train_args("data.csv", "ref.wmf", &[]), &[]));
    let reference = std::fs::read(dir.join("ref.wmf")).unwrap();
    Setup {
        _tmp: tmp,
        dir,
        reference,
    }
}

fn resume_and_compare(s: &Setup, ckdir: &str, expect_iteration: u64) {
    let ck = Checkpoint::<f32>::load(&s.dir.join(ckdir)).expect("the checkpoint is intact");
    assert_eq!(ck.iteration, expect_iteration);
    ok(&wmf_env(
        &s.dir,
        &train_args("data.csv", "resumed.wmf", &["--resume", ckdir]),
        &[],
    ));
    let resumed = std::fs::read(s.dir.join("resumed.wmf")).unwrap();
    assert!(
        resumed == s.reference,
        "the resumed model differs from the uninterrupted one"
    );
}

#[test]
fn checkpointed_run_without_crash_matches_plain_run() {
    let s = setup();
    ok(&wmf_env(
        &s.dir,
        &train_args(
            "data.csv",
            "ck.wmf",
            &["--checkpoint", "ck", "--checkpoint-every", "2"],
        ),
        &[],
    ));
    assert_eq!(std::fs::read(s.dir.join("ck.wmf")).unwrap(), s.reference);
    // The last checkpoint is after iteration 4 (6 is the model itself).
    resume_and_compare(&s, "ck", 4);
}

#[test]
fn sigkill_mid_iteration_then_resume_is_bit_identical() {
    let s = setup();
    let out = wmf_env(
        &s.dir,
        &train_args("data.csv", "killed.wmf", &["--checkpoint", "ck"]),
        &[("WMF_TEST_FAULT", "kill-mid-iteration:4")],
    );
    assert!(
        killed_by_sigkill(&out),
        "expected SIGKILL, got {:?}",
        out.status
    );
    assert!(!s.dir.join("killed.wmf").exists());
    resume_and_compare(&s, "ck", 3);
}

#[test]
fn sigkill_mid_checkpoint_write_keeps_previous_checkpoint() {
    let s = setup();
    let out = wmf_env(
        &s.dir,
        &train_args(
            "data.csv",
            "killed.wmf",
            &["--checkpoint", "ck", "--checkpoint-every", "2"],
        ),
        &[("WMF_TEST_FAULT", "kill-in-checkpoint:4")],
    );
    assert!(
        killed_by_sigkill(&out),
        "expected SIGKILL, got {:?}",
        out.status
    );
    // The half-written temporary file is there, next to the intact checkpoint.
    let names: Vec<String> = std::fs::read_dir(s.dir.join("ck"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.contains(".tmp.")), "{names:?}");
    let before = std::fs::read(path_in(&s.dir.join("ck"))).unwrap();
    assert_eq!(
        Checkpoint::<f32>::from_bytes(&before, Path::new("ck"))
            .unwrap()
            .iteration,
        2
    );
    resume_and_compare(&s, "ck", 2);
    // The resumed run's saves removed the stale temporary file.
    assert_eq!(std::fs::read_dir(s.dir.join("ck")).unwrap().count(), 1);
}

#[test]
fn sigkill_in_first_iteration_leaves_nothing_to_resume() {
    let s = setup();
    let out = wmf_env(
        &s.dir,
        &train_args("data.csv", "killed.wmf", &["--checkpoint", "ck"]),
        &[("WMF_TEST_FAULT", "kill-mid-iteration:1")],
    );
    assert!(killed_by_sigkill(&out));
    let out = wmf_env(
        &s.dir,
        &train_args("data.csv", "r.wmf", &["--resume", "ck"]),
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("wmf: error: loading the checkpoint in ck: ck/checkpoint.wmfc: "),
        "{err}"
    );
}

#[test]
fn resume_with_other_options_or_data_is_refused() {
    let s = setup();
    ok(&wmf_env(
        &s.dir,
        &train_args("data.csv", "a.wmf", &["--checkpoint", "ck"]),
        &[],
    ));
    let mut args = train_args("data.csv", "b.wmf", &["--resume", "ck"]);
    let at = args.iter().position(|a| *a == "0.1").unwrap();
    args[at] = "0.2";
    let out = wmf_env(&s.dir, &args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "wmf: error: invalid --resume: the training options differ from the checkpoint's"
        ),
        "{err}"
    );
    write_triplets(&s.dir, "other.csv", 60, 40, 8, 8);
    let out = wmf_env(
        &s.dir,
        &train_args("other.csv", "b.wmf", &["--resume", "ck"]),
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("wmf: error: invalid --resume: the checkpoint was made on different data"),
        "{err}"
    );
}

/// Starts training with a delay per iteration, sends SIGINT once the first
/// iteration is reported, and returns the finished process's output.
fn interrupt_run(dir: &Path, extra: &[&str]) -> (std::process::ExitStatus, String) {
    let mut args = train_args("data.csv", "int.wmf", extra);
    args.retain(|a| *a != "-q");
    args.push("--json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wmf"))
        .args(&args)
        .current_dir(dir)
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("WMF_TEST_ITERATION_DELAY_MS", "300")
        .env_remove("WMF_TEST_FAULT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("\"iteration\":1"), "{line}");
    // SAFETY: sends SIGINT to our own child, which is still running (it sleeps
    // 300 ms after each of its 6 iterations).
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sigint_checkpoints_and_says_how_to_resume() {
    let s = setup();
    let (status, err) = interrupt_run(&s.dir, &["--checkpoint", "ck", "--checkpoint-every", "100"]);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(!s.dir.join("int.wmf").exists());
    let ck = Checkpoint::<f32>::load(&s.dir.join("ck")).unwrap();
    assert!((1..6).contains(&ck.iteration), "{}", ck.iteration);
    let it = ck.iteration;
    let expected = format!(
        "wmf: error: interrupted after iteration {it} of 6; checkpoint written to ck/checkpoint.wmfc; resume with: wmf train data.csv -o int.wmf -k 5 --iterations 6 --threads 2 --lambda 0.1 --checkpoint ck --checkpoint-every 100 --json --resume ck"
    );
    assert!(err.lines().any(|l| l == expected), "{err}");
    resume_and_compare(&s, "ck", it);
}

#[test]
fn sigint_without_checkpoint_says_none_was_written() {
    let s = setup();
    let (status, err) = interrupt_run(&s.dir, &[]);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with("wmf: error: interrupted after iteration ")
            && l.ends_with("of 6; no checkpoint was written (run with --checkpoint DIR to be able to resume with --resume DIR)")),
        "{err}"
    );
}

#[test]
fn sigkill_mid_model_write_keeps_the_previous_model() {
    let s = setup();
    std::fs::copy(s.dir.join("ref.wmf"), s.dir.join("out.wmf")).unwrap();
    let mut args = train_args("data.csv", "out.wmf", &[]);
    let at = args.iter().position(|a| *a == "0.1").unwrap();
    args[at] = "0.3"; // a different model would be written
    let out = wmf_env(&s.dir, &args, &[("WMF_TEST_FAULT", "kill-in-model-write")]);
    assert!(
        killed_by_sigkill(&out),
        "expected SIGKILL, got {:?}",
        out.status
    );
    assert_eq!(std::fs::read(s.dir.join("out.wmf")).unwrap(), s.reference);
    wmf_host::model_io::load(&s.dir.join("out.wmf")).expect("the old model loads");
    let temps = std::fs::read_dir(&s.dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp.")
        })
        .count();
    assert_eq!(
        temps, 1,
        "the half-written temporary file is left beside it"
    );
}

#[test]
fn truncated_or_bit_flipped_checkpoint_is_refused_on_resume() {
    let s = setup();
    ok(&wmf_env(
        &s.dir,
        &train_args("data.csv", "a.wmf", &["--checkpoint", "ck"]),
        &[],
    ));
    let path = path_in(&s.dir.join("ck"));
    let good = std::fs::read(&path).unwrap();
    let expected = "wmf: error: loading the checkpoint in ck: ck/checkpoint.wmfc: checksum mismatch: the checkpoint is truncated or corrupted\n";
    std::fs::write(&path, &good[..good.len() - 100]).unwrap();
    let out = wmf_env(
        &s.dir,
        &train_args("data.csv", "b.wmf", &["--resume", "ck"]),
        &[],
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), expected);
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x04;
    std::fs::write(&path, &flipped).unwrap();
    let out = wmf_env(
        &s.dir,
        &train_args("data.csv", "b.wmf", &["--resume", "ck"]),
        &[],
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), expected);
    std::fs::write(&path, &good[..5]).unwrap();
    let out = wmf_env(
        &s.dir,
        &train_args("data.csv", "b.wmf", &["--resume", "ck"]),
        &[],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "wmf: error: loading the checkpoint in ck: ck/checkpoint.wmfc: not a wmf checkpoint file (wrong magic bytes)\n"
    );
    assert!(!s.dir.join("b.wmf").exists());
}
