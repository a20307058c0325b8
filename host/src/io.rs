//! Readers for triplet, MovieLens and Matrix Market files into a [`Dataset`].
//!
//! # Formats
//! - [`Format::Triplets`]: one interaction per line, `user,item[,value[,timestamp]]`.
//!   The delimiter is taken from the first data line: `,` if it has one, else
//!   `::` (MovieLens 1M `ratings.dat`), else a tab, else runs of whitespace.
//!   Fields are trimmed; one pair of surrounding double quotes is removed from
//!   ids. Quoted fields containing the delimiter are not supported: the split
//!   halves have unbalanced quotes, and an id that starts or ends with a
//!   double quote without the other is a bad line. User and
//!   item ids are arbitrary text, mapped to dense indices in first-seen order.
//!   The value defaults to 1. A timestamp is an integer (or a finite decimal,
//!   rounded down). Blank lines and lines starting with `#` or `%` are skipped.
//!   If the first data line carries a timestamp, every line must; if it has
//!   none, no line may.
//! - [`Format::MovieLensData`]: MovieLens 100K `u.data`: `user item rating timestamp`
//!   (tab or whitespace), exactly four fields.
//! - [`Format::MovieLensCsv`]: MovieLens `ratings.csv`: header
//!   `userId,movieId,rating,timestamp`, then exactly four comma-separated fields.
//! - [`Format::MatrixMarket`]: `%%MatrixMarket matrix coordinate real|integer|pattern general`,
//!   `%` comments, a size line `m n nnz`, then `nnz` lines `i j [value]` with
//!   1-based indices. The shape is `m x n` as declared; user and item ids are
//!   `"1".."m"` and `"1".."n"`. A `pattern` matrix has value 1 everywhere.
//!   A size line declaring more entries than the file can hold, or more than
//!   `16 nnz + 2^20` rows plus columns, is rejected as corrupt (the id maps
//!   would otherwise be allocated from it).
//!
//! # Header detection (triplets)
//! The first data line is a header when its third field (if any) is not a
//! number, its fourth (if any) is not a timestamp, or its first two fields look
//! like column names (the first starts with `user` or is `u`/`uid`, the second
//! starts with `item`, `movie` or `product`, or is `i`/`iid`), case-insensitive.
//!
//! # Bad input
//! A malformed line stops the load with [`Error::Parse`] naming `file:line` and
//! what was wrong: a missing field, too many fields, an empty id, an unparsable
//! number, a value that is NaN, infinite or negative, a 0 or out-of-range Matrix
//! Market index, invalid UTF-8, a line longer than [`MAX_LINE_BYTES`] (never
//! buffered whole). With [`LoadOptions::skip_bad_lines`] such lines are
//! skipped and counted instead ([`LoadReport::skipped`]). A broken Matrix
//! Market banner or size line, a wrong entry count, more distinct user or item
//! ids than the limit ([`crate::ids::MAX_IDS`] = `u32::MAX`, or the lower
//! `max_ids` of [`load_from_limited`]) and input without any interaction are
//! always errors.
//!
//! # Memory
//! Lines are streamed through a `BufReader` (the file is never read whole).
//! Each kept line becomes a 12-byte record `(u32, u32, f32)` (24 bytes with a
//! timestamp); the record vector is reserved from an estimate of the line count
//! (file size / mean line length of the first lines; untouched capacity is not
//! resident), and is then sorted and compressed in place into the CSR (see
//! [`crate::data`]): peak about 16 bytes per interaction (32 with timestamps)
//! plus the id maps, 8 bytes per interaction afterwards (16 with timestamps).
//!
//! Measured (release, `examples/load_stats.rs`, 2M synthetic interactions,
//! 50k users, 25k items, 48 MB CSV): peak resident memory above the start
//! 21.6 bytes per interaction without timestamps (16 for the records and CSR
//! columns, about 5 for the 75k-entry id maps), 13.2 after the load, 21.4 with
//! the item-side CSR added; with timestamps 37.6 peak, 21.1 after. Speed
//! 3.7-4.2 M lines/s (2.2 M/s with timestamps) on one core, before the
//! plain-line scan and the threads below (BENCHMARKS.md batches 16-17).
//!
//! # Threads
//! A regular triplet file of at least two [`PIECE_MIN_BYTES`] is read in
//! pieces on up to [`LoadOptions::threads`] threads ([`load_in_pieces`]),
//! with the same result as one thread, holding the records once plus a
//! block while the pieces are joined. Measured (`load_stats load FILE 1|2`,
//! 2 cores, BENCHMARKS.md batch 17): the ML-20M-shaped `train.csv` (15.8M
//! lines, 218 MB) 1.33 s on one thread, 0.83 s on two; peak 16.4 bytes per
//! interaction either way.
//!

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::ids::IdMap;

/// The longest line a reader accepts, in bytes (without the line ending).
/// Interaction lines are short; a longer line is reported as bad instead of
/// being buffered whole (so a file without line breaks cannot exhaust memory).
pub const MAX_LINE_BYTES: usize = 1 << 16;

/// Input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// Decide from the file name and the first bytes (see [`detect_format`]).
    #[default]
    Auto,
    /// Delimited `user,item[,value[,timestamp]]` lines.
    Triplets,
    /// MovieLens 100K `u.data` (`user item rating timestamp`, tab-separated).
    MovieLensData,
    /// MovieLens `ratings.csv` (`userId,movieId,rating,timestamp` with a header).
    MovieLensCsv,
    /// Matrix Market coordinate file (`.mtx`).
    MatrixMarket,
}

impl FromStr for Format {
    type Err = Error;

    /// Accepts `auto`, `triplets` (also `csv`, `tsv`), `movielens-data` (also
    /// `u.data`, `ml100k`), `movielens-csv` (also `ratings.csv`), `mtx` (also
    /// `matrix-market`), case-insensitive.
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => Format::Auto,
            "triplets" | "csv" | "tsv" => Format::Triplets,
            "movielens-data" | "u.data" | "ml100k" => Format::MovieLensData,
            "movielens-csv" | "ratings.csv" => Format::MovieLensCsv,
            "mtx" | "matrix-market" | "matrixmarket" => Format::MatrixMarket,
            other => {
                return Err(Error::invalid(
                    "format",
                    format!(
                        "unknown format '{other}' (expected auto, triplets, movielens-data, movielens-csv or mtx)"
                    ),
                ));
            }
        })
    }
}

