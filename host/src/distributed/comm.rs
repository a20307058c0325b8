//! The MPI collectives the distributed trainer uses, with a count of the
//! bytes each rank sends and a collective agreement on errors.
//!
//! # Bytes sent
//! [`Comm::bytes_sent`] counts the *logical* bytes that leave this rank: for an
//! all-to-all, the bytes addressed to other ranks; for an all-gather, a
//! broadcast from this rank or an all-reduce, this rank's contribution times
//! `P - 1` (every other rank must receive it). The MPI library's algorithm may
//! route differently (a ring all-gather forwards `(P - 1)/P` of the total
//! through every rank, which is the same number when the blocks are balanced).
//!
//! # Large messages
//! MPI counts are `i32`. Every variable-count collective here is split into
//! rounds so that no rank sends or receives more than [`max_message`] elements
//! in one call (`WMF_MPI_MAX_MESSAGE` overrides it; tests set it small to run
//! the rounds).

use std::cell::Cell;

use mpi::collective::SystemOperation;
use mpi::datatype::{Equivalence, Partition, PartitionMut};
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};

use crate::error::{Error, Result};

/// Elements per rank per collective call at most (default `2^28`).
pub fn max_message() -> usize {
    std::env::var("WMF_MPI_MAX_MESSAGE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&v| v >= 1 && v <= i32::MAX as usize)
        .unwrap_or(1 << 28)
}

/// A communicator with a byte counter.
pub struct Comm {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    sent: Cell<u64>,
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Comm")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("sent", &self.sent.get())
            .finish()
    }
}

/// `i32` count of `n` elements (callers keep `n <= max_message()`).
fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn displs(counts: &[i32]) -> Vec<i32> {
    let mut d = Vec::with_capacity(counts.len());
    let mut acc = 0i32;
    for &c in counts {
        d.push(acc);
        acc = acc.saturating_add(c);
    }
    d
}

/// Piece `t` of `r` equal-ish pieces of `0..len`.
fn piece(len: usize, t: usize, rounds: usize) -> std::ops::Range<usize> {
    (len * t / rounds)..(len * (t + 1) / rounds)
}

