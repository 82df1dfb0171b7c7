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
    /// A column was created with a row width of zero or a zero-sized type.
    #[error("a column needs a row width of at least one non-zero-sized element")]
    ZeroWidth,
}
