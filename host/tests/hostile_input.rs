//! The hostile-input table (issue 8): one test per row, each asserting the
//! exact error (or, where the input is allowed, the exact outcome). None may
//! panic, hang or produce NaN. FUZZING.md maps the rows to these tests.

use std::path::Path;

use wmf_host::io::{Format, LoadOptions, MAX_LINE_BYTES, load_from};

/// The error message of loading `text` as `name` with `format`.
fn load_err(name: &str, format: Format, text: &[u8]) -> String {
    let opts = LoadOptions {
        format,
        ..LoadOptions::default()
    };
    match load_from(text, Path::new(name), Some(text.len() as u64), &opts) {
        Ok((d, _)) => panic!("{name} loaded ({} interactions)", d.nnz()),
        Err(e) => e.to_string(),
    }
}

fn load_ok(
    name: &str,
    text: &[u8],
    skip: bool,
) -> (wmf_host::data::Dataset, wmf_host::io::LoadReport) {
    let opts = LoadOptions {
        skip_bad_lines: skip,
        ..LoadOptions::default()
    };
    load_from(text, Path::new(name), Some(text.len() as u64), &opts).expect("loads")
}

#[test]
fn a_10_mb_single_line_is_rejected_without_buffering_it() {
    // A 10 MB id, then a 10 MB value, then 10 MB without any line break.
    let mut id = vec![b'a'; 10 << 20];
    id.extend_from_slice(b",b,1\nc,d,1\n");
    let expected =
        format!("big.csv:1: line is longer than {MAX_LINE_BYTES} bytes (not an interaction line)");
    assert_eq!(load_err("big.csv", Format::Auto, &id), expected);
    let mut value = b"c,d,1\na,b,".to_vec();
    value.extend(std::iter::repeat_n(b'1', 10 << 20));
    assert_eq!(
        load_err("big.csv", Format::Auto, &value),
        format!("big.csv:2: line is longer than {MAX_LINE_BYTES} bytes (not an interaction line)")
    );
    let flat = vec![b'x'; 10 << 20];
    assert_eq!(load_err("big.csv", Format::Triplets, &flat), expected);
    assert_eq!(
        load_err("big.mtx", Format::MatrixMarket, &flat),
        format!("big.mtx:1: line is longer than {MAX_LINE_BYTES} bytes (not an interaction line)")
    );
    // Skipped when bad lines are skipped; the next line still counts.
    let (d, r) = load_ok("big.csv", &id, true);
    assert_eq!((d.nnz(), r.skipped, r.lines), (1, 1, 2));
    assert_eq!(d.user_ids.names().collect::<Vec<_>>(), ["c"]);
}

#[test]
fn ids_with_embedded_delimiters_or_quotes() {
    // A quoted id containing the delimiter is split; the halves are refused.
    assert_eq!(
        load_err("q.csv", Format::Auto, b"a,b,1\n\"a,b\",c,1\n"),
        "q.csv:2: user id '\"a' has an unbalanced double quote (quoted ids containing the delimiter are not supported)"
    );
    assert_eq!(
        load_err("q.csv", Format::Auto, b"a,b,1\nx,\"a,b\",1\n"),
        "q.csv:2: item id '\"a' has an unbalanced double quote (quoted ids containing the delimiter are not supported)"
    );
    assert_eq!(
        load_err("q.csv", Format::Auto, b"a,b,1\n\",c,1\n"),
        "q.csv:2: user id '\"' has an unbalanced double quote (quoted ids containing the delimiter are not supported)"
    );
    assert_eq!(
        load_err("q.csv", Format::Auto, b"a,b,1\n\"\",c,1\n"),
        "q.csv:2: empty user id"
    );
    // Quotes inside an id, and another delimiter inside an id, are plain text.
    let (d, _) = load_ok("q.csv", b"\"a\"b\",c,1\na\"b,\"d\",2\n", false);
    assert_eq!(d.user_ids.names().collect::<Vec<_>>(), ["a\"b"]);
    assert_eq!(d.item_ids.names().collect::<Vec<_>>(), ["c", "d"]);
    let (d, _) = load_ok("q.tsv", b"u1\ti1\t1\na,b\tc::d\t1\n", false);
    assert_eq!(d.user_ids.names().collect::<Vec<_>>(), ["u1", "a,b"]);
    assert_eq!(d.item_ids.names().collect::<Vec<_>>(), ["i1", "c::d"]);
}

