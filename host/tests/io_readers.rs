//! Readers: every format on small generated files, header detection, and one
//! test per bad-input rule.

use std::path::{Path, PathBuf};

use wmf_host::Error;
use wmf_host::data::Dataset;
use wmf_host::io::{Format, LoadOptions, LoadReport, load};

/// Writes `content` to `name` in a fresh temporary directory.
fn file(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

fn load_str(
    name: &str,
    content: &str,
    opts: LoadOptions,
) -> wmf_host::Result<(Dataset, LoadReport)> {
    let (_dir, path) = file(name, content);
    load(&path, &opts)
}

fn ok(name: &str, content: &str) -> (Dataset, LoadReport) {
    load_str(name, content, LoadOptions::default()).unwrap()
}

/// The load fails with a parse error at `line` whose message contains `needle`,
/// and the displayed error starts with `file:line:`.
fn parse_error(name: &str, content: &str, line: u64, needle: &str) {
    let (_dir, path) = file(name, content);
    match load(&path, &LoadOptions::default()) {
        Err(e @ Error::Parse { .. }) => {
            let Error::Parse {
                line: l,
                ref message,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(l, line, "{e}");
            assert!(message.contains(needle), "'{message}' lacks '{needle}'");
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("{}:{line}: ", path.display())),
                "{shown}"
            );
        }
        other => panic!("expected a parse error at line {line}, got {other:?}"),
    }
}

/// The `(user id, item id, value)` cells of a dataset, sorted.
fn cells(d: &Dataset) -> Vec<(String, String, f32)> {
    let mut out = Vec::new();
    for u in 0..d.n_users() {
        let (items, vals) = d.users.row(u);
        for (&j, &v) in items.iter().zip(vals) {
            out.push((
                d.user_ids.name(u).unwrap().to_string(),
                d.item_ids.name(j as usize).unwrap().to_string(),
                v,
            ));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

fn c(u: &str, i: &str, v: f32) -> (String, String, f32) {
    (u.into(), i.into(), v)
}

#[test]
fn comma_triplets_with_string_ids_default_value_and_duplicates() {
    let (d, r) = ok(
        "x.csv",
        "alice,book\nbob,pen\nalice,book\n\"carol\",\"book\"\n",
    );
    assert_eq!(
        cells(&d),
        vec![
            c("alice", "book", 2.0),
            c("bob", "pen", 1.0),
            c("carol", "book", 1.0)
        ]
    );
    assert_eq!(
        (r.format, r.lines, r.kept, r.duplicates_merged, r.header),
        (Format::Triplets, 4, 4, 1, false)
    );
    assert_eq!(d.timestamps, None);
    assert_eq!(d.items().nrows, 2);
}

#[test]
fn tab_and_whitespace_triplets_with_values_and_timestamps() {
    let (d, _) = ok("x.tsv", "1\t10\t2.5\t100\n2\t10\t1\t200\n1\t11\t0\t50\n");
    assert_eq!(
        cells(&d),
        vec![c("1", "10", 2.5), c("1", "11", 0.0), c("2", "10", 1.0)]
    );
    assert_eq!(d.row_timestamps(0), Some(&[100i64, 50][..]));
    let (d, _) = ok("x.txt", "# comment\n  u1   i1  3\n\nu2 i1 4  \n");
    assert_eq!(cells(&d), vec![c("u1", "i1", 3.0), c("u2", "i1", 4.0)]);
}

#[test]
fn header_is_detected() {
    let (d, r) = ok("x.csv", "user_id,item_id,weight\n1,2,3\n");
    assert!(r.header);
    assert_eq!(cells(&d), vec![c("1", "2", 3.0)]);
    let (_, r) = ok("x.csv", "User,Item\n1,2\n");
    assert!(r.header);
    let (d, r) = ok("x.csv", "alice,book\n");
    assert!(!r.header);
    assert_eq!(d.nnz(), 1);
}

#[test]
fn movielens_u_data() {
    let (d, r) = ok(
        "u.data",
        "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n",
    );
    assert_eq!(r.format, Format::MovieLensData);
    assert_eq!(
        cells(&d),
        vec![
            c("186", "302", 3.0),
            c("196", "242", 3.0),
            c("196", "302", 5.0)
        ]
    );
    assert!(d.timestamps.is_some());
    let e = load_str("u.data", "196\t242\t3\n", LoadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("expected 4"), "{e}");
}

#[test]
fn movielens_ratings_csv() {
    let content = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,964981247\n2,1,2.5,964982224\n";
    let (d, r) = ok("ratings.csv", content);
    assert_eq!(r.format, Format::MovieLensCsv);
    assert!(r.header);
    assert_eq!(d.nnz(), 3);
    // Thresholded into implicit feedback.
    let opts = LoadOptions {
        min_value: Some(3.5),
        ..LoadOptions::default()
    };
    let (d, r) = load_str("ratings.csv", content, opts).unwrap();
    assert_eq!((d.nnz(), r.dropped_by_threshold, d.n_users()), (2, 1, 1));
    // The explicit format insists on the header.
    let opts = LoadOptions {
        format: Format::MovieLensCsv,
        ..LoadOptions::default()
    };
    assert!(load_str("r.csv", "1,1,4.0,964982703\n", opts).is_err());
}

#[test]
fn matrix_market_real_integer_pattern() {
    let real = "%%MatrixMarket matrix coordinate real general\n% a comment\n3 4 3\n1 1 2.5\n3 4 1\n1 1 0.5\n";
    let (d, r) = ok("m.mtx", real);
    assert_eq!(r.format, Format::MatrixMarket);
    assert_eq!((d.n_users(), d.n_items(), d.nnz()), (3, 4, 2));
    assert_eq!(cells(&d), vec![c("1", "1", 3.0), c("3", "4", 1.0)]);
    let (d, _) = ok(
        "m.txt",
        "%%MatrixMarket matrix coordinate integer general\n2 2 1\n2 1 7\n",
    );
    assert_eq!(cells(&d), vec![c("2", "1", 7.0)]);
    let (d, _) = ok(
        "m.mtx",
        "%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 2\n",
    );
    assert_eq!(d.users.values, vec![1.0, 1.0]);
}

#[test]
fn matrix_market_bad_inputs() {
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real symmetric\n1 1 1\n1 1 1\n",
        1,
        "symmetry",
    );
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix array real general\n1 1\n1\n",
        1,
        "only 'coordinate'",
    );
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real general\n2 x 1\n",
        2,
        "bad size line",
    );
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n",
        3,
        "row index 3 outside 1..=2",
    );
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real general\n2 2 1\n0 1 1\n",
        3,
        "row index 0",
    );
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n",
        3,
        "1 of the 2 entries",
    );
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n2 2 1\n",
        4,
        "more entries",
    );
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1\n",
        3,
        "missing value",
    );
}