/// How to load a file.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadOptions {
    /// The input format ([`Format::Auto`] detects it).
    pub format: Format,
    /// Keep only interactions whose value is `>= min_value` (explicit ratings
    /// thresholded into implicit feedback); applied per line, before duplicates
    /// are summed. Dropped lines add no ids.
    pub min_value: Option<f32>,
    /// Skip malformed lines (and count them) instead of stopping.
    pub skip_bad_lines: bool,
    /// Threads that may read one triplet file (in pieces of at least
    /// [`PIECE_MIN_BYTES`]; see [`load`]); `0` means one per available core.
    /// The dataset and the report do not depend on it.
    pub threads: usize,
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct LoadReport {
    /// The format used (never [`Format::Auto`]).
    pub format: Format,
    /// Lines read (including header, comments and blank lines).
    pub lines: u64,
    /// Whether a header line was detected and skipped.
    pub header: bool,
    /// Malformed lines skipped (only with [`LoadOptions::skip_bad_lines`]).
    pub skipped: u64,
    /// The first skipped line's error (`file:line: message`), if any.
    pub first_skipped: Option<String>,
    /// Interactions kept (lines, before duplicates are merged).
    pub kept: u64,
    /// Interactions dropped because their value was below [`LoadOptions::min_value`].
    pub dropped_by_threshold: u64,
    /// Kept lines that repeated an earlier `(user, item)` pair (summed into it).
    pub duplicates_merged: u64,
}

/// Picks the format from the file name and its first bytes: `.mtx` or a
/// `%%MatrixMarket` banner is Matrix Market; a file named `u.data` is MovieLens
/// `u.data`; a file named `ratings.csv` whose first line starts with `userId,`
/// is MovieLens `ratings.csv`; anything else is triplets.
pub fn detect_format(path: &Path, head: &[u8]) -> Format {
    let name = path
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if head.starts_with(b"%%MatrixMarket") || name.ends_with(".mtx") {
        Format::MatrixMarket
    } else if name == "u.data" {
        Format::MovieLensData
    } else if name == "ratings.csv" && head.starts_with(b"userId,") {
        Format::MovieLensCsv
    } else {
        Format::Triplets
    }
}

/// Loads a dataset from a file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened or read; [`Error::Parse`] for a
/// malformed line (see the [module docs](self)); [`Error::Format`] when the input
/// holds no interaction.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<(Dataset, LoadReport)> {
    load_limited(path, opts, crate::ids::MAX_IDS)
}

/// The smallest piece of a file that [`load`] gives a thread of its own:
/// 8 MiB, about 400,000 lines of a MovieLens-style CSV.
pub const PIECE_MIN_BYTES: u64 = 8 << 20;

/// The most pieces [`load`] reads a file in: 8. Each piece keeps its own id
/// maps until they are joined, so an id seen in every piece (a popular
/// item) is held once per piece meanwhile; the cap bounds that at eight
/// times the one-thread maps, small beside the records for files long
/// enough to be read in pieces.
pub const MAX_PIECES: usize = 8;

/// [`load`] refusing more than `max_ids` distinct user ids or item ids (see
/// [`load_from_limited`]).
///
/// A regular triplet file of at least two [`PIECE_MIN_BYTES`] is read in
/// pieces by up to [`LoadOptions::threads`] threads (at most
/// [`MAX_PIECES`]; [`load_in_pieces`]),
/// with the same dataset and report as one thread gives; a file that needs
/// more (a bad line, a skipped line, too many ids), a Matrix Market file and
/// a smaller file are read by one thread ([`load_from_limited`]).
///
/// # Errors
/// As [`load_from_limited`].
pub fn load_limited(
    path: &Path,
    opts: &LoadOptions,
    max_ids: usize,
) -> Result<(Dataset, LoadReport)> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().ok();
    let size = meta.as_ref().map(|m| m.len());
    if let Some(meta) = meta.filter(|m| m.is_file())
        && opts.format != Format::MatrixMarket
    {
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            t => t,
        };
        let pieces = (meta.len() / PIECE_MIN_BYTES).min(threads.min(MAX_PIECES) as u64) as usize;
        if pieces >= 2
            && let Some(done) = load_in_pieces(path, opts, max_ids, pieces)
        {
            return Ok(done);
        }
    }
    load_from_limited(
        BufReader::with_capacity(1 << 20, file),
        path,
        size,
        opts,
        max_ids,
    )
}

/// Reads a triplet file in `pieces` byte ranges, each on a thread of its
/// own, and joins them into exactly the dataset and report that the
/// one-thread reader ([`load_from_limited`]) gives: the same ids in the same
/// first-seen order, the same records in line order, so the same CSR.
///
/// 1. The head of the file decides the delimiter, the header and whether
///    lines carry timestamps ([`probe_triplets`]).
/// 2. Piece `t` holds the lines that start in `[t S / P, (t + 1) S / P)`
///    (`S` bytes, `P` pieces), every piece after the first past the lines the
///    head was decided on; each is read as the whole file would read those
///    lines, into its own records and id maps (local first-seen order).
/// 3. The pieces are joined in file order: piece `t`'s ids that earlier
///    pieces did not have are appended to the first piece's maps in piece
///    `t`'s first-seen order (which makes them the file's first-seen order),
///    and its records are renumbered into them.
///
/// Returns `None` when the file must be read by one thread instead: a piece
/// met an error or a bad line (only the one-thread reader knows the line
/// numbers of the lines before a piece, which its messages name), more than
/// `max_ids` distinct ids, a Matrix Market file, a head that decides nothing.
///
/// Memory: each later piece hands its records over in blocks of
/// 48 MiB; while the pieces are joined, the first piece's
/// records grow to the whole file's and each block is freed once copied, so
/// the records are held once plus a block; [`crate::data`]'s sort that
/// follows needs more.
pub fn load_in_pieces(
    path: &Path,
    opts: &LoadOptions,
    max_ids: usize,
    pieces: usize,
) -> Option<(Dataset, LoadReport)> {
    pieces_in_blocks(path, opts, max_ids, pieces, JOIN_BLOCK_BYTES)
}