#[test]
fn negative_nan_inf_and_1e39_values() {
    let cases: [(&[u8], &str); 7] = [
        (
            b"a,b,1\nc,d,-1\n",
            "v.csv:2: value '-1' is negative (values must be >= 0)",
        ),
        (
            b"a,b,1\nc,d,-0.5e-3\n",
            "v.csv:2: value '-0.5e-3' is negative (values must be >= 0)",
        ),
        (b"a,b,1\nc,d,NaN\n", "v.csv:2: value 'NaN' is NaN"),
        (
            b"a,b,1\nc,d,inf\n",
            "v.csv:2: value 'inf' is infinite (or overflows f32)",
        ),
        (
            b"a,b,1\nc,d,-inf\n",
            "v.csv:2: value '-inf' is infinite (or overflows f32)",
        ),
        (
            b"a,b,1\nc,d,1e39\n",
            "v.csv:2: value '1e39' is infinite (or overflows f32)",
        ),
        (
            b"a,b,1\nc,d,0x10\n",
            "v.csv:2: unparsable value '0x10' (expected a number)",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(load_err("v.csv", Format::Auto, text), expected);
    }
    // Long fields are quoted up to 40 characters.
    let mut long = b"a,b,1\nc,d,".to_vec();
    long.extend(std::iter::repeat_n(b'9', 100));
    assert_eq!(
        load_err("v.csv", Format::Auto, &long),
        format!(
            "v.csv:2: value '{}...' is infinite (or overflows f32)",
            "9".repeat(40)
        )
    );
    // The same rules in the other formats.
    assert_eq!(
        load_err("u.data", Format::MovieLensData, b"1\t2\tnan\t5\n"),
        "u.data:1: value 'nan' is NaN"
    );
    assert_eq!(
        load_err(
            "r.csv",
            Format::MovieLensCsv,
            b"userId,movieId,rating,timestamp\n1,2,-3,4\n"
        ),
        "r.csv:2: value '-3' is negative (values must be >= 0)"
    );
    assert_eq!(
        load_err(
            "m.mtx",
            Format::MatrixMarket,
            b"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1e39\n"
        ),
        "m.mtx:3: value '1e39' is infinite (or overflows f32)"
    );
}

/// Each value is finite, but the duplicates of one pair sum past `f32::MAX`
/// (found by the `read_movielens` fuzz target): an error naming the file and
/// the pair's ids, never an infinite value in the matrix.
#[test]
fn duplicates_summing_past_f32_max() {
    let sum_msg = "the values of its duplicates sum past the largest f32 (3.4028235e38)";
    assert_eq!(
        load_err(
            "d.csv",
            Format::Auto,
            b"a,b,1\nu7,i9,3e38\nc,d,2\nu7,i9,3e38\n"
        ),
        format!("d.csv: invalid values: user 'u7', item 'i9': {sum_msg}")
    );
    assert_eq!(
        load_err(
            "u.data",
            Format::MovieLensData,
            b"1\t2\t3e38\t5\n1\t2\t3e38\t6\n"
        ),
        format!("u.data: invalid values: user '1', item '2': {sum_msg}")
    );
    assert_eq!(
        load_err(
            "r.csv",
            Format::MovieLensCsv,
            b"userId,movieId,rating,timestamp\n4,5,2e38,1\n4,5,2e38,2\n"
        ),
        format!("r.csv: invalid values: user '4', item '5': {sum_msg}")
    );
    assert_eq!(
        load_err(
            "m.mtx",
            Format::MatrixMarket,
            b"%%MatrixMarket matrix coordinate real general\n2 2 2\n2 1 3e38\n2 1 3e38\n"
        ),
        format!("m.mtx: invalid values: user '2', item '1': {sum_msg}")
    );
    // Sums up to f32::MAX load.
    let (d, r) = load_ok("ok.csv", b"a,b,1.7e38\na,b,1.7e38\n", false);
    assert_eq!((d.nnz(), r.duplicates_merged), (1, 1));
    assert_eq!(d.users.values, vec![3.4e38]);
}

/// 2^32 distinct ids cannot be built in a test (about 350 GB of id maps);
/// the same check runs at a lower limit: through the reader with `max_ids`,
/// on `IdMap` directly, and through `wmf --max-ids`. The default limit is
/// `MAX_IDS = u32::MAX` (indices are `u32`).
#[test]
fn too_many_distinct_ids_stop_at_the_limit() {
    use wmf_host::ids::{IdMap, MAX_IDS};
    assert_eq!(MAX_IDS, u32::MAX as usize);
    let text = b"a,x,1\nb,x,1\nc,y,1\na,y,1\nd,x,1\n";
    let err = wmf_host::io::load_from_limited(
        &text[..],
        Path::new("ids.csv"),
        None,
        &LoadOptions::default(),
        3,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "ids.csv:5: more than 3 distinct user ids (the limit; at most 4294967295 as indices are u32)"
    );
    let err = wmf_host::io::load_from_limited(
        &text[..],
        Path::new("ids.csv"),
        None,
        &LoadOptions::default(),
        1,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "ids.csv:2: more than 1 distinct user ids (the limit; at most 4294967295 as indices are u32)"
    );
    let mut m = IdMap::with_limit(2);
    assert_eq!(m.get_or_insert("a"), Some(0));
    assert_eq!(m.get_or_insert("b"), Some(1));
    assert_eq!(m.get_or_insert("c"), None);
    assert_eq!(m.get_or_insert("a"), Some(0), "known ids still resolve");
    assert_eq!(IdMap::with_limit(usize::MAX).limit(), MAX_IDS);
    assert_eq!(IdMap::new().limit(), MAX_IDS);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ids.csv"), text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wmf"))
        .args(["train", "ids.csv", "--max-ids", "3", "-k", "2", "-q"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "wmf: error: loading ids.csv: ids.csv:5: more than 3 distinct user ids (the limit; at most 4294967295 as indices are u32)\n"
    );
}