#[test]
fn explicit_format_overrides_detection() {
    let opts = LoadOptions {
        format: Format::Triplets,
        ..LoadOptions::default()
    };
    let (d, r) = load_str("u.data", "a b\n", opts).unwrap();
    assert_eq!((r.format, d.nnz()), (Format::Triplets, 1));
    assert_eq!("mtx".parse::<Format>().unwrap(), Format::MatrixMarket);
    assert!("xml".parse::<Format>().is_err());
}

// ---- one test per bad-input rule ----

#[test]
fn malformed_line_names_file_and_line() {
    parse_error("x.csv", "a,b,1\nc\n", 2, "missing item field");
}

#[test]
fn too_many_fields() {
    parse_error("x.csv", "a,b,1,5,extra\n", 1, "at most 4");
}

#[test]
fn unparsable_value() {
    parse_error("x.csv", "a,b,1\na,c,lots\n", 2, "unparsable value 'lots'");
}

#[test]
fn unparsable_timestamp() {
    parse_error(
        "x.csv",
        "a,b,1,100\na,c,1,yesterday\n",
        2,
        "unparsable timestamp",
    );
}

#[test]
fn nan_value() {
    parse_error("x.csv", "a,b,1\na,c,NaN\n", 2, "is NaN");
}

#[test]
fn infinite_value() {
    parse_error("x.csv", "a,b,inf\n", 1, "infinite");
    parse_error("x.csv", "a,b,1e39\n", 1, "infinite");
}

#[test]
fn negative_value() {
    parse_error("x.csv", "a,b,1\na,c,-2\n", 2, "negative");
}

#[test]
fn empty_id() {
    parse_error("x.csv", "a,b\n,c\n", 2, "empty user id");
}

#[test]
fn mixed_timestamp_presence() {
    parse_error("x.csv", "a,b,1,100\na,c,1\n", 2, "missing timestamp");
}

#[test]
fn invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, b"a,b\n\xff\xfe,c\n").unwrap();
    let e = load(&path, &LoadOptions::default()).unwrap_err();
    assert!(
        e.to_string().ends_with(":2: line is not valid UTF-8"),
        "{e}"
    );
}

#[test]
fn skip_bad_lines_counts_them() {
    let opts = LoadOptions {
        skip_bad_lines: true,
        ..LoadOptions::default()
    };
    let (d, r) = load_str("x.csv", "a,b,1\nbroken\na,c,NaN\nb,c,-1\nb,b,2\n", opts).unwrap();
    assert_eq!((r.skipped, r.kept, r.lines), (3, 2, 5));
    assert!(
        r.first_skipped
            .as_deref()
            .unwrap()
            .contains(":2: missing item field")
    );
    assert_eq!(cells(&d), vec![c("a", "b", 1.0), c("b", "b", 2.0)]);
}

