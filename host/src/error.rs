//! The host's one error type.

use std::path::PathBuf;

/// Everything the host library can fail with. Messages name what and where
/// (file:line, argument, index).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A kernel function rejected its input.
    #[error("{context}: {source}")]
    Kernel {
        /// What the host was doing (e.g. "solving user 17").
        context: String,
        /// The kernel's error.
        source: wmf_kernel::Error,
    },
    /// An input line could not be parsed.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// An I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model or checkpoint file is malformed, truncated, corrupted or of an unknown version.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// An argument or configuration value is invalid.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// The argument's name.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// A distributed run stopped on every rank because one rank failed; the
    /// message is that rank's error (the lowest failing rank's, when several).
    #[error("{message} (rank {rank})")]
    Distributed {
        /// The lowest rank that failed.
        rank: usize,
        /// Its error.
        message: String,
    },
}

/// Result type of the host library.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Invalid`].
    pub fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            message: message.into(),
        }
    }

    /// Wraps a kernel error with context.
    pub fn kernel(context: impl Into<String>, source: wmf_kernel::Error) -> Self {
        Error::Kernel {
            context: context.into(),
            source,
        }
    }
}
