use std::path::PathBuf;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The operating system refused an operation on a file or a mapping.
    #[error("I/O error on {path}: {source}", path = path.display())]
    Io {
        /// The file or mapping concerned (`<anonymous>` for memory-only columns).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A row did not have the width the column was created with.
    #[error("row has {got} elements, the column holds rows of {expected}")]
    RowWidth {
        /// The column's row width.
        expected: usize,
        /// The width of the rejected row.
        got: usize,
    },
    /// The column cannot address more rows (the offset space is `u32`).
    #[error("the column is full: at most {max} rows")]
    Full {
        /// The largest number of rows a column holds.
        max: u64,
    },
    /// Stored bytes failed a check.
    #[error("corrupted file {path} at byte {offset}: {reason}", path = path.display())]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A file written by a newer (or unknown) format version.
    #[error("{path} has format version {found}; this build reads version {supported}", path = path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A WAL record over the size limit.
    #[error("a WAL record of {len} bytes is over the limit of {max}")]
    RecordTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Another process holds the folder.
    #[error("{path} is in use by another process (its lock file is held)", path = path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A column was created with a row width of zero or a zero-sized type.
    #[error("a column needs a row width of at least one non-zero-sized element")]
    ZeroWidth,
}