/// [`load_in_pieces`] with later pieces handing over `block` bytes of
/// records at a time (tests use small blocks).
fn pieces_in_blocks(
    path: &Path,
    opts: &LoadOptions,
    max_ids: usize,
    pieces: usize,
    block: usize,
) -> Option<(Dataset, LoadReport)> {
    let dialect = probe_triplets(path, opts).ok()?;
    let timed = dialect.state.timed?;
    let mut file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let pieces = pieces.max(1) as u64;
    let mut bounds = vec![0u64];
    for t in 1..pieces {
        let share = (u128::from(size) * u128::from(t) / u128::from(pieces)) as u64;
        let at = line_start_at(&mut file, path, share.max(dialect.head_bytes), size).ok()?;
        bounds.push(at.max(bounds[bounds.len() - 1]));
    }
    bounds.push(size);
    let dialect = &dialect;
    // A thread that cannot be started (or that panicked) leaves its piece
    // unread: the file then goes to the one-thread reader.
    type Blocks = (Vec<Vec<(u32, u32, f32)>>, Vec<Vec<(u32, u32, f32, i64)>>);
    let parsed: Vec<Option<(Parser, Blocks)>> = std::thread::scope(|s| {
        let threads: Vec<_> = bounds
            .windows(2)
            .enumerate()
            .map(|(t, w)| {
                let (a, b) = (w[0], w[1]);
                std::thread::Builder::new()
                    .spawn_scoped(s, move || {
                        let mut p = read_range(path, opts, dialect, a..b, max_ids, t > 0).ok()?;
                        let blocks = match t {
                            0 => (Vec::new(), Vec::new()),
                            _ => (
                                into_blocks(std::mem::take(&mut p.recs), block),
                                into_blocks(std::mem::take(&mut p.timed), block),
                            ),
                        };
                        Some((p, blocks))
                    })
                    .ok()
            })
            .collect();
        threads
            .into_iter()
            .map(|h| h.and_then(|h| h.join().ok().flatten()))
            .collect()
    });
    let mut parsed = parsed.into_iter();
    let (mut all, _) = parsed.next()??;
    let rest: Vec<(Parser, Blocks)> = parsed.collect::<Option<_>>()?;
    if all.report.skipped > 0 || rest.iter().any(|(p, _)| p.report.skipped > 0) {
        return None;
    }
    let count = |b: &Blocks| -> (usize, usize) {
        (
            b.0.iter().map(Vec::len).sum(),
            b.1.iter().map(Vec::len).sum(),
        )
    };
    all.recs.reserve(rest.iter().map(|(_, b)| count(b).0).sum());
    all.timed
        .reserve(rest.iter().map(|(_, b)| count(b).1).sum());
    for (p, (recs, timed)) in rest {
        let users: Vec<u32> = p
            .users
            .names()
            .map(|id| all.users.get_or_insert(id))
            .collect::<Option<_>>()?;
        let items: Vec<u32> = p
            .items
            .names()
            .map(|id| all.items.get_or_insert(id))
            .collect::<Option<_>>()?;
        let (u, i) = (|x: u32| users[x as usize], |x: u32| items[x as usize]);
        // Each block is freed once copied.
        for block in recs {
            all.recs
                .extend(block.iter().map(|&(a, b, v)| (u(a), i(b), v)));
        }
        for block in timed {
            all.timed
                .extend(block.iter().map(|&(a, b, v, ts)| (u(a), i(b), v, ts)));
        }
        all.report.lines += p.report.lines;
        all.report.kept += p.report.kept;
        all.report.dropped_by_threshold += p.report.dropped_by_threshold;
    }
    all.finish(timed, bounds.len() - 1).ok()
}

/// The lines that start in `range` of the file, read as the whole file
/// reads them; `after_head`: the range starts past the lines `dialect` was
/// decided on (its choices apply, no header can follow).
fn read_range(
    path: &Path,
    opts: &LoadOptions,
    dialect: &TripletDialect,
    range: std::ops::Range<u64>,
    max_ids: usize,
    after_head: bool,
) -> Result<Parser> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    file.seek(SeekFrom::Start(range.start)).map_err(io_err)?;
    let len = range.end - range.start;
    let mut reader = BufReader::with_capacity(1 << 20, file.take(len));
    let mut p = Parser::new(path, *opts, dialect.format, Some(len));
    p.users = IdMap::with_limit(max_ids);
    p.items = IdMap::with_limit(max_ids);
    let mut state = if after_head {
        TripletState {
            data_lines: 1,
            ..dialect.state
        }
    } else {
        TripletState::default()
    };
    p.read_triplets_from(&mut reader, dialect.format, &mut state, false)?;
    Ok(p)
}

/// Bytes per block in which a later piece hands its records to the join:
/// 48 MiB, 4M records without timestamps. Above glibc's largest threshold
/// for serving an allocation by its own mapping (32 MiB), so each block is
/// returned to the system when freed; smaller blocks (1M records tried)
/// came from the threads' heaps, which kept them after the load: +10-16 MB
/// peak RSS in the training that followed (BENCHMARKS.md batch 17).
const JOIN_BLOCK_BYTES: usize = 48 << 20;

/// `v` as blocks of at most `block_bytes` (at least one record each) in
/// order, cut from its end so that its memory shrinks as the blocks are
/// made (a block more than `v` at any time, not twice `v`); the join then
/// frees each block as soon as it is copied.
fn into_blocks<R>(mut v: Vec<R>, block_bytes: usize) -> Vec<Vec<R>> {
    let block = (block_bytes / size_of::<R>().max(1)).max(1);
    let mut blocks = Vec::new();
    while v.len() > block {
        blocks.push(v.split_off(v.len() - block));
        v.shrink_to_fit();
    }
    blocks.push(v);
    blocks.reverse();
    blocks
}

/// The first line start at or after byte `x` of `file` (`size` when none).
///
/// # Errors
/// [`Error::Io`].
pub(crate) fn line_start_at(file: &mut File, path: &Path, x: u64, size: u64) -> Result<u64> {
    if x == 0 || x >= size {
        return Ok(x.min(size));
    }
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    file.seek(SeekFrom::Start(x - 1)).map_err(io_err)?;
    // Scan for the next line end a block at a time (a file without line
    // breaks is not read into memory).
    let mut r = BufReader::with_capacity(1 << 16, &mut *file);
    let mut at = x - 1;
    loop {
        let block = r.fill_buf().map_err(io_err)?;
        if block.is_empty() {
            return Ok(size);
        }
        if let Some(i) = block.iter().position(|&c| c == b'\n') {
            return Ok((at + i as u64 + 1).min(size));
        }
        let n = block.len();
        at += n as u64;
        r.consume(n);
    }
}

/// Loads a dataset from any buffered reader; `path` names it in messages and
/// drives format detection, `size_hint` (bytes) helps reserve memory.
///
/// # Errors
/// As [`load`].
///
/// ```
/// use std::path::Path;
/// use wmf_host::io::{LoadOptions, load_from};
/// let text = "user,item,clicks\nalice,book,2\nbob,book,1\nalice,pen,1\n";
/// let (data, report) = load_from(text.as_bytes(), Path::new("clicks.csv"), None, &LoadOptions::default()).unwrap();
/// assert!(report.header);
/// assert_eq!((data.n_users(), data.n_items(), data.nnz()), (2, 2, 3));
/// let bad = load_from("alice,book,-1\n".as_bytes(), Path::new("x.csv"), None, &LoadOptions::default());
/// assert_eq!(bad.unwrap_err().to_string(), "x.csv:1: value '-1' is negative (values must be >= 0)");
/// ```
pub fn load_from<R: BufRead>(
    reader: R,
    path: &Path,
    size_hint: Option<u64>,
    opts: &LoadOptions,
) -> Result<(Dataset, LoadReport)> {
    load_from_limited(reader, path, size_hint, opts, crate::ids::MAX_IDS)
}

/// [`load_from`] refusing more than `max_ids` distinct user ids or item ids
/// (see [`crate::ids::MAX_IDS`]): the error comes before the id maps can
/// exhaust memory.
///
/// # Errors
/// As [`load`]; [`Error::Parse`] naming the line of the first id over the limit.
pub fn load_from_limited<R: BufRead>(
    reader: R,
    path: &Path,
    size_hint: Option<u64>,
    opts: &LoadOptions,
    max_ids: usize,
) -> Result<(Dataset, LoadReport)> {
    read_whole(reader, path, size_hint, opts, max_ids, true)
}

