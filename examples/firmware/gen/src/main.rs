//! `wmf-fw-gen`: the host side of the on-device test.
//!
//! ```text
//! wmf-fw-gen model   --n N --k K [--seed S] --out FILE.wmfb   deterministic WMFB model
//! wmf-fw-gen expect  --blob FILE.wmfb --out FILE.txt          host answer (same kernel calls, f32)
//! wmf-fw-gen header  --n N | --blob FILE.wmfb --out user.h    the test user, for the C firmware
//! wmf-fw-gen compare EXPECTED.txt ACTUAL.txt                  firmware output vs host answer
//! ```
//!
//! `expect` runs [`wmf_fw_scenario::run`], the very function the Rust firmware
//! runs, on x86-64; it also checks the CG fold-in (100 interactions) and the
//! low-rank fold-in (the first 10) against `f64` Cholesky solves of the same
//! rows, as a check of the model and of the scenario's mathematics. Any blob in the WMFB
//! format works, whether written by `model` or by `wmf export --format blob`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use wmf_fw_scenario::{
    LAMBDA, LOW_RANK_N, N_SEEN, Outputs, Ram, blob, new_interactions, parse_blob, run, user,
};
use wmf_kernel::{Baseline, Factors, Items, Row};

/// Relative tolerance of every comparison: `|actual − expected| <= TOL · max|expected|`
/// per vector (f32 on both sides, same operation order; in practice the two are bit-identical).
const TOL: f64 = 1e-4;