#[test]
fn empty_file() {
    assert_eq!(
        load_err("e.csv", Format::Auto, b""),
        "e.csv: no interactions: the file is empty"
    );
    assert_eq!(
        load_err("u.data", Format::MovieLensData, b""),
        "u.data: no interactions: the file is empty"
    );
    assert_eq!(
        load_err("e.mtx", Format::MatrixMarket, b""),
        "e.mtx: no interactions: the file is empty"
    );
    // Only blank lines and comments.
    assert_eq!(
        load_err("e.csv", Format::Auto, b"\n\n# nothing\n"),
        "e.csv: no interactions: none of its 3 lines is an interaction"
    );
}

#[test]
fn header_only() {
    assert_eq!(
        load_err("h.csv", Format::Auto, b"user,item,value\n"),
        "h.csv: no interactions: none of its 1 lines is an interaction"
    );
    assert_eq!(
        load_err(
            "r.csv",
            Format::MovieLensCsv,
            b"userId,movieId,rating,timestamp\n"
        ),
        "r.csv: no interactions: none of its 1 lines is an interaction"
    );
    assert_eq!(
        load_err(
            "h.mtx",
            Format::MatrixMarket,
            b"%%MatrixMarket matrix coordinate real general\n"
        ),
        "h.mtx:1: missing the size line 'rows columns entries'"
    );
}

#[test]
fn non_utf8_bytes() {
    assert_eq!(
        load_err("n.csv", Format::Auto, b"a,b,1\n\xff\xfe,c,1\n"),
        "n.csv:2: line is not valid UTF-8"
    );
    assert_eq!(
        load_err("n.csv", Format::Auto, b"\xc3(,b,1\n"),
        "n.csv:1: line is not valid UTF-8"
    );
    assert_eq!(
        load_err(
            "n.mtx",
            Format::MatrixMarket,
            b"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 \xff 1\n"
        ),
        "n.mtx:3: line is not valid UTF-8"
    );
    // Skipped and counted with skip_bad_lines.
    let (d, r) = load_ok("n.csv", b"a,b,1\n\xff,c,1\nd,b,1\n", true);
    assert_eq!((d.nnz(), r.skipped), (2, 1));
}

mod training {
    use wmf_host::als::train_model;
    use wmf_host::ids::IdMap;
    use wmf_host::{Csr, TrainConfig};

    fn x() -> Csr {
        Csr::from_triplets(3, 2, &[(0, 0, 1.0), (1, 1, 2.0), (2, 0, 1.0)]).unwrap()
    }

    fn train(config: &TrainConfig) -> Result<wmf_host::Model, String> {
        train_model(
            &x(),
            IdMap::sequential(3),
            IdMap::sequential(2),
            config,
            &mut |_| {},
        )
        .map_err(|e| e.to_string())
    }