impl Comm {
    /// Wraps a communicator (normally `universe.world()`).
    pub fn new(world: SimpleCommunicator) -> Self {
        let rank = usize::try_from(world.rank()).unwrap_or(0);
        let size = usize::try_from(world.size()).unwrap_or(1);
        Self {
            world,
            rank,
            size,
            sent: Cell::new(0),
        }
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of ranks `P`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Logical bytes this rank has sent so far (see the module docs).
    pub fn bytes_sent(&self) -> u64 {
        self.sent.get()
    }

    fn add_sent(&self, bytes: usize) {
        self.sent.set(self.sent.get() + bytes as u64);
    }

    /// Ends the whole job (every rank) with `code`: for a failure that the
    /// ranks could not agree on collectively.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    /// The largest of a value over all ranks.
    pub fn max_u64(&self, x: u64) -> u64 {
        let mut out = 0u64;
        self.world
            .all_reduce_into(&x, &mut out, SystemOperation::max());
        self.add_sent(8 * (self.size - 1));
        out
    }

    /// One value from every rank, in rank order.
    pub fn all_gather<T: Equivalence + Copy + Default>(&self, x: T) -> Vec<T> {
        let mut out = vec![T::default(); self.size];
        self.world.all_gather_into(&x, &mut out[..]);
        self.add_sent(std::mem::size_of::<T>() * (self.size - 1));
        out
    }

    /// Element-wise sum over all ranks of equally long slices, in place
    /// (integers only: exact, so the order does not matter).
    pub fn all_reduce_sum_u64(&self, xs: &mut [u64]) {
        let limit = max_message();
        for chunk in xs.chunks_mut(limit) {
            let send = chunk.to_vec();
            self.world
                .all_reduce_into(&send[..], chunk, SystemOperation::sum());
            self.add_sent(8 * chunk.len() * (self.size - 1));
        }
    }

    /// Every rank's slice (any lengths), concatenated in rank order, with the
    /// length of each rank's part.
    pub fn all_gather_var<T: Equivalence + Copy + Default>(
        &self,
        mine: &[T],
    ) -> (Vec<T>, Vec<usize>) {
        let lens: Vec<u64> = self.all_gather(mine.len() as u64);
        let lens: Vec<usize> = lens.iter().map(|&l| l as usize).collect();
        let total: usize = lens.iter().sum();
        let mut out = vec![T::default(); total];
        self.all_gather_var_into(mine, &lens, &mut out);
        (out, lens)
    }

    /// As [`Comm::all_gather_var`] into `out` (length `Σ lens`), where `lens`
    /// (every rank's length) is already known to all ranks.
    pub fn all_gather_var_into<T: Equivalence + Copy + Default>(
        &self,
        mine: &[T],
        lens: &[usize],
        out: &mut [T],
    ) {
        let total: usize = lens.iter().sum();
        let rounds = total.div_ceil(max_message()).max(1);
        let starts: Vec<usize> = lens
            .iter()
            .scan(0usize, |acc, &l| {
                let s = *acc;
                *acc += l;
                Some(s)
            })
            .collect();
        let mut tmp: Vec<T> = Vec::new();
        for t in 0..rounds {
            let counts: Vec<i32> = lens
                .iter()
                .map(|&l| count(piece(l, t, rounds).len()))
                .collect();
            let d = displs(&counts);
            let n: usize = counts.iter().map(|&c| c as usize).sum();
            tmp.clear();
            tmp.resize(n, T::default());
            let send = &mine[piece(mine.len(), t, rounds)];
            {
                let mut part = PartitionMut::new(&mut tmp[..], &counts[..], &d[..]);
                self.world.all_gather_varcount_into(send, &mut part);
            }
            self.add_sent(std::mem::size_of_val(send) * (self.size - 1));
            for (r, &l) in lens.iter().enumerate() {
                let p = piece(l, t, rounds);
                let src = &tmp[d[r] as usize..d[r] as usize + p.len()];
                out[starts[r] + p.start..starts[r] + p.end].copy_from_slice(src);
            }
        }
    }

    /// Sends `to[d]` to rank `d` for every `d`; returns what every rank sent
    /// to this one, concatenated in source-rank order.
    pub fn all_to_all_var<T: Equivalence + Copy + Default>(&self, to: &[Vec<T>]) -> Vec<T> {
        let p = self.size;
        let send_lens: Vec<u64> = (0..p)
            .map(|d| to.get(d).map_or(0, |v| v.len() as u64))
            .collect();
        let mut recv_lens = vec![0u64; p];
        self.world
            .all_to_all_into(&send_lens[..], &mut recv_lens[..]);
        self.add_sent(8 * (p - 1));
        let biggest = send_lens
            .iter()
            .sum::<u64>()
            .max(recv_lens.iter().sum::<u64>());
        let rounds = (self.max_u64(biggest) as usize)
            .div_ceil(max_message())
            .max(1);
        let mut per_source: Vec<Vec<T>> = recv_lens
            .iter()
            .map(|&l| Vec::with_capacity(l as usize))
            .collect();
        let (mut sbuf, mut rbuf) = (Vec::<T>::new(), Vec::<T>::new());
        for t in 0..rounds {
            sbuf.clear();
            let mut scounts = Vec::with_capacity(p);
            for (d, &l) in send_lens.iter().enumerate() {
                let r = piece(l as usize, t, rounds);
                scounts.push(count(r.len()));
                if d != self.rank {
                    self.add_sent(std::mem::size_of::<T>() * r.len());
                }
                if let Some(v) = to.get(d) {
                    sbuf.extend_from_slice(&v[r]);
                }
            }
            let rcounts: Vec<i32> = recv_lens
                .iter()
                .map(|&l| count(piece(l as usize, t, rounds).len()))
                .collect();
            let (sd, rd) = (displs(&scounts), displs(&rcounts));
            rbuf.clear();
            rbuf.resize(rcounts.iter().map(|&c| c as usize).sum(), T::default());
            {
                let spart = Partition::new(&sbuf[..], &scounts[..], &sd[..]);
                let mut rpart = PartitionMut::new(&mut rbuf[..], &rcounts[..], &rd[..]);
                self.world.all_to_all_varcount_into(&spart, &mut rpart);
            }
            for (s, dst) in per_source.iter_mut().enumerate() {
                let a = rd[s] as usize;
                dst.extend_from_slice(&rbuf[a..a + rcounts[s] as usize]);
            }
        }
        per_source.concat()
    }

    /// `data` from rank `root` to every rank (others pass anything; their
    /// vector is replaced), in rounds for large data.
    pub fn broadcast<T: Equivalence + Copy + Default>(&self, root: usize, data: &mut Vec<T>) {
        let mut len = data.len() as u64;
        let proc = self.world.process_at_rank(count(root));
        proc.broadcast_into(&mut len);
        if self.rank != root {
            data.clear();
            data.resize(len as usize, T::default());
        } else {
            self.add_sent((8 + std::mem::size_of_val(&data[..])) * (self.size - 1));
        }
        for chunk in data.chunks_mut(max_message()) {
            proc.broadcast_into(chunk);
        }
    }

    /// Agrees on the outcome of a phase: when any rank failed, every rank
    /// returns the same [`Error::Distributed`] carrying the lowest failing
    /// rank's message; otherwise each rank keeps its own `Ok`.
    ///
    /// # Errors
    /// The agreed error.
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        let flag = if result.is_err() {
            self.rank
        } else {
            self.size
        } as u64;
        let mut lowest = 0u64;
        self.world
            .all_reduce_into(&flag, &mut lowest, SystemOperation::min());
        self.add_sent(8 * (self.size - 1));
        let lowest = lowest as usize;
        if lowest >= self.size {
            return result;
        }
        let mut msg: Vec<u8> = match &result {
            Err(e) if self.rank == lowest => match e {
                Error::Distributed { message, .. } => message.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            },
            _ => Vec::new(),
        };
        self.broadcast(lowest, &mut msg);
        Err(Error::Distributed {
            rank: lowest,
            message: String::from_utf8_lossy(&msg).into_owned(),
        })
    }
}
