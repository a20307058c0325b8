//! Measures the triplet reader: `load_stats gen FILE [NNZ]` writes a synthetic
//! triplet file; `load_stats load FILE [THREADS]` loads it (on up to `THREADS`
//! threads, default one per core) and prints the time, the peak resident
//! memory above the starting point and the bytes per interaction (Linux: read
//! from `/proc/self/status`). Run in release, one step per process.

use std::path::Path;
use std::time::Instant;

use wmf_host::io::{LoadOptions, load};
use wmf_host::synth::{SynthConfig, generate, write_triplets};

fn status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (cmd, file) = match (args.get(1), args.get(2)) {
        (Some(c), Some(f)) => (c.as_str(), Path::new(f)),
        _ => anyhow::bail!("usage: load_stats gen FILE [NNZ] | load FILE [THREADS]"),
    };
    match cmd {
        "gen" => {
            let nnz: usize = args.get(3).map_or(Ok(2_000_000), |s| s.parse())?;
            let cfg = SynthConfig {
                users: nnz / 40,
                items: nnz / 80,
                nnz,
                ..SynthConfig::default()
            };
            let t = Instant::now();
            let s = generate(&cfg)?;
            let gen_s = t.elapsed().as_secs_f64();
            write_triplets(file, &s.data, true)?;
            println!(
                "generated {} interactions ({} x {}) in {gen_s:.3} s, written in {:.3} s",
                s.data.nnz(),
                s.data.n_users(),
                s.data.n_items(),
                t.elapsed().as_secs_f64() - gen_s
            );
        }
        "load" => {
            let opts = LoadOptions {
                threads: args.get(3).map_or(Ok(0), |s| s.parse())?,
                ..LoadOptions::default()
            };
            let base = status_kib("VmRSS:").unwrap_or(0);
            let t = Instant::now();
            let (d, r) = load(file, &opts)?;
            let secs = t.elapsed().as_secs_f64();
            let peak = status_kib("VmHWM:").unwrap_or(0).saturating_sub(base) * 1024;
            let now = status_kib("VmRSS:").unwrap_or(0).saturating_sub(base) * 1024;
            let nnz = d.nnz() as f64;
            println!(
                "loaded {} lines -> {} interactions ({} users, {} items, timestamps: {}) in {secs:.3} s ({:.2} M lines/s)",
                r.lines,
                d.nnz(),
                d.n_users(),
                d.n_items(),
                d.timestamps.is_some(),
                r.lines as f64 / secs / 1e6
            );
            println!(
                "peak RSS above start: {:.1} MiB = {:.1} bytes/interaction; resident after load: {:.1} bytes/interaction",
                peak as f64 / 1048576.0,
                peak as f64 / nnz,
                now as f64 / nnz
            );
            let t = Instant::now();
            let items = d.items();
            println!(
                "item CSR (transpose) in {:.3} s; resident with both CSRs: {:.1} bytes/interaction",
                t.elapsed().as_secs_f64(),
                status_kib("VmRSS:").unwrap_or(0).saturating_sub(base) as f64 * 1024.0 / nnz
            );
            drop(items);
        }
        _ => anyhow::bail!("unknown command {cmd}"),
    }
    Ok(())
}
