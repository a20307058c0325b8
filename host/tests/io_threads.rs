//! Reading one file on several threads ([`load_in_pieces`], and [`load`]
//! when a file is large enough) gives exactly what one thread gives: the
//! same ids in the same order, the same CSR, timestamps and report; and a
//! file that one thread would reject or report on line by line is handed to
//! one thread, so its errors name the same lines.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng, rngs::StdRng};

use wmf_host::data::Dataset;
use wmf_host::ids::MAX_IDS;
use wmf_host::io::{
    Format, LoadOptions, LoadReport, PIECE_MIN_BYTES, load, load_from_limited, load_in_pieces,
    load_limited,
};

/// How a generated file looks.
#[derive(Debug, Clone, Copy)]
struct Shape {
    delim: &'static str,
    header: bool,
    timestamps: bool,
    /// Comments, blank lines, CRLF endings, quoted and padded ids.
    noise: bool,
    /// String ids (`u17`) instead of integers (with `07` / `+7` spellings).
    strings: bool,
    lines: usize,
    seed: u64,
}

fn text(s: Shape) -> String {
    let mut rng = StdRng::seed_from_u64(s.seed);
    let mut out = String::new();
    if s.header {
        out.push_str(if s.timestamps {
            "user,item,value,time\n"
        } else {
            "user,item,value\n"
        });
        if s.delim != "," {
            out = out.replace(',', s.delim);
        }
    }
    let id = |rng: &mut StdRng, prefix: &str, n: u64| {
        // Popular ids early and late, so later pieces meet both old and new ids.
        let x = rng.gen_range(0..n).min(rng.gen_range(0..n));
        if s.strings {
            format!("{prefix}{x}")
        } else {
            match rng.gen_range(0..16) {
                0 => format!("0{x}"),
                1 => format!("+{x}"),
                _ => x.to_string(),
            }
        }
    };
    for t in 0..s.lines {
        if s.noise {
            match rng.gen_range(0..40) {
                0 => out.push_str("# a comment\n"),
                1 => out.push('\n'),
                2 => out.push_str("% another\r\n"),
                _ => {}
            }
        }
        let mut u = id(&mut rng, "u", 300);
        let mut i = id(&mut rng, "i", 120);
        if s.noise && rng.gen_range(0..10) == 0 {
            u = format!("\"{u}\"");
        }
        if s.noise && rng.gen_range(0..10) == 0 {
            i = format!(" {i} ");
        }
        let v = match rng.gen_range(0..4) {
            0 => "1".to_string(),
            1 => "0".to_string(),
            2 => format!("{}.5", rng.gen_range(0..5)),
            _ => format!("{}", 1 + rng.gen_range(0..9)),
        };
        out.push_str(&u);
        out.push_str(s.delim);
        out.push_str(&i);
        out.push_str(s.delim);
        out.push_str(&v);
        if s.timestamps {
            out.push_str(s.delim);
            out.push_str(&(1_000_000 + t as u64 * 7 + rng.gen_range(0..5)).to_string());
        }
        out.push_str(if s.noise && rng.gen_range(0..5) == 0 {
            "\r\n"
        } else {
            "\n"
        });
    }
    out
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn one_thread(
    path: &Path,
    opts: &LoadOptions,
    max_ids: usize,
) -> wmf_host::Result<(Dataset, LoadReport)> {
    let f = std::fs::File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    load_from_limited(std::io::BufReader::new(f), path, Some(size), opts, max_ids)
}

fn shapes() -> Vec<Shape> {
    let mut v = Vec::new();
    let mut seed = 1;
    for delim in [",", "\t", " ", "::"] {
        for (header, timestamps, noise, strings) in [
            (false, false, false, false),
            (true, false, true, true),
            (false, true, true, false),
            (true, true, false, true),
        ] {
            v.push(Shape {
                delim,
                header,
                timestamps,
                noise,
                strings,
                lines: 400 + 97 * (seed as usize % 5),
                seed,
            });
            seed += 1;
        }
    }
    v
}

#[test]
fn every_piece_count_gives_the_one_thread_result() {
    let dir = tempfile::tempdir().unwrap();
    for shape in shapes() {
        let path = write(dir.path(), "data.csv", &text(shape));
        for min_value in [None, Some(1.0)] {
            let opts = LoadOptions {
                min_value,
                ..LoadOptions::default()
            };
            let want = one_thread(&path, &opts, MAX_IDS).unwrap();
            for pieces in 1..=7 {
                let got = load_in_pieces(&path, &opts, MAX_IDS, pieces)
                    .unwrap_or_else(|| panic!("{shape:?} {pieces} pieces: no result"));
                assert_eq!(got, want, "{shape:?}, {pieces} pieces, min {min_value:?}");
            }
        }
    }
}

#[test]
fn movielens_formats_in_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let shape = Shape {
        delim: ",",
        header: true,
        timestamps: true,
        noise: false,
        strings: false,
        lines: 700,
        seed: 99,
    };
    let csv = text(shape).replacen("user,item,value,time", "userId,movieId,rating,timestamp", 1);
    let data = text(Shape {
        delim: "\t",
        header: false,
        ..shape
    });
    for (name, content, format) in [
        ("ratings.csv", csv, Format::MovieLensCsv),
        ("u.data", data, Format::MovieLensData),
    ] {
        let path = write(dir.path(), name, &content);
        let opts = LoadOptions::default();
        let want = one_thread(&path, &opts, MAX_IDS).unwrap();
        assert_eq!(want.1.format, format);
        for pieces in 2..=5 {
            assert_eq!(
                load_in_pieces(&path, &opts, MAX_IDS, pieces),
                Some(want.clone())
            );
        }
    }
    // ratings.csv without its header: the first piece finds out.
    let path = write(dir.path(), "r.csv", "1,2,3.5,100\n".repeat(300).as_str());
    let opts = LoadOptions {
        format: Format::MovieLensCsv,
        ..LoadOptions::default()
    };
    assert_eq!(load_in_pieces(&path, &opts, MAX_IDS, 3), None);
    assert!(one_thread(&path, &opts, MAX_IDS).is_err());
}