/// [`load_from_limited`], with the plain-line scan on or off (off only in
/// the tests that compare the two paths).
fn read_whole<R: BufRead>(
    mut reader: R,
    path: &Path,
    size_hint: Option<u64>,
    opts: &LoadOptions,
    max_ids: usize,
    plain: bool,
) -> Result<(Dataset, LoadReport)> {
    let format = match opts.format {
        Format::Auto => {
            let head = reader.fill_buf().map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            detect_format(path, head)
        }
        f => f,
    };
    let mut p = Parser::new(path, *opts, format, size_hint);
    p.users = IdMap::with_limit(max_ids);
    p.items = IdMap::with_limit(max_ids);
    p.plain = plain;
    let timed = match format {
        Format::MatrixMarket => p.read_mtx(&mut reader)?,
        _ => p.read_triplets(&mut reader, format)?,
    };
    p.finish(timed, 1)
}

/// How fields of a triplet line are separated.
#[derive(Debug, Clone, Copy)]
enum Delim {
    Comma,
    DoubleColon,
    Tab,
    Whitespace,
}

impl Delim {
    fn detect(line: &str) -> Self {
        if line.contains(',') {
            Delim::Comma
        } else if line.contains("::") {
            Delim::DoubleColon
        } else if line.contains('\t') {
            Delim::Tab
        } else {
            Delim::Whitespace
        }
    }

    /// Splits `line` into at most `out.len()` fields; returns the field count
    /// (which may exceed `out.len()`, meaning too many fields).
    fn split<'a>(self, line: &'a str, out: &mut [&'a str; 4]) -> usize {
        fn fill<'a>(it: impl Iterator<Item = &'a str>, out: &mut [&'a str; 4]) -> usize {
            let mut n = 0;
            for f in it {
                if n < out.len() {
                    out[n] = f;
                }
                n += 1;
            }
            n
        }
        match self {
            Delim::Comma => fill(line.split(',').map(trim), out),
            Delim::DoubleColon => fill(line.split("::").map(trim), out),
            Delim::Tab => fill(line.split('\t').map(trim), out),
            Delim::Whitespace => fill(line.split_whitespace(), out),
        }
    }
}

/// `s.trim()`, answered without decoding characters when `s` starts and
/// ends with a visible ASCII character (then there is nothing to trim: every
/// whitespace character is either ASCII whitespace or not ASCII at all).
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(s)
}

/// True when a field starts or ends with a double quote without the other:
/// the sign of a quoted id that contained the delimiter and was split.
fn unbalanced_quote(s: &str) -> bool {
    let (a, b) = (s.starts_with('"'), s.ends_with('"'));
    (a != b) || (a && s.len() == 1)
}

/// A field as quoted in messages: at most 40 characters, then `...`.
fn show(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]).into(),
        None => s.into(),
    }
}

/// Parses an interaction value: finite and `>= 0`.
fn parse_value(s: &str) -> std::result::Result<f32, String> {
    let v: f32 = s
        .parse()
        .map_err(|_| format!("unparsable value '{}' (expected a number)", show(s)))?;
    if v.is_nan() {
        Err(format!("value '{}' is NaN", show(s)))
    } else if v.is_infinite() {
        Err(format!(
            "value '{}' is infinite (or overflows f32)",
            show(s)
        ))
    } else if v < 0.0 {
        Err(format!(
            "value '{}' is negative (values must be >= 0)",
            show(s)
        ))
    } else {
        Ok(v)
    }
}

/// The fields of a *plain* line, or `None` when the line is not plain (the
/// general path then reads it, with the same result either way). Plain: the
/// delimiter is a comma or a tab; the ids are non-empty runs of ASCII
/// letters, digits, `_` and `-` (nothing to trim or unquote, nothing that
/// could be a comment); the value (when present, else 1) is `digits[.digits]`
/// (or `digits.`) with at most seven digits; with `timed`, a fourth field of
/// 1 to 18 digits;
/// nothing else. Such a value is `m / 10^e` with `m < 10^7 < 2^24` and
/// `e <= 7`, both exact in `f32`, so the one correctly rounded division gives
/// what `str::parse::<f32>` gives (the same decimal, correctly rounded).
fn plain_line(line: &[u8], delim: Delim, timed: bool) -> Option<(&str, &str, f32, Option<i64>)> {
    const POW10: [f32; 8] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7];
    let d = match delim {
        Delim::Comma => b',',
        Delim::Tab => b'\t',
        _ => return None,
    };
    // One scan over the bytes; `at(i)` is 0 past the end (never a byte the
    // scan accepts).
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let is_id = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut i = 0;
    while is_id(at(i)) {
        i += 1;
    }
    let user_end = i;
    if user_end == 0 || at(i) != d {
        return None;
    }
    i += 1;
    let item_start = i;
    while is_id(at(i)) {
        i += 1;
    }
    let item_end = i;
    if item_end == item_start {
        return None;
    }
    let value = if i == line.len() {
        1.0
    } else {
        if at(i) != d {
            return None;
        }
        i += 1;
        let (mut m, mut digits, mut frac) = (0u32, 0usize, 0usize);
        let mut point = false;
        loop {
            let c = at(i);
            if c.is_ascii_digit() && digits < 7 {
                m = m * 10 + u32::from(c - b'0');
                digits += 1;
                frac += usize::from(point);
            } else if c == b'.' && !point && digits > 0 {
                point = true;
            } else {
                break;
            }
            i += 1;
        }
        if digits == 0 || at(i).is_ascii_digit() {
            // no digits, or more than seven
            return None;
        }
        m as f32 / POW10[frac]
    };
    let ts = if i == line.len() {
        None
    } else {
        if at(i) != d || !timed {
            return None;
        }
        i += 1;
        let start = i;
        let mut t = 0i64;
        while at(i).is_ascii_digit() && i - start < 18 {
            t = t * 10 + i64::from(at(i) - b'0');
            i += 1;
        }
        if i == start || i != line.len() {
            return None;
        }
        Some(t)
    };
    if ts.is_some() != timed {
        return None;
    }
    // The two ids are ASCII, so valid UTF-8.
    let user = std::str::from_utf8(&line[..user_end]).ok()?;
    let item = std::str::from_utf8(&line[item_start..item_end]).ok()?;
    Some((user, item, value, ts))
}

fn parse_timestamp(s: &str) -> std::result::Result<i64, String> {
    if let Ok(t) = s.parse::<i64>() {
        return Ok(t);
    }
    match s.parse::<f64>() {
        Ok(t) if t.is_finite() && t.abs() < 9.2e18 => Ok(t.floor() as i64),
        _ => Err(format!(
            "unparsable timestamp '{}' (expected an integer)",
            show(s)
        )),
    }
}

fn looks_like_header(f: &[&str]) -> bool {
    let low = |i: usize| f.get(i).map(|s| unquote(s).to_ascii_lowercase());
    if f.len() >= 3 && f[2].parse::<f32>().is_err() {
        return true;
    }
    if f.len() >= 4 && parse_timestamp(f[3]).is_err() {
        return true;
    }
    let (Some(a), Some(b)) = (low(0), low(1)) else {
        return false;
    };
    (a.starts_with("user") || a == "u" || a == "uid")
        && (b.starts_with("item")
            || b.starts_with("movie")
            || b.starts_with("product")
            || b == "i"
            || b == "iid")
}

