//! Distributed loading: each rank reads its byte range of the file, the ranks
//! agree on a global id mapping, partition users and items by interaction
//! count, and send every interaction to the ranks that own its user and item.
//!
//! 1. **Byte ranges.** Rank `r` reads the lines that *start* in
//!    `[r S / P, (r + 1) S / P)` (`S` the file size): its range begins at the
//!    first line start at or after `r S / P`. It first counts its lines; an
//!    all-gather of the counts gives every rank the file line number of its
//!    first line, so errors name `file:line` exactly as a single-process load.
//!    The delimiter / header / timestamp choices come from the file's first
//!    data lines ([`crate::io::probe_triplets`], read by every rank).
//! 2. **Ids.** Every distinct id a rank saw goes, with its position
//!    `(rank, local first-seen index)`, to the rank `fnv1a(id) mod P`; that
//!    rank keeps the smallest position of each id, and an all-gather of those
//!    gives every rank all ids with their first position in the file. Sorting
//!    by position yields exactly the single-process first-seen order, so user
//!    `i` and item `j` are the same rows as in `wmf train` (for any `P`).
//! 3. **Partition.** An all-reduce of per-row line counts; users (and items)
//!    are cut into `P` contiguous index ranges of about equal interaction count.
//! 4. **Exchange.** Two all-to-alls send each `(user, item, value)` to its
//!    user's owner and to its item's owner; each owner merges duplicates in
//!    file order and builds the CSR of its rows (columns global).
//!
//! Every rank holds its share of the interactions (twice: user and item
//! side), the id maps (`m + n` strings) and, later, the full factors.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use super::comm::Comm;
use crate::data::duplicate_overflow_error;
use crate::error::{Error, Result};
use crate::ids::IdMap;
use crate::io::{
    LoadOptions, LoadReport, TripletDialect, line_start_at, load_piece, probe_triplets,
};
use crate::sparse::{Csr, sum_duplicate};

/// What a rank holds after loading.
#[derive(Debug)]
pub struct LocalData {
    /// All user ids, in the global (first-seen) order.
    pub user_ids: IdMap,
    /// All item ids, in the global (first-seen) order.
    pub item_ids: IdMap,
    /// `ranges[r]`: the users of rank `r` (contiguous indices).
    pub user_ranges: Vec<Range<usize>>,
    /// `ranges[r]`: the items of rank `r`.
    pub item_ranges: Vec<Range<usize>>,
    /// This rank's user rows (`users.len() x n`, values summed over duplicates).
    pub users: Csr,
    /// This rank's item rows (`items.len() x m`).
    pub items: Csr,
    /// Number of stored cells of every item (`n`, global).
    pub item_counts: Vec<u64>,
    /// The load report summed over ranks (`first_skipped` from the lowest rank).
    pub report: LoadReport,
}

/// FNV-1a of an id: which rank resolves it (independent of the platform).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Lines in `[a, b)` (the last may lack its newline).
fn count_lines(file: &mut File, path: &Path, a: u64, b: u64) -> Result<u64> {
    file.seek(SeekFrom::Start(a)).map_err(io_err(path))?;
    let mut r = (&mut *file).take(b - a);
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let got = r.read(&mut buf).map_err(io_err(path))?;
        if got == 0 {
            break;
        }
        lines += buf[..got].iter().filter(|&&c| c == b'\n').count() as u64;
        last = buf[got - 1];
    }
    if b > a && last != b'\n' {
        lines += 1;
    }
    Ok(lines)
}

/// Reads this rank's piece of the file (steps 1 of the module docs).
fn read_piece(
    comm: &Comm,
    path: &Path,
    opts: &LoadOptions,
    dialect: &TripletDialect,
) -> Result<crate::io::Piece> {
    let (p, r) = (comm.size() as u64, comm.rank() as u64);
    let mut file = File::open(path).map_err(io_err(path))?;
    let size = file.metadata().map_err(io_err(path))?.len();
    let share = |q: u64| ((u128::from(size) * u128::from(q)) / u128::from(p)) as u64;
    let a = line_start_at(&mut file, path, share(r), size)?;
    let b = line_start_at(&mut file, path, share(r + 1), size)?;
    let lines = count_lines(&mut file, path, a, b)?;
    let before: u64 = comm.all_gather(lines)[..r as usize].iter().sum();
    file.seek(SeekFrom::Start(a)).map_err(io_err(path))?;
    let reader = BufReader::with_capacity(1 << 20, file.take(b - a));
    load_piece(reader, path, Some(b - a), opts, dialect, before + 1)
}

/// Serialised ids: concatenated bytes, lengths, positions.
#[derive(Default)]
struct IdBatch {
    bytes: Vec<u8>,
    lens: Vec<u32>,
    pos: Vec<u64>,
}

impl IdBatch {
    fn push(&mut self, id: &str, pos: u64) {
        self.bytes.extend_from_slice(id.as_bytes());
        self.lens.push(id.len() as u32);
        self.pos.push(pos);
    }

    fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        let mut off = 0usize;
        self.lens.iter().zip(&self.pos).map(move |(&l, &p)| {
            let s = &self.bytes[off..off + l as usize];
            off += l as usize;
            (std::str::from_utf8(s).unwrap_or(""), p)
        })
    }
}

/// The global id map (step 2): ids in the order of their first position.
fn global_ids(comm: &Comm, local: &IdMap) -> IdMap {
    let p = comm.size();
    let mut to: Vec<IdBatch> = (0..p).map(|_| IdBatch::default()).collect();
    for (i, id) in local.names().enumerate() {
        let pos = ((comm.rank() as u64) << 32) | i as u64;
        to[(fnv1a(id) % p as u64) as usize].push(id, pos);
    }
    let recv = IdBatch {
        bytes: comm.all_to_all_var(&to.iter().map(|b| b.bytes.clone()).collect::<Vec<_>>()),
        lens: comm.all_to_all_var(&to.iter().map(|b| b.lens.clone()).collect::<Vec<_>>()),
        pos: comm.all_to_all_var(&to.iter().map(|b| b.pos.clone()).collect::<Vec<_>>()),
    };
    drop(to);
    let mut first: HashMap<&str, u64> = HashMap::new();
    for (id, pos) in recv.iter() {
        let e = first.entry(id).or_insert(pos);
        *e = (*e).min(pos);
    }
    let mut mine = IdBatch::default();
    for (id, pos) in first {
        mine.push(id, pos);
    }
    let all = IdBatch {
        bytes: comm.all_gather_var(&mine.bytes).0,
        lens: comm.all_gather_var(&mine.lens).0,
        pos: comm.all_gather_var(&mine.pos).0,
    };
    let mut order: Vec<(u64, &str)> = all.iter().map(|(s, p)| (p, s)).collect();
    order.sort_unstable();
    let mut map = IdMap::new();
    for (_, id) in order {
        let _ = map.get_or_insert(id);
    }
    map
}

/// `P` contiguous ranges of about equal total `counts` (step 3).
pub fn balanced_ranges(counts: &[u64], p: usize) -> Vec<Range<usize>> {
    let total: u128 = counts.iter().map(|&c| u128::from(c)).sum();
    let mut starts = vec![0usize; p + 1];
    starts[p] = counts.len();
    let mut prefix: u128 = 0;
    let mut r = 1;
    for (i, &c) in counts.iter().enumerate() {
        // Rank r starts at the first row whose prefix reaches r/P of the total.
        while r < p && prefix * p as u128 >= total * r as u128 {
            starts[r] = i;
            r += 1;
        }
        prefix += u128::from(c);
    }
    while r < p {
        starts[r] = counts.len();
        r += 1;
    }
    (0..p).map(|r| starts[r]..starts[r + 1]).collect()
}

fn owner(ranges: &[Range<usize>], i: usize) -> usize {
    ranges.partition_point(|r| r.end <= i)
}

/// CSR of `rows` from `(row, col, value)` triplets in file order: a stable
/// sort, then duplicates summed in file order (so the sums do not depend on `P`).
///
/// # Errors
/// `Err((row, col))` for the first pair whose duplicates sum past `f32::MAX`.
fn local_csr(
    mut t: Vec<(u32, u32, f32)>,
    rows: &Range<usize>,
    ncols: usize,
) -> std::result::Result<Csr, (u32, u32)> {
    t.sort_by_key(|&(r, c, _)| (r, c));
    let nrows = rows.len();
    let mut indptr = vec![0u64; nrows + 1];
    let mut indices: Vec<u32> = Vec::with_capacity(t.len());
    let mut values: Vec<f32> = Vec::with_capacity(t.len());
    let mut last = None;
    for (r, c, v) in t {
        if last == Some((r, c)) {
            if let Some(x) = values.last_mut() {
                *x = sum_duplicate(*x, v).ok_or((r, c))?;
            }
            continue;
        }
        last = Some((r, c));
        indices.push(c);
        values.push(v);
        indptr[r as usize - rows.start + 1] += 1;
    }
    for i in 0..nrows {
        indptr[i + 1] += indptr[i];
    }
    Ok(Csr {
        indptr,
        indices,
        values,
        nrows,
        ncols,
    })
}