type Res<T> = Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run_cli(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wmf-fw-gen: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_cli(args: &[String]) -> Res<ExitCode> {
    let (cmd, rest) = args
        .split_first()
        .ok_or("usage: wmf-fw-gen model|expect|header|compare ...")?;
    match cmd.as_str() {
        "model" => {
            let n = opt(rest, "--n")?.parse().map_err(|e| format!("--n: {e}"))?;
            let k = opt(rest, "--k")?.parse().map_err(|e| format!("--k: {e}"))?;
            let seed = match opt(rest, "--seed") {
                Ok(s) => s.parse().map_err(|e| format!("--seed: {e}"))?,
                Err(_) => 2008,
            };
            let out = PathBuf::from(opt(rest, "--out")?);
            let bytes = make_model(n, k, seed)?;
            write_out(&out, bytes)?;
            Ok(ExitCode::SUCCESS)
        }
        "expect" => {
            let path = PathBuf::from(opt(rest, "--blob")?);
            let out = PathBuf::from(opt(rest, "--out")?);
            let report = expect(&path)?;
            write_out(&out, report)?;
            Ok(ExitCode::SUCCESS)
        }
        "header" => {
            let n = match opt(rest, "--blob") {
                Ok(p) => {
                    let path = PathBuf::from(p);
                    let words = read_aligned(&path)?;
                    parse_blob(bytemuck::cast_slice(&words))
                        .map_err(|e| format!("{}: {e}", path.display()))?
                        .n
                }
                Err(_) => opt(rest, "--n")?.parse().map_err(|e| format!("--n: {e}"))?,
            };
            let out = PathBuf::from(opt(rest, "--out")?);
            write_out(&out, c_header(n)?)?;
            Ok(ExitCode::SUCCESS)
        }
        "compare" => match rest {
            [e, a] => compare(&PathBuf::from(e), &PathBuf::from(a)),
            _ => Err("usage: wmf-fw-gen compare EXPECTED ACTUAL".into()),
        },
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Writes `bytes` to `path`, creating its directory.
fn write_out(path: &PathBuf, bytes: impl AsRef<[u8]>) -> Res<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn opt<'a>(args: &'a [String], name: &str) -> Res<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .ok_or_else(|| format!("missing {name} VALUE"))
}

/// SplitMix64: a tiny, seedable, portable generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 24 random bits (exact in f32).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A deterministic model: `H_jf` uniform in `[-0.3, 0.3)` plus a per-item
/// popularity offset on factor 0, `c0_j` uniform in `[0.5, 1)`, and
/// `G0 = Hᵀ diag(c0) H` from the kernel's `gramian` in `f64`, rounded to `f32`.
/// Laid out exactly as the WMFB spec, CRC by `crc32fast`.
fn make_model(n: usize, k: usize, seed: u64) -> Res<Vec<u8>> {
    let mut rng = SplitMix(seed ^ ((n as u64) << 32) ^ k as u64);
    let mut h = vec![0f32; n * k];
    for (j, row) in h.chunks_exact_mut(k).enumerate() {
        for v in row.iter_mut() {
            *v = 0.6 * rng.unit() - 0.3;
        }
        row[0] += 0.2 * ((j % 17) as f32 / 17.0);
    }
    let c0: Vec<f32> = (0..n).map(|_| 0.5 + 0.5 * rng.unit()).collect();
    let h64: Vec<f64> = h.iter().map(|&v| f64::from(v)).collect();
    let c064: Vec<f64> = c0.iter().map(|&v| f64::from(v)).collect();
    let mut g64 = vec![0f64; k * k];
    let factors = Factors::new(&h64, n, k).map_err(|e| format!("model: {e}"))?;
    wmf_kernel::gramian(&factors, Baseline::PerItem(&c064), &mut g64)
        .map_err(|e| format!("gramian: {e}"))?;
    let g0: Vec<f32> = g64.iter().map(|&v| v as f32).collect();

    let mut out = Vec::with_capacity(blob::blob_len(n, k).ok_or("model too large")?);
    out.extend_from_slice(&blob::MAGIC);
    for v in [blob::VERSION, n as u32, k as u32, blob::DTYPE_F32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in h.iter().chain(&g0).chain(&c0) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Reads a blob into 4-byte-aligned memory.
fn read_aligned(path: &PathBuf) -> Res<Vec<u32>> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "{}: length {} is not a multiple of 4",
            path.display(),
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn expect(path: &PathBuf) -> Res<String> {
    let words = read_aligned(path)?;
    let bytes: &[u8] = bytemuck::cast_slice(&words);
    let m = parse_blob(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut report = String::new();
    macro_rules! go {
        ($($k:literal)*) => {
            match m.k {
                $($k => {
                    let ram = Ram {
                        a: &mut [0f32; $k * $k],
                        b: &mut [0f32; $k],
                        l: &mut [0f32; $k * $k],
                        hw: &mut vec![0f32; m.n * $k],
                        low_rank: &mut [0f32; wmf_kernel::low_rank_scratch_len(LOW_RANK_N, $k)],
                    };
                    let out: Outputs<$k> = run::<$k>(bytes, ram, &mut ())
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    sanity_f64(&m, &out.fold[2], N_SEEN, "CG")?;
                    sanity_f64(&m, &out.low_rank, LOW_RANK_N, "low-rank")?;
                    out.write_report(&mut report).map_err(|e| e.to_string())?;
                })*
                k => return Err(format!("{}: k = {k} not built into wmf-fw-gen (8, 16, 32, 64)", path.display())),
            }
        };
    }
    go!(8 16 32 64);
    Ok(report)
}

/// An f32 fold-in of the user's first `n_u` interactions (`what`: its method)
/// must agree with an f64 Cholesky solve of the same row to `1e-3` relative
/// (f32 rounding in `G0` and in the method) — guards against a model or a
/// scenario where the comparison would be meaningless, and checks that the
/// method solves the row's normal equations.
fn sanity_f64(m: &blob::Model<'_>, got: &[f32], n_u: usize, what: &str) -> Res<()> {
    let h: Vec<f64> = m.h.iter().map(|&v| f64::from(v)).collect();
    let g0: Vec<f64> = m.g0.iter().map(|&v| f64::from(v)).collect();
    let c0: Vec<f64> = m.c0.iter().map(|&v| f64::from(v)).collect();
    let items = Items::new(
        Factors::new(&h, m.n, m.k).map_err(|e| e.to_string())?,
        &g0,
        Baseline::PerItem(&c0),
    )
    .map_err(|e| e.to_string())?;
    let (seen, conf) = user(m.n).map_err(|e| e.to_string())?;
    let conf: Vec<f64> = conf.iter().map(|&c| f64::from(c)).collect();
    let mut a = vec![0f64; m.k * m.k];
    let mut x = vec![0f64; m.k];
    wmf_kernel::solve_row_cholesky(
        &items,
        &Row::implicit(&seen[..n_u], &conf[..n_u]),
        f64::from(LAMBDA),
        &mut a,
        &mut x,
    )
    .map_err(|e| format!("f64 reference: {e}"))?;
    let scale = x.iter().fold(0f64, |s, v| s.max(v.abs()));
    let err = got
        .iter()
        .zip(&x)
        .fold(0f64, |s, (c, r)| s.max((f64::from(*c) - r).abs()));
    if err > 1e-3 * scale {
        return Err(format!(
            "f32 {what} fold-in ({n_u} interactions) differs from the f64 Cholesky solve by {err:e} (scale {scale:e})"
        ));
    }
    eprintln!(
        "wmf-fw-gen: k = {}: f32 {what} fold-in ({n_u} interactions) vs f64 Cholesky: max |dx| = {err:.3e} (max |x| = {scale:.3e})",
        m.k
    );
    Ok(())
}

fn c_header(n: usize) -> Res<String> {
    let (seen, conf) = user(n).map_err(|e| e.to_string())?;
    let new = new_interactions(n, &seen);
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "/* The on-device test user (generated by wmf-fw-gen header --n {n}; see\n * examples/firmware/scenario/src/lib.rs). Do not edit. */"
    );
    let _ = writeln!(
        w,
        "#ifndef WMF_FW_USER_H\n#define WMF_FW_USER_H\n#include <stdint.h>"
    );
    let _ = writeln!(w, "#define WMF_FW_N_ITEMS {n}u");
    let _ = writeln!(w, "#define WMF_FW_N_SEEN {N_SEEN}u");
    let _ = writeln!(w, "#define WMF_FW_LAMBDA {:.9e}f", LAMBDA);
    let _ = writeln!(w, "#define WMF_FW_CG_TOL {:e}", wmf_fw_scenario::CG_TOL);
    let _ = writeln!(
        w,
        "#define WMF_FW_UPDATE_SWEEPS {}u",
        wmf_fw_scenario::UPDATE_SWEEPS
    );
    let _ = writeln!(w, "#define WMF_FW_TOP {}u", wmf_fw_scenario::TOP);
    let _ = write!(w, "static const uint32_t wmf_fw_seen[{N_SEEN}] = {{");
    for (i, j) in seen.iter().enumerate() {
        let _ = write!(w, "{}{j}u", if i % 10 == 0 { "\n    " } else { " " });
        let _ = write!(w, ",");
    }
    let _ = writeln!(w, "\n}};");
    let _ = write!(w, "static const float wmf_fw_conf[{N_SEEN}] = {{");
    for (i, c) in conf.iter().enumerate() {
        let _ = write!(w, "{}{c:.9e}f,", if i % 8 == 0 { "\n    " } else { " " });
    }
    let _ = writeln!(w, "\n}};");
    let _ = writeln!(
        w,
        "static const uint32_t wmf_fw_new_items[2] = {{{}u, {}u}};",
        new[0].0, new[1].0
    );
    let _ = writeln!(
        w,
        "static const float wmf_fw_new_conf[2] = {{{:.9e}f, {:.9e}f}};",
        new[0].1, new[1].1
    );
    let _ = writeln!(w, "#endif");
    Ok(s)
}

/// One parsed report line: the tag and its fields.
fn lines(text: &str) -> Vec<(&str, Vec<&str>)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            it.next().map(|t| (t, it.collect()))
        })
        .collect()
}