/// The per-file choices of a triplet reader, made on the first data lines.
#[derive(Debug, Clone, Copy, Default)]
struct TripletState {
    delim: Option<Delim>,
    timed: Option<bool>,
    data_lines: u64,
    first_data_line: Option<u64>,
}

struct Parser {
    path: PathBuf,
    opts: LoadOptions,
    report: LoadReport,
    users: IdMap,
    items: IdMap,
    recs: Vec<(u32, u32, f32)>,
    timed: Vec<(u32, u32, f32, i64)>,
    size_hint: Option<u64>,
    bytes: u64,
    /// Lines before this reader's first line (a piece of a file).
    lines_before: u64,
    /// The previous line's user index: files are usually grouped by user
    /// (MovieLens's are sorted), and a line whose user repeats the previous
    /// one's then costs one comparison instead of a hash-table lookup.
    last_user: Option<u32>,
    /// Whether plain lines take [`plain_line`] (always, except in the
    /// tests that compare it with the general path).
    plain: bool,
}

impl Parser {
    fn new(path: &Path, opts: LoadOptions, format: Format, size_hint: Option<u64>) -> Self {
        Parser {
            path: path.to_path_buf(),
            opts,
            report: LoadReport {
                format,
                ..LoadReport::default()
            },
            users: IdMap::new(),
            items: IdMap::new(),
            recs: Vec::new(),
            timed: Vec::new(),
            size_hint,
            bytes: 0,
            lines_before: 0,
            last_user: None,
            plain: true,
        }
    }

    fn parse_err(&self, message: impl Into<String>) -> Error {
        Error::Parse {
            path: self.path.clone(),
            line: self.report.lines,
            message: message.into(),
        }
    }

    /// A malformed line: an error, or (with `skip_bad_lines`) counted and skipped.
    fn bad(&mut self, message: String) -> Result<()> {
        if !self.opts.skip_bad_lines {
            return Err(self.parse_err(message));
        }
        self.report.skipped += 1;
        if self.report.first_skipped.is_none() {
            self.report.first_skipped = Some(self.parse_err(message).to_string());
        }
        Ok(())
    }