#[test]
fn empty_input_is_an_error() {
    for content in ["", "\n\n# only comments\n", "user,item,value\n"] {
        let e = load_str("x.csv", content, LoadOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{e:?}");
        assert!(e.to_string().contains("no interactions"), "{e}");
    }
    let opts = LoadOptions {
        skip_bad_lines: true,
        ..LoadOptions::default()
    };
    let e = load_str("x.csv", "bad\n", opts).unwrap_err();
    assert!(e.to_string().contains("malformed"), "{e}");
    let e = load_str("m.mtx", "", LoadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no interactions"), "{e}");
}

#[test]
fn threshold_drops_values_below_min_value() {
    let opts = LoadOptions {
        min_value: Some(3.0),
        ..LoadOptions::default()
    };
    let (d, r) = load_str("x.csv", "a,x,5\nb,y,2\na,z,3\n", opts).unwrap();
    assert_eq!(cells(&d), vec![c("a", "x", 5.0), c("a", "z", 3.0)]);
    assert_eq!((r.kept, r.dropped_by_threshold), (2, 1));
    // A user whose every rating is dropped is not in the id maps.
    assert_eq!((d.n_users(), d.n_items()), (1, 2));
    let e = load_str("x.csv", "a,x,1\n", opts).unwrap_err();
    assert!(e.to_string().contains("below the threshold"), "{e}");
}

#[test]
fn missing_file_is_an_io_error() {
    let e = load(Path::new("/nonexistent/dir/x.csv"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/dir/x.csv"));
}

#[test]
fn crlf_line_endings() {
    let (d, _) = ok("x.csv", "user,item\r\na,b\r\n");
    assert_eq!(cells(&d), vec![c("a", "b", 1.0)]);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use wmf_host::io::load_from;

    fn any_format() -> impl Strategy<Value = Format> {
        prop_oneof![
            Just(Format::Auto),
            Just(Format::Triplets),
            Just(Format::MovieLensData),
            Just(Format::MovieLensCsv),
            Just(Format::MatrixMarket),
        ]
    }

    proptest! {
        /// No input makes a reader panic; whatever loads is a valid CSR with
        /// finite, non-negative values.
        #[test]
        fn readers_never_panic(
            body in "(%%MatrixMarket matrix coordinate (real|pattern) general\n)?[0-9a-c ,\t.:eE+\\-\"%\n]{0,200}",
            format in any_format(),
            skip in any::<bool>(),
            min in proptest::option::of(0.0f32..3.0),
        ) {
            let opts = LoadOptions { format, min_value: min, skip_bad_lines: skip, ..LoadOptions::default() };
            if let Ok((d, r)) = load_from(body.as_bytes(), Path::new("fuzz.csv"), None, &opts) {
                let u = &d.users;
                prop_assert_eq!(u.indptr.len(), u.nrows + 1);
                prop_assert_eq!(*u.indptr.last().unwrap() as usize, u.nnz());
                for i in 0..u.nrows {
                    prop_assert!(u.row(i).0.windows(2).all(|w| w[0] < w[1]));
                }
                prop_assert!(u.indices.iter().all(|&j| (j as usize) < u.ncols));
                prop_assert!(u.values.iter().all(|v| v.is_finite() && *v >= 0.0));
                prop_assert_eq!(r.kept as usize, d.nnz() + r.duplicates_merged as usize);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), skip in any::<bool>()) {
            let opts = LoadOptions { skip_bad_lines: skip, ..LoadOptions::default() };
            let _ = load_from(&bytes[..], Path::new("fuzz.bin"), Some(bytes.len() as u64), &opts);
        }
    }
}

#[test]
fn matrix_market_implausible_size_line() {
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real general\n900000000 5 1\n1 1 1\n",
        2,
        "implausible shape",
    );
    parse_error(
        "m.mtx",
        "%%MatrixMarket matrix coordinate real general\n5 5 1000000\n1 1 1\n",
        2,
        "only",
    );
}

/// Reading a file in pieces (distributed loading) sees the same interactions
/// and names the same file lines in errors as reading it whole.
#[test]
fn pieces_match_whole_file() {
    use wmf_host::io::{LoadOptions, load_piece, probe_triplets};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.csv");
    let mut text = String::from("user,item,value\n");
    for t in 0..60 {
        text.push_str(&format!("u{},i{},{}\n", t % 7, t % 11, 1 + t % 3));
    }
    std::fs::write(&path, &text).unwrap();
    let opts = LoadOptions::default();
    let (whole, _) = wmf_host::io::load(&path, &opts).unwrap();
    let dialect = probe_triplets(&path, &opts).unwrap();
    assert_eq!(dialect.first_data_line(), Some(1));
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut kept = 0;
    let mut first = 1u64;
    for chunk in lines.chunks(17) {
        let bytes = chunk.concat();
        let piece = load_piece(
            bytes.as_bytes(),
            &path,
            Some(bytes.len() as u64),
            &opts,
            &dialect,
            first,
        )
        .unwrap();
        kept += piece.records.len();
        assert_eq!(piece.report.lines, chunk.len() as u64);
        first += chunk.len() as u64;
    }
    assert_eq!(kept, 60);
    assert_eq!(whole.users.values.iter().sum::<f32>(), 120.0);
    let err = load_piece("u1,i1,-2\n".as_bytes(), &path, Some(9), &opts, &dialect, 40).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("p.csv:40: value '-2' is negative (values must be >= 0)"),
        "{err}"
    );
}