/// A file needing line numbers (an error, a skipped line) or a limit is
/// left to one thread, and `load_limited` then reports what one thread does.
#[test]
fn bad_files_go_to_one_thread_with_the_same_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = text(Shape {
        delim: ",",
        header: true,
        timestamps: false,
        noise: true,
        strings: true,
        lines: 900,
        seed: 7,
    });
    let lines: Vec<&str> = good.split_inclusive('\n').collect();
    let at = lines.len() * 5 / 6;
    let bad = [&lines[..at].concat(), "u1,i2,-3\n", &lines[at..].concat()].concat();
    let path = write(dir.path(), "bad.csv", &bad);
    let many = LoadOptions {
        threads: 4,
        ..LoadOptions::default()
    };
    assert_eq!(load_in_pieces(&path, &many, MAX_IDS, 4), None);
    let one = one_thread(&path, &many, MAX_IDS).unwrap_err().to_string();
    assert_eq!(
        load_limited(&path, &many, MAX_IDS).unwrap_err().to_string(),
        one
    );
    assert!(one.contains(&format!("bad.csv:{}:", at + 1)), "{one}");

    let skip = LoadOptions {
        skip_bad_lines: true,
        ..many
    };
    assert_eq!(load_in_pieces(&path, &skip, MAX_IDS, 4), None);
    let (d, r) = load_limited(&path, &skip, MAX_IDS).unwrap();
    assert_eq!((d, r.clone()), one_thread(&path, &skip, MAX_IDS).unwrap());
    assert_eq!(r.skipped, 1);

    // Each piece under the limit, the file over it: the error names the
    // line of the first id over the limit, as one thread does.
    let ids: String = (0..400).map(|t| format!("u{t},i{},1\n", t % 3)).collect();
    let path = write(dir.path(), "ids.csv", &ids);
    assert_eq!(load_in_pieces(&path, &many, 250, 4), None);
    let one = one_thread(&path, &many, 250).unwrap_err().to_string();
    assert!(one.contains("ids.csv:251:"), "{one}");
    assert_eq!(
        load_limited(&path, &many, 250).unwrap_err().to_string(),
        one
    );
}

/// `load` itself goes to pieces for a file of at least two
/// [`PIECE_MIN_BYTES`], and gets the one-thread result for any thread count.
#[test]
fn load_reads_a_large_file_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    // Grouped by user, as MovieLens files are (the rows are then sorted on
    // the threads too).
    let mut content = String::from("user\titem\tclicks\n");
    let mut rng = StdRng::seed_from_u64(12345);
    let mut u = 0;
    while (content.len() as u64) < 2 * PIECE_MIN_BYTES + 4096 {
        u += rng.gen_range(0..30u64).saturating_sub(28);
        let (i, v) = (rng.gen_range(0..9_000), 1 + rng.gen_range(0..4));
        content.push_str(&format!("u{u}\t{i}\t{v}\n"));
    }
    let path = write(dir.path(), "big.tsv", &content);
    let want = one_thread(&path, &LoadOptions::default(), MAX_IDS).unwrap();
    let two = LoadOptions {
        threads: 2,
        ..LoadOptions::default()
    };
    assert_eq!(load(&path, &two).unwrap(), want);
    // ... and that is the pieces' result, not a fall-back to one thread.
    assert_eq!(load_in_pieces(&path, &two, MAX_IDS, 3), Some(want));
}