fn hex_f32(s: &str) -> Res<f32> {
    u32::from_str_radix(s, 16)
        .map(f32::from_bits)
        .map_err(|e| format!("bad f32 bits {s:?}: {e}"))
}

/// Vectors (and top-10 scores) within [`TOL`] of the vector's max-norm, top-10
/// items identical, `MODEL` and `NEW` identical. Tags the firmware does not print
/// (`CHOL` in the C build) are skipped unless required.
fn compare(expected: &PathBuf, actual: &PathBuf) -> Res<ExitCode> {
    let read =
        |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let (e_text, a_text) = (read(expected)?, read(actual)?);
    let (e_lines, a_lines) = (lines(&e_text), lines(&a_text));
    fn find<'t>(ls: &[(&'t str, Vec<&'t str>)], tag: &str) -> Option<Vec<&'t str>> {
        ls.iter().find(|(t, _)| *t == tag).map(|(_, f)| f.clone())
    }
    const REQUIRED: [&str; 6] = ["MODEL", "FOLD100", "LOWRANK10", "UPD1", "UPD2", "TOP"];
    const VECTORS: [&str; 7] = [
        "FOLD10",
        "FOLD50",
        "FOLD100",
        "CHOL",
        "LOWRANK10",
        "UPD1",
        "UPD2",
    ];
    let mut failures = Vec::new();
    let (mut worst, mut same, mut total) = (0f64, 0usize, 0usize);
    // Every line in report order: the two exact ones, the vectors, the list.
    for tag in ["MODEL", "NEW"].into_iter().chain(VECTORS).chain(["TOP"]) {
        let Some(ef) = find(&e_lines, tag) else {
            return Err(format!("{}: no {tag} line", expected.display()));
        };
        let Some(af) = find(&a_lines, tag) else {
            if REQUIRED.contains(&tag) {
                failures.push(format!("{tag}: missing from firmware output"));
            }
            continue;
        };
        if tag == "MODEL" || tag == "NEW" {
            if ef != af {
                failures.push(format!("{tag}: expected {ef:?}, got {af:?}"));
            }
            continue;
        }
        let (ev, av, eitems, aitems) = if VECTORS.contains(&tag) {
            let ev = ef.iter().map(|s| hex_f32(s)).collect::<Res<Vec<_>>>()?;
            let av = af.iter().map(|s| hex_f32(s)).collect::<Res<Vec<_>>>()?;
            (ev, av, vec![], vec![])
        } else {
            let split = |f: &[&str]| -> Res<(Vec<String>, Vec<f32>)> {
                let mut items = Vec::new();
                let mut scores = Vec::new();
                for p in f {
                    let (i, s) = p
                        .split_once(':')
                        .ok_or_else(|| format!("TOP: bad field {p:?}"))?;
                    items.push(i.to_string());
                    scores.push(hex_f32(s)?);
                }
                Ok((items, scores))
            };
            let (ei, es) = split(&ef)?;
            let (ai, as_) = split(&af)?;
            (es, as_, ei, ai)
        };
        if eitems != aitems {
            failures.push(format!("{tag}: items {aitems:?}, expected {eitems:?}"));
        }
        if ev.len() != av.len() {
            failures.push(format!("{tag}: {} values, expected {}", av.len(), ev.len()));
            continue;
        }
        let scale = ev
            .iter()
            .fold(0f64, |s, v| s.max(f64::from(v.abs())))
            .max(1e-30);
        for (i, (e, a)) in ev.iter().zip(&av).enumerate() {
            total += 1;
            same += usize::from(e.to_bits() == a.to_bits());
            let rel = (f64::from(*e) - f64::from(*a)).abs() / scale;
            worst = worst.max(rel);
            if rel.is_nan() || rel > TOL {
                failures.push(format!(
                    "{tag}[{i}]: {a:e}, expected {e:e} (rel {rel:.2e} > {TOL:e})"
                ));
            }
        }
    }
    if failures.is_empty() {
        println!(
            "compare {}: ok (max rel diff {worst:.2e}, {same}/{total} values bit-identical, tolerance {TOL:e})",
            actual.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &failures {
            println!("compare {}: MISMATCH {f}", actual.display());
        }
        Ok(ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tableless_crc_matches_crc32fast() {
        let mut rng = SplitMix(1);
        let data: Vec<u8> = (0..1000).map(|_| rng.next() as u8).collect();
        for len in [0, 1, 3, 64, 1000] {
            assert_eq!(
                wmf_fw_scenario::crc32(&data[..len]),
                crc32fast::hash(&data[..len])
            );
        }
    }

    #[test]
    fn blob_round_trip_and_corruption() {
        let bytes = make_model(3000, 8, 7).unwrap();
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let view: &[u8] = bytemuck::cast_slice(&words);
        blob::check_crc(view).unwrap();
        let m = parse_blob(view).unwrap();
        assert_eq!(
            (m.n, m.k, m.h.len(), m.g0.len(), m.c0.len()),
            (3000, 8, 24000, 64, 3000)
        );
        let mut bad = words.clone();
        bad[10] ^= 1;
        assert!(matches!(
            blob::check_crc(bytemuck::cast_slice(&bad)),
            Err(blob::BlobError::BadCrc { .. })
        ));
        let mut bad = words.clone();
        bad[1] = 2u32.to_le();
        assert_eq!(
            parse_blob(bytemuck::cast_slice(&bad)).unwrap_err(),
            blob::BlobError::BadVersion { version: 2 }
        );
        assert!(matches!(
            parse_blob(&view[..view.len() - 4]),
            Err(blob::BlobError::LengthMismatch { .. })
        ));
        let mut bad = words;
        bad[0] = 0;
        assert_eq!(
            parse_blob(bytemuck::cast_slice(&bad)).unwrap_err(),
            blob::BlobError::BadMagic
        );
    }

    #[test]
    fn scenario_runs_on_host() {
        let bytes = make_model(3000, 16, 2008).unwrap();
        let dir = std::env::temp_dir().join(format!("wmf-fw-gen-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.wmfb");
        std::fs::write(&p, bytes).unwrap();
        let report = expect(&p).unwrap();
        assert!(report.starts_with("MODEL n=3000 k=16\n"));
        assert_eq!(report.lines().filter(|l| l.starts_with("TOP ")).count(), 1);
        let e = dir.join("e.txt");
        std::fs::write(&e, &report).unwrap();
        assert_eq!(compare(&e, &e).unwrap(), ExitCode::SUCCESS);
        let a = dir.join("a.txt");
        std::fs::write(&a, report.replace("TOP ", "TOP 1:3f800000 ")).unwrap();
        assert_eq!(compare(&e, &a).unwrap(), ExitCode::FAILURE);
        // The low-rank fold-in: required, and compared value by value.
        let low_rank = report
            .lines()
            .find(|l| l.starts_with("LOWRANK10 "))
            .expect("a LOWRANK10 line");
        assert_eq!(low_rank.split_whitespace().count(), 1 + 16);
        let without: String = report
            .lines()
            .filter(|l| !l.starts_with("LOWRANK10 "))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&a, without).unwrap();
        assert_eq!(compare(&e, &a).unwrap(), ExitCode::FAILURE);
        let first = low_rank.split_whitespace().nth(1).unwrap();
        let off = format!(
            "{:08x}",
            hex_f32(first).unwrap().mul_add(1.5, 1.0).to_bits()
        );
        std::fs::write(
            &a,
            report.replacen(
                &format!("LOWRANK10 {first}"),
                &format!("LOWRANK10 {off}"),
                1,
            ),
        )
        .unwrap();
        assert_eq!(compare(&e, &a).unwrap(), ExitCode::FAILURE);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