/// Loads `path` across the ranks of `comm` (see the [module docs](self)).
/// Collective: every rank calls it; on bad input every rank returns the same
/// error.
///
/// # Errors
/// [`Error::Distributed`] carrying the first failing rank's error: an I/O error,
/// a bad line (`file:line: ...`), a Matrix Market file, or no interactions.
pub fn load(comm: &Comm, path: &Path, opts: &LoadOptions) -> Result<LocalData> {
    let dialect = comm.agree(probe_triplets(path, opts))?;
    let piece = comm.agree(read_piece(comm, path, opts, &dialect))?;
    let p = comm.size();

    // Ids (the maps hold every id; a rank translates its own).
    let user_ids = global_ids(comm, &piece.users);
    let item_ids = global_ids(comm, &piece.items);
    let (m, n) = (user_ids.len(), item_ids.len());
    if m == 0 || n == 0 {
        return comm.agree(Err(Error::Format {
            path: path.to_path_buf(),
            message: "no interactions in the input".into(),
        }));
    }
    let u_of: Vec<u32> = piece
        .users
        .names()
        .map(|s| user_ids.get(s).unwrap_or(u32::MAX))
        .collect();
    let i_of: Vec<u32> = piece
        .items
        .names()
        .map(|s| item_ids.get(s).unwrap_or(u32::MAX))
        .collect();
    let records: Vec<(u32, u32, f32)> = piece
        .records
        .iter()
        .map(|&(u, i, v)| (u_of[u as usize], i_of[i as usize], v))
        .collect();
    drop(piece.records);

    // Partition by line counts.
    let mut ucount = vec![0u64; m];
    let mut icount = vec![0u64; n];
    for &(u, i, _) in &records {
        ucount[u as usize] += 1;
        icount[i as usize] += 1;
    }
    comm.all_reduce_sum_u64(&mut ucount);
    comm.all_reduce_sum_u64(&mut icount);
    let user_ranges = balanced_ranges(&ucount, p);
    let item_ranges = balanced_ranges(&icount, p);
    drop((ucount, icount));

    // Exchange: flattened (row, col, value bits) to the row's owner.
    let exchange = |by_user: bool| -> Vec<(u32, u32, f32)> {
        let ranges = if by_user { &user_ranges } else { &item_ranges };
        let mut to: Vec<Vec<u32>> = vec![Vec::new(); p];
        for &(u, i, v) in &records {
            let (row, col) = if by_user { (u, i) } else { (i, u) };
            to[owner(ranges, row as usize)].extend_from_slice(&[row, col, v.to_bits()]);
        }
        let flat = comm.all_to_all_var(&to);
        flat.chunks_exact(3)
            .map(|t| (t[0], t[1], f32::from_bits(t[2])))
            .collect()
    };
    let mine_u = exchange(true);
    let mine_i = exchange(false);
    drop(records);
    let me = comm.rank();
    // Both orientations sum a pair's duplicates in file order, so the one
    // rank holding an overflowing pair finds it (as a user row) and every
    // rank returns the same error.
    let overflow = |(u, i): (u32, u32)| Error::Format {
        path: path.to_path_buf(),
        message: duplicate_overflow_error(&user_ids, &item_ids, u, i).to_string(),
    };
    let users = comm.agree(local_csr(mine_u, &user_ranges[me], n).map_err(overflow))?;
    let items =
        comm.agree(local_csr(mine_i, &item_ranges[me], m).map_err(|(i, u)| overflow((u, i))))?;

    // Stored cells per item, for popularity baselines.
    let local_counts: Vec<u64> = (0..items.nrows).map(|j| items.row_len(j) as u64).collect();
    let (item_counts, _) = comm.all_gather_var(&local_counts);

    // Report, summed.
    let r = &piece.report;
    let mut sums = [
        r.lines,
        r.skipped,
        r.kept,
        r.dropped_by_threshold,
        users.nnz() as u64,
        u64::from(r.header),
    ];
    comm.all_reduce_sum_u64(&mut sums);
    let first_skipped = {
        let has = comm.all_gather(u8::from(r.first_skipped.is_some()));
        match has.iter().position(|&h| h == 1) {
            Some(root) => {
                let mut msg = r.first_skipped.clone().unwrap_or_default().into_bytes();
                comm.broadcast(root, &mut msg);
                Some(String::from_utf8_lossy(&msg).into_owned())
            }
            None => None,
        }
    };
    let report = LoadReport {
        format: dialect.format(),
        lines: sums[0],
        header: sums[5] > 0,
        skipped: sums[1],
        first_skipped,
        kept: sums[2],
        dropped_by_threshold: sums[3],
        duplicates_merged: sums[2] - sums[4],
    };
    Ok(LocalData {
        user_ids,
        item_ids,
        user_ranges,
        item_ranges,
        users,
        items,
        item_counts,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_balance_counts() {
        let r = balanced_ranges(&[5, 1, 1, 1, 1, 1], 2);
        assert_eq!(r, vec![0..1, 1..6]);
        let r = balanced_ranges(&[1; 10], 4);
        assert_eq!(r.iter().map(|r| r.len()).sum::<usize>(), 10);
        assert!(r.iter().all(|r| r.len() >= 2 && r.len() <= 3), "{r:?}");
        let r = balanced_ranges(&[1, 1], 4);
        assert_eq!(r.iter().map(|r| r.len()).sum::<usize>(), 2);
        assert_eq!(owner(&r, 1), r.iter().position(|x| x.contains(&1)).unwrap());
    }
}
