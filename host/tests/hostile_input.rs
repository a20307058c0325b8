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
    assert_eq!(d.user_ids.names(), ["c"]);
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
    assert_eq!(d.user_ids.names(), ["a\"b"]);
    assert_eq!(d.item_ids.names(), ["c", "d"]);
    let (d, _) = load_ok("q.tsv", b"u1\ti1\t1\na,b\tc::d\t1\n", false);
    assert_eq!(d.user_ids.names(), ["u1", "a,b"]);
    assert_eq!(d.item_ids.names(), ["i1", "c::d"]);
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