    fn cfg() -> TrainConfig {
        TrainConfig {
            k: 2,
            iterations: 2,
            lambda: 0.1,
            ..TrainConfig::default()
        }
    }

    fn cli(args: &[&str]) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("d.csv"), "a,x,1\nb,y,2\nc,x,1\n").unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wmf"))
            .arg("train")
            .arg("d.csv")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    #[test]
    fn k_zero() {
        let e = train(&TrainConfig { k: 0, ..cfg() }).unwrap_err();
        assert_eq!(e, "invalid -k: 0 is outside 1..=256");
        assert_eq!(
            cli(&["-k", "0", "-q"]),
            "wmf: error: invalid -k: 0 is outside 1..=256\n"
        );
        assert_eq!(
            train(&TrainConfig { k: 257, ..cfg() }).unwrap_err(),
            "invalid -k: 257 is outside 1..=256"
        );
    }

    /// Decision: k > min(users, items) is rank-deficient. With lambda > 0 the
    /// normal equations stay positive definite, so it is allowed (the CLI
    /// warns; the factors are finite); with lambda = 0 it is an error.
    #[test]
    fn k_larger_than_the_number_of_items() {
        let e = train(&TrainConfig {
            k: 5,
            lambda: 0.0,
            ..cfg()
        })
        .unwrap_err();
        assert_eq!(
            e,
            "invalid -k: 5 is larger than the number of items (2); with --lambda 0 the normal equations are singular (use -k <= 2 or --lambda > 0)"
        );
        let model = train(&TrainConfig { k: 5, ..cfg() }).unwrap();
        assert!(
            model
                .user_factors
                .iter()
                .chain(model.item_factors.iter())
                .all(|v| v.is_finite())
        );
        for solver in [
            wmf_host::Solver::Cholesky,
            wmf_host::Solver::Eals { sweeps: 2 },
        ] {
            let model = train(&TrainConfig {
                k: 5,
                solver,
                ..cfg()
            })
            .unwrap();
            assert!(
                model.item_factors.iter().all(|v| v.is_finite()),
                "{solver:?}"
            );
        }
        let err = cli(&["-k", "5", "--iterations", "2", "--threads", "1"]);
        assert_eq!(
            err.lines().find(|l| l.starts_with("warning")),
            Some(
                "warning: -k 5 is larger than the number of items (2): the problem is rank-deficient; the extra factors only fit the regularisation"
            ),
            "{err}"
        );
        assert_eq!(
            cli(&["-k", "5", "--lambda", "0", "-q"]),
            "wmf: error: training: invalid -k: 5 is larger than the number of items (2); with --lambda 0 the normal equations are singular (use -k <= 2 or --lambda > 0)\n"
        );
    }

    #[test]
    fn lambda_negative() {
        assert_eq!(
            train(&TrainConfig {
                lambda: -0.5,
                ..cfg()
            })
            .unwrap_err(),
            "invalid --lambda: -0.5 must be finite and >= 0"
        );
        assert_eq!(
            train(&TrainConfig {
                lambda: f32::NAN,
                ..cfg()
            })
            .unwrap_err(),
            "invalid --lambda: NaN must be finite and >= 0"
        );
        assert_eq!(
            cli(&["--lambda", "-1", "-q"]),
            "wmf: error: invalid --lambda: -1 must be finite and >= 0\n"
        );
    }

    #[test]
    fn iterations_zero() {
        assert_eq!(
            train(&TrainConfig {
                iterations: 0,
                ..cfg()
            })
            .unwrap_err(),
            "invalid --iterations: must be at least 1"
        );
        assert_eq!(
            cli(&["--iterations", "0", "-q"]),
            "wmf: error: invalid --iterations: must be at least 1\n"
        );
        assert_eq!(
            cli(&[
                "--checkpoint",
                "ck",
                "--checkpoint-every",
                "0",
                "-q",
                "-k",
                "2"
            ]),
            "wmf: error: invalid --checkpoint-every: must be at least 1\n"
        );
        assert_eq!(
            cli(&["--loss-every", "0", "-q"]),
            "wmf: error: invalid --loss-every: must be at least 1\n"
        );
    }
}

mod files {
    use std::path::Path;

    use wmf_host::checkpoint::Checkpoint;
    use wmf_host::export::ItemBlob;
    use wmf_host::ids::IdMap;
    use wmf_host::{Model, TrainConfig, model_io};