    /// Reads the next line into `buf` (without the line ending); false at EOF.
    /// At most [`MAX_LINE_BYTES`] are buffered: a longer line is a bad line
    /// (its rest is read and dropped in bounded chunks) and, when bad lines are
    /// skipped, comes back empty.
    fn next_line<R: BufRead>(&mut self, r: &mut R, buf: &mut Vec<u8>) -> Result<bool> {
        buf.clear();
        let io_err = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let got = r
            .by_ref()
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', buf)
            .map_err(io_err)?;
        if got == 0 {
            return Ok(false);
        }
        self.bytes += got as u64;
        self.report.lines += 1;
        if got > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            // Drop the rest of the line without buffering it.
            loop {
                let chunk = r.fill_buf().map_err(|source| Error::Io {
                    path: self.path.clone(),
                    source,
                })?;
                if chunk.is_empty() {
                    break;
                }
                let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (chunk.len(), false),
                };
                r.consume(used);
                self.bytes += used as u64;
                if done {
                    break;
                }
            }
            buf.clear();
            self.bad(format!(
                "line is longer than {MAX_LINE_BYTES} bytes (not an interaction line)"
            ))?;
            return Ok(true);
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(true)
    }

    /// Reserves the record vectors once, from the mean length of the lines so far.
    fn reserve_estimate(&mut self, timed: bool) {
        let Some(size) = self.size_hint else { return };
        let lines = self.report.lines - self.lines_before;
        if lines == 0 || self.bytes == 0 {
            return;
        }
        let mean = self.bytes as f64 / lines as f64;
        let left = size.saturating_sub(self.bytes) as f64 / mean;
        let want = ((left * 1.02) as usize)
            .min(usize::MAX / 64)
            .saturating_add(64);
        if timed {
            self.timed.reserve(want);
        } else {
            self.recs.reserve(want);
        }
    }

    fn id(&mut self, user: bool, name: &str) -> Result<u32> {
        if user
            && let Some(u) = self.last_user
            && self.users.name(u as usize) == Some(name)
        {
            return Ok(u);
        }
        let map = if user {
            &mut self.users
        } else {
            &mut self.items
        };
        let limit = map.limit();
        match map.get_or_insert(name) {
            Some(i) => {
                if user {
                    self.last_user = Some(i);
                }
                Ok(i)
            }
            None => Err(self.parse_err(format!(
                "more than {} distinct {} ids (the limit; at most {} as indices are u32)",
                limit,
                if user { "user" } else { "item" },
                crate::ids::MAX_IDS
            ))),
        }
    }

    /// Reads triplet-like lines; returns whether timestamps were read.
    fn read_triplets<R: BufRead>(&mut self, r: &mut R, format: Format) -> Result<bool> {
        let mut state = TripletState::default();
        self.read_triplets_from(r, format, &mut state, false)?;
        Ok(state.timed == Some(true))
    }

    /// Reads triplet-like lines continuing from `state` (the per-file choices
    /// made so far); with `probe`, stops once the delimiter, the header and the
    /// timestamp question are all decided.
    fn read_triplets_from<R: BufRead>(
        &mut self,
        r: &mut R,
        format: Format,
        state: &mut TripletState,
        probe: bool,
    ) -> Result<()> {
        let exact4 = matches!(format, Format::MovieLensData | Format::MovieLensCsv);
        let mut buf = Vec::with_capacity(256);
        let TripletState {
            delim,
            timed,
            data_lines,
            first_data_line,
        } = state;
        while !(probe && timed.is_some()) && self.next_line(r, &mut buf)? {
            // Once the first data line has decided everything, a plain line
            // (see `plain_line`) skips the general path below, with the same
            // outcome.
            if let (true, false, Some(d), Some(t)) = (self.plain, *data_lines == 0, *delim, *timed)
                && let Some(rec) = plain_line(&buf, d, t)
            {
                *data_lines += 1;
                if *data_lines == 2 || *data_lines == 4096 {
                    self.reserve_estimate(t);
                }
                self.record(rec)?;
                continue;
            }
            let Ok(line) = std::str::from_utf8(&buf) else {
                self.bad("line is not valid UTF-8".into())?;
                continue;
            };
            let trimmed = trim(line);
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('%') {
                continue;
            }
            let d = *delim.get_or_insert_with(|| match format {
                Format::MovieLensCsv => Delim::Comma,
                Format::MovieLensData => Delim::Whitespace,
                _ => Delim::detect(trimmed),
            });
            let mut f = [""; 4];
            let nf = d.split(trimmed, &mut f);
            let first = *data_lines == 0;
            *data_lines += 1;
            if first {
                *first_data_line = Some(self.report.lines);
            }
            if first && looks_like_header(&f[..nf.min(4)]) {
                self.report.header = true;
                continue;
            }
            if first && format == Format::MovieLensCsv {
                // ratings.csv always has a header.
                return Err(self.parse_err(
                    "expected the header 'userId,movieId,rating,timestamp' of a MovieLens ratings.csv",
                ));
            }
            if *data_lines == 2 || *data_lines == 4096 {
                // Reserve from the mean line length so far (refined once).
                self.reserve_estimate(nf >= 4);
            }
            let rec = match self.triplet_fields(&f, nf, exact4, timed) {
                Ok(x) => x,
                Err(msg) => {
                    self.bad(msg)?;
                    continue;
                }
            };
            self.record(rec)?;
        }
        Ok(())
    }

    /// Keeps one checked line's interaction (or drops it below the
    /// threshold).
    fn record(&mut self, (user, item, value, ts): (&str, &str, f32, Option<i64>)) -> Result<()> {
        if self.opts.min_value.is_some_and(|t| value < t) {
            self.report.dropped_by_threshold += 1;
            return Ok(());
        }
        let u = self.id(true, user)?;
        let i = self.id(false, item)?;
        self.report.kept += 1;
        match ts {
            Some(t) => self.timed.push((u, i, value, t)),
            None => self.recs.push((u, i, value)),
        }
        Ok(())
    }

    /// Checks and converts the fields of one triplet line.
    fn triplet_fields<'a>(
        &self,
        f: &[&'a str; 4],
        nf: usize,
        exact4: bool,
        timed: &mut Option<bool>,
    ) -> std::result::Result<(&'a str, &'a str, f32, Option<i64>), String> {
        let expected = if exact4 {
            "user, item, rating, timestamp"
        } else {
            "user, item[, value[, timestamp]]"
        };
        if nf < 2 {
            return Err(format!("missing item field (expected {expected})"));
        }
        if nf > 4 {
            return Err(format!("{nf} fields, expected at most 4 ({expected})"));
        }
        if exact4 && nf != 4 {
            return Err(format!("{nf} fields, expected 4 ({expected})"));
        }
        for (what, field) in [("user", f[0]), ("item", f[1])] {
            if unbalanced_quote(field) {
                return Err(format!(
                    "{what} id '{}' has an unbalanced double quote (quoted ids containing the delimiter are not supported)",
                    show(field)
                ));
            }
        }
        let (user, item) = (unquote(f[0]), unquote(f[1]));
        if user.is_empty() {
            return Err("empty user id".into());
        }
        if item.is_empty() {
            return Err("empty item id".into());
        }
        let value = if nf >= 3 { parse_value(f[2])? } else { 1.0 };
        let has_ts = nf == 4;
        match *timed {
            None => *timed = Some(has_ts),
            Some(true) if !has_ts => {
                return Err("missing timestamp field (earlier lines have one)".into());
            }
            Some(false) if has_ts => {
                return Err("unexpected timestamp field (earlier lines have none)".into());
            }
            _ => {}
        }
        let ts = if has_ts {
            Some(parse_timestamp(f[3])?)
        } else {
            None
        };
        Ok((user, item, value, ts))
    }

    /// Reads a Matrix Market coordinate file (never timed).
    fn read_mtx<R: BufRead>(&mut self, r: &mut R) -> Result<bool> {
        let mut buf = Vec::with_capacity(256);
        if !self.next_line(r, &mut buf)? {
            return Err(self.empty_error());
        }
        let banner = String::from_utf8_lossy(&buf).to_ascii_lowercase();
        let words: Vec<&str> = banner.split_whitespace().collect();
        if words.len() != 5 || words[0] != "%%matrixmarket" || words[1] != "matrix" {
            return Err(self.parse_err(
                "expected the banner '%%MatrixMarket matrix coordinate real|integer|pattern general'",
            ));
        }
        if words[2] != "coordinate" {
            return Err(self.parse_err(format!(
                "'{}' Matrix Market files are not supported (only 'coordinate')",
                words[2]
            )));
        }
        let pattern = match words[3] {
            "real" | "integer" | "double" => false,
            "pattern" => true,
            other => {
                return Err(self.parse_err(format!(
                    "field type '{other}' is not supported (real, integer or pattern)"
                )));
            }
        };
        if words[4] != "general" {
            return Err(self.parse_err(format!(
                "symmetry '{}' is not supported (only 'general')",
                words[4]
            )));
        }
        // Size line.
        let (m, n, nnz) = loop {
            if !self.next_line(r, &mut buf)? {
                return Err(self.parse_err("missing the size line 'rows columns entries'"));
            }
            let line = String::from_utf8_lossy(&buf);
            let t = line.trim();
            if t.is_empty() || t.starts_with('%') {
                continue;
            }
            let nums: Vec<Option<u64>> = t.split_whitespace().map(|s| s.parse().ok()).collect();
            match nums.as_slice() {
                [Some(m), Some(n), Some(z)] => break (*m, *n, *z),
                _ => {
                    return Err(self.parse_err(format!(
                        "bad size line '{}' (expected three non-negative integers: rows columns entries)", show(t)
                    )));
                }
            }
        };
        for (what, d) in [("rows", m), ("columns", n)] {
            if d >= u64::from(u32::MAX) {
                return Err(self.parse_err(format!("{d} {what} exceed the u32 index limit")));
            }
        }
        // Plausibility before allocating the id maps (about 100 bytes per id):
        // an entry line takes at least 4 bytes ("1 1\n"), and a matrix with
        // over 16 empty rows or columns per entry is taken as a corrupt header.
        if let Some(size) = self.size_hint
            && nnz > size / 4 + 1
        {
            return Err(self.parse_err(format!(
                "the size line declares {nnz} entries but the file has only {size} bytes (truncated?)"
            )));
        }
        if m.saturating_add(n) > nnz.saturating_mul(16).saturating_add(1 << 20) {
            return Err(self.parse_err(format!(
                "implausible shape {m} x {n} for {nnz} entries (more than 16 empty rows or columns per entry; corrupt size line?)"
            )));
        }
        let cap_bound = self.size_hint.map_or(1 << 24, |s| s / 4 + 1);
        self.recs.reserve(nnz.min(cap_bound) as usize);
        let mut entries = 0u64;
        while self.next_line(r, &mut buf)? {
            let Ok(line) = std::str::from_utf8(&buf) else {
                entries += 1;
                self.bad("line is not valid UTF-8".into())?;
                continue;
            };
            let t = line.trim();
            if t.is_empty() || t.starts_with('%') {
                continue;
            }
            entries += 1;
            if entries > nnz {
                return Err(self.parse_err(format!(
                    "more entries than the {nnz} declared in the size line"
                )));
            }
            let parsed = (|| -> std::result::Result<(u32, u32, f32), String> {
                let mut it = t.split_whitespace();
                let idx =
                    |s: Option<&str>, what: &str, d: u64| -> std::result::Result<u32, String> {
                        let s = s.ok_or_else(|| format!("missing {what} index"))?;
                        let v: u64 = s
                            .parse()
                            .map_err(|_| format!("unparsable {what} index '{}'", show(s)))?;
                        if v == 0 || v > d {
                            return Err(format!("{what} index {v} outside 1..={d}"));
                        }
                        Ok((v - 1) as u32)
                    };
                let i = idx(it.next(), "row", m)?;
                let j = idx(it.next(), "column", n)?;
                let v = if pattern {
                    1.0
                } else {
                    parse_value(it.next().ok_or("missing value field")?)?
                };
                if it.next().is_some() {
                    return Err("too many fields".into());
                }
                Ok((i, j, v))
            })();
            match parsed {
                Ok((i, j, v)) => {
                    if self.opts.min_value.is_some_and(|t| v < t) {
                        self.report.dropped_by_threshold += 1;
                        continue;
                    }
                    self.report.kept += 1;
                    self.recs.push((i, j, v));
                }
                Err(msg) => {
                    self.bad(msg)?;
                }
            }
        }
        if entries != nnz {
            return Err(self.parse_err(format!(
                "file ends after {entries} of the {nnz} entries declared in the size line (truncated?)"
            )));
        }
        // Only now, with the entry count confirmed, allocate the id maps.
        for (user, d) in [(true, m), (false, n)] {
            let map = if user {
                &mut self.users
            } else {
                &mut self.items
            };
            for i in 1..=d {
                map.get_or_insert(&i.to_string());
            }
        }
        Ok(false)
    }

    fn empty_error(&self) -> Error {
        let r = &self.report;
        let why = if r.lines == 0 {
            "the file is empty".to_string()
        } else if r.dropped_by_threshold > 0 {
            format!(
                "all {} interactions have a value below the threshold {}",
                r.dropped_by_threshold,
                self.opts.min_value.unwrap_or(0.0)
            )
        } else if r.skipped > 0 {
            format!("all {} data lines were malformed and skipped", r.skipped)
        } else {
            format!("none of its {} lines is an interaction", r.lines)
        };
        Error::Format {
            path: self.path.clone(),
            message: format!("no interactions: {why}"),
        }
    }

    /// The dataset of the records read (sorted on up to `threads` threads).
    fn finish(mut self, timed: bool, threads: usize) -> Result<(Dataset, LoadReport)> {
        if self.report.kept == 0 {
            return Err(self.empty_error());
        }
        let (mut users, mut items) = (
            std::mem::take(&mut self.users),
            std::mem::take(&mut self.items),
        );
        users.shrink_to_fit();
        items.shrink_to_fit();
        let data = if timed {
            Dataset::from_timed_records_on(std::mem::take(&mut self.timed), users, items, threads)
        } else {
            Dataset::from_records_on(std::mem::take(&mut self.recs), users, items, threads)
        };
        // The only failure left here is a duplicated pair whose values sum
        // past f32::MAX (the lines are gone; the message names the ids).
        let data = data.map_err(|e| Error::Format {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        self.report.duplicates_merged = self.report.kept - data.nnz() as u64;
        Ok((data, self.report))
    }
}

/// What a reader of one piece of a triplet file must know about the lines
/// before the piece: the format, the delimiter and whether lines carry
/// timestamps (decided on the file's first data lines, as [`load`] decides
/// them). Made by [`probe_triplets`], used by [`load_piece`].
#[derive(Debug, Clone, Copy)]
pub struct TripletDialect {
    format: Format,
    state: TripletState,
    /// Bytes of the lines read to decide it (a piece starting at or after
    /// this starts past the file's first data line).
    head_bytes: u64,
}

impl TripletDialect {
    /// The format (never [`Format::Auto`] or [`Format::MatrixMarket`]).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The 1-based number of the file's first data line (the header when
    /// there is one), if the file has any.
    pub fn first_data_line(&self) -> Option<u64> {
        self.state.first_data_line
    }
}

/// Reads the head of a triplet file until the delimiter, the header and the
/// timestamp question are decided (usually one or two lines).
///
/// # Errors
/// [`Error::Io`]; [`Error::Invalid`] for a Matrix Market file (it cannot be
/// split into pieces: convert it to triplets); [`Error::Parse`] for a bad line
/// in the head (unless [`LoadOptions::skip_bad_lines`]).
pub fn probe_triplets(path: &Path, opts: &LoadOptions) -> Result<TripletDialect> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_err)?);
    let format = match opts.format {
        Format::Auto => detect_format(path, reader.fill_buf().map_err(io_err)?),
        f => f,
    };
    if format == Format::MatrixMarket {
        return Err(Error::invalid(
            "format",
            "Matrix Market files cannot be read in pieces (distributed training); convert to triplets",
        ));
    }
    let mut p = Parser::new(path, *opts, format, None);
    let mut state = TripletState::default();
    p.read_triplets_from(&mut reader, format, &mut state, true)?;
    Ok(TripletDialect {
        format,
        state,
        head_bytes: p.bytes,
    })
}

/// The interactions of one piece of a triplet file ([`load_piece`]).
#[derive(Debug, Clone, Default)]
pub struct Piece {
    /// `(user, item, value)` in line order, indices into [`Piece::users`] and
    /// [`Piece::items`] (duplicates not merged; timestamps dropped).
    pub records: Vec<(u32, u32, f32)>,
    /// The piece's user ids in first-seen order.
    pub users: IdMap,
    /// The piece's item ids in first-seen order.
    pub items: IdMap,
    /// Counts for the piece (`lines` counts the piece's lines only).
    pub report: LoadReport,
}

/// Reads the lines of one piece of a triplet file, as [`load`] would read
/// them in the whole file: `reader` starts at a line start, `first_line` is
/// the 1-based number of that line in the file (errors name file lines), and
/// `dialect` comes from [`probe_triplets`]. A piece that starts at or before
/// the file's first data line makes the header decision itself.
///
/// A piece without interactions is not an error here (the caller decides).
///
/// # Errors
/// [`Error::Io`]; [`Error::Parse`] naming `file:line` for a malformed line
/// (unless [`LoadOptions::skip_bad_lines`]).
pub fn load_piece<R: BufRead>(
    mut reader: R,
    path: &Path,
    size_hint: Option<u64>,
    opts: &LoadOptions,
    dialect: &TripletDialect,
    first_line: u64,
) -> Result<Piece> {
    let mut p = Parser::new(path, *opts, dialect.format, size_hint);
    let before = first_line.saturating_sub(1);
    p.report.lines = before;
    p.lines_before = before;
    let mut state = match dialect.state.first_data_line {
        Some(l) if first_line > l => TripletState {
            data_lines: 1,
            ..dialect.state
        },
        _ => TripletState::default(),
    };
    p.read_triplets_from(&mut reader, dialect.format, &mut state, false)?;
    let mut records = std::mem::take(&mut p.recs);
    records.extend(p.timed.iter().map(|&(u, i, v, _)| (u, i, v)));
    p.report.lines -= before;
    Ok(Piece {
        records,
        users: p.users,
        items: p.items,
        report: p.report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `load_from` with the plain-line path on or off.
    fn load_with(text: &str, opts: &LoadOptions, plain: bool) -> Result<(Dataset, LoadReport)> {
        let size = Some(text.len() as u64);
        read_whole(
            text.as_bytes(),
            Path::new("t.csv"),
            size,
            opts,
            crate::ids::MAX_IDS,
            plain,
        )
    }

    /// Every line, plain or not, gives with the plain-line path what the
    /// general path gives: the same dataset and report, or the same error.
    fn same_either_way(text: &str, opts: &LoadOptions) {
        let general = load_with(text, opts, false).map_err(|e| e.to_string());
        let plain = load_with(text, opts, true).map_err(|e| e.to_string());
        assert_eq!(plain, general, "{text:?}");
    }

    #[test]
    fn blocks_keep_the_records_in_order() {
        let per = JOIN_BLOCK_BYTES / 4;
        for n in [0, 1, per, per + 1, 2 * per + per / 2] {
            let v: Vec<u32> = (0..n as u32).collect();
            let blocks = into_blocks(v.clone(), JOIN_BLOCK_BYTES);
            assert_eq!(blocks.len(), n.div_ceil(per).max(1), "{n}");
            assert!(blocks.iter().all(|b| b.len() <= per));
            assert_eq!(blocks.concat(), v);
        }
        // Pieces joined from many small blocks: the one-thread result.
        let dir = tempfile::tempdir().unwrap();
        for (name, timed) in [("a.csv", false), ("b.csv", true)] {
            let path = dir.path().join(name);
            // Each user's 7 lines repeat items, with values whose sums depend
            // on the order they are added in (2^24 + 1 + 1 = 2^24 in f32,
            // 1 + 1 + 2^24 = 2^24 + 2): the records' order is the file's.
            let text: String = (0..3000)
                .map(|t| {
                    let (u, i) = (t / 7, (t / 7 * 37 + t % 3) % 501);
                    let v = if t % 7 < 3 && t % 2 == 0 {
                        "16777216"
                    } else {
                        "1"
                    };
                    match timed {
                        false => format!("u{u},{i},{v}\n"),
                        true => format!("u{u},{i},{v},{}\n", 9 * t),
                    }
                })
                .collect();
            std::fs::write(&path, &text).unwrap();
            let opts = LoadOptions::default();
            let want = load_from(text.as_bytes(), &path, None, &opts).unwrap();
            for (pieces, block) in [(2, 1), (3, 7 * 12), (5, 100 * 12), (4, 5000 * 12)] {
                let got = pieces_in_blocks(&path, &opts, crate::ids::MAX_IDS, pieces, block);
                assert_eq!(
                    got.as_ref(),
                    Some(&want),
                    "{name}: {pieces} pieces, blocks of {block}"
                );
            }
        }
    }

    #[test]
    fn line_starts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.txt");
        let mut text = b"ab\ncd\n\nxyz".to_vec();
        std::fs::write(&path, &text).unwrap();
        let mut f = File::open(&path).unwrap();
        let size = text.len() as u64;
        let starts: Vec<u64> = (0..=size + 1)
            .map(|x| line_start_at(&mut f, &path, x, size).unwrap())
            .collect();
        assert_eq!(starts, [0, 3, 3, 3, 6, 6, 6, 7, 10, 10, 10, 10]);
        // A long file without line breaks: the end, found block by block.
        text = vec![b'x'; 300_000];
        std::fs::write(&path, &text).unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(line_start_at(&mut f, &path, 5, 300_000).unwrap(), 300_000);
        text[250_000] = b'\n';
        std::fs::write(&path, &text).unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(line_start_at(&mut f, &path, 5, 300_000).unwrap(), 250_001);
    }

    #[test]
    fn plain_lines_parse_as_the_general_path() {
        // Fields that are plain, nearly plain and not plain at all.
        let ids = [
            "1",
            "07",
            "+7",
            "u_1",
            "a-b",
            "-3",
            "1234567890123",
            " 5",
            "5 ",
            "\"q\"",
            "x y",
            "",
            "é",
            "#c",
            "%c",
        ];
        let values = [
            "1",
            "0",
            "3.5",
            "5.",
            "1234567",
            "12345678",
            "0.1234567",
            "0.12345678",
            ".5",
            "1e3",
            "-1",
            "nan",
            "inf",
            "1.2.3",
            "00000001",
            "9999999",
            "4.0000001",
            " 2",
            "2 ",
            "",
            "340282350000000000000000000000000000000",
            "1.5e-45",
        ];
        let stamps = [
            "100",
            "0",
            "123456789012345678",
            "1234567890123456789",
            "1.5",
            "-4",
            "",
        ];
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(29);
        let mut next = move |n: usize| rng.gen_range(0..n);
        for case in 0..400 {
            let d = [",", "\t"][case % 2];
            let timed = case % 3 == 0;
            let mut text = String::new();
            if case % 5 == 0 {
                text.push_str(if timed { "u,i,v,t\n" } else { "u,i,v\n" });
            }
            for line in 0..12 {
                // Mostly plain lines, one odd field now and then.
                let odd = next(4) == 0;
                let id = |k: usize| if odd { ids[k] } else { ids[k % 6] };
                let mut fields = vec![id(next(ids.len())), id(next(ids.len()))];
                let nv = if odd { next(3) } else { 1 };
                if nv > 0 || timed {
                    fields.push(if odd {
                        values[next(values.len())]
                    } else {
                        values[next(8)]
                    });
                }
                if timed && !(odd && next(3) == 0) {
                    fields.push(if odd {
                        stamps[next(stamps.len())]
                    } else {
                        stamps[next(3)]
                    });
                }
                text.push_str(&fields.join(d));
                text.push_str(if line % 4 == 3 { "\r\n" } else { "\n" });
            }
            for skip in [false, true] {
                for min_value in [None, Some(1.0)] {
                    let opts = LoadOptions {
                        skip_bad_lines: skip,
                        min_value,
                        ..LoadOptions::default()
                    };
                    same_either_way(&text, &opts);
                }
            }
        }
        // Exactly the correctly rounded values, over every value of up to
        // seven digits with the point anywhere (a sample of them).
        let mut text = String::from("u,i,v\n");
        for m in (0..10_000_000u32).step_by(997) {
            let digits = m.to_string();
            for p in 0..=digits.len() {
                let (a, b) = digits.split_at(p);
                if !a.is_empty() {
                    text.push_str(&format!("{m},{p},{a}.{b}\n"));
                }
            }
        }
        let (d, _) = load_with(&text, &LoadOptions::default(), true).unwrap();
        let (g, _) = load_with(&text, &LoadOptions::default(), false).unwrap();
        assert_eq!(d, g);
        for line in text.lines().skip(1) {
            let v = line.rsplit(',').next().unwrap();
            assert_eq!(
                plain_line(line.as_bytes(), Delim::Comma, false).map(|r| r.2.to_bits()),
                Some(v.parse::<f32>().unwrap().to_bits()),
                "{line}"
            );
        }
    }

    #[test]
    fn fast_trim_is_str_trim() {
        let spaces = [
            "", " ", "\t", "\r", "\n", "\u{0b}", "\u{0c}", "\u{85}", "\u{a0}", "\u{2003}",
            "\u{3000}",
        ];
        let cores = [
            "", "a", "42", "a b", "\"x,y\"", "é", "\u{1}", "~", "\u{a0}x",
        ];
        for l in spaces {
            for c in cores {
                for r in spaces {
                    let s = format!("{l}{c}{r}");
                    assert_eq!(trim(&s), s.trim(), "{s:?}");
                }
            }
        }
    }
}