    fn model(k: usize) -> Model {
        Model {
            config: TrainConfig {
                k,
                ..TrainConfig::default()
            },
            user_factors: ndarray::Array2::from_shape_fn((2, k), |(i, j)| (i + j) as f32 / 4.0),
            item_factors: ndarray::Array2::from_shape_fn((3, k), |(i, j)| {
                0.5 - (i * j) as f32 / 8.0
            }),
            item_c0: vec![1.0; 3],
            user_ids: IdMap::sequential(2),
            item_ids: IdMap::sequential(3),
        }
    }

    /// Sets the version field at `at` and recomputes the trailing CRC.
    fn bump_version(bytes: &mut [u8], at: usize, version: u32) {
        bytes[at..at + 4].copy_from_slice(&version.to_le_bytes());
        let n = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn model_file_from_a_newer_format_version() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = model_io::to_bytes(&model(2)).unwrap();
        bump_version(&mut bytes, 8, 2);
        let path = dir.path().join("newer.wmf");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            model_io::load(&path).unwrap_err().to_string(),
            format!(
                "{}: model format version 2 is newer than this build supports (1); use a newer wmf",
                path.display()
            )
        );
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wmf"))
            .args(["export", "-m", "newer.wmf", "--to", "blob", "-o", "x.wmfb"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "wmf: error: loading the model newer.wmf: newer.wmf: model format version 2 is newer than this build supports (1); use a newer wmf\n"
        );
        assert!(!dir.path().join("x.wmfb").exists());
        // The same for the WMFB blob and checkpoints.
        let mut blob = ItemBlob::from_model(&model(2)).unwrap().to_bytes();
        bump_version(&mut blob, 4, 2);
        let e = ItemBlob::from_bytes(&blob, Path::new("m.wmfb"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "m.wmfb: blob version 2 is not supported (this build reads 1)"
        );
        let ck = Checkpoint {
            config: model(2).config,
            iteration: 1,
            data_fingerprint: 0,
            w: model(2).user_factors,
            h: model(2).item_factors,
        };
        let mut b = ck.to_bytes().unwrap();
        bump_version(&mut b, 8, 7);
        assert_eq!(
            Checkpoint::<f32>::from_bytes(&b, Path::new("c"))
                .unwrap_err()
                .to_string(),
            "c: checkpoint format version 7 is newer than this build supports (1); use a newer wmf"
        );
    }

    /// Fold-in sums duplicated interactions like the readers do; a sum past
    /// `f32::MAX` is an error naming the item, not an infinite confidence.
    #[test]
    fn fold_in_duplicates_summing_past_f32_max() {
        let e = wmf_host::foldin::recalculate_user(
            &model(2),
            &[(2, 3e38), (0, 1.0), (2, 3e38)],
            None,
            None,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "invalid interaction: this user, item 2: the values of its duplicates sum past the largest f32 (3.4028235e38)"
        );
    }

    /// Fold-in with a Gramian of another model (k = 2) against items with k = 3.
    /// In C, `wmf_items` carries one `k` for `h` and `g0`, so the disagreement
    /// shows up as buffers sized for the other k (tested in ffi/tests/hostile.rs).
    #[test]
    fn model_k_disagrees_with_the_gramian_at_fold_in() {
        let m3 = model(3);
        let g2 = wmf_host::foldin::model_gramian(&model(2)).unwrap();
        let e = wmf_host::foldin::recalculate_user(&m3, &[(0, 1.0)], None, Some(&g2))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "checking the item side: `g0` has 4 elements, expected 9");
        // The kernel's check, directly.
        let h: Vec<f32> = m3.item_factors.iter().copied().collect();
        let fac = wmf_kernel::Factors::new(&h, 3, 3).unwrap();
        let g: Vec<f32> = g2.iter().copied().collect();
        let err = wmf_kernel::Items::new(fac, &g, wmf_kernel::Baseline::Uniform(1.0)).unwrap_err();
        assert_eq!(
            err,
            wmf_kernel::Error::LengthMismatch {
                what: "g0",
                expected: 9,
                actual: 4
            }
        );
        // A right-sized Gramian folds in to a finite vector.
        let g3 = wmf_host::foldin::model_gramian(&m3).unwrap();
        let x = wmf_host::foldin::recalculate_user(&m3, &[(0, 1.0)], None, Some(&g3)).unwrap();
        assert!(x.iter().all(|v| v.is_finite()) && x.len() == 3);
    }
}
