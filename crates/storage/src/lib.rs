//! Vicinity's byte layer.
//!
//! This crate knows bytes, not vectors or JSON: the [`PointOffset`] row
//! address every other crate indexes by, and [`AppendRows`], a column of
//! fixed-width rows that one writer appends to while any number of readers
//! read the rows already published, without a lock.
//!
//! It is the only crate of the workspace that contains `unsafe` code, all of
//! it in the [`mmap`] module.
//!
//! ```
//! use vicinity_storage::{AppendRows, PointOffset};
//!
//! let rows = AppendRows::<f32>::new(3).unwrap();
//! let first = rows.push(&[1.0, 2.0, 3.0]).unwrap();
//! assert_eq!(first, PointOffset(0));
//! assert_eq!(rows.get(first), Some(&[1.0, 2.0, 3.0][..]));
//! assert_eq!(rows.len(), 1);
//! ```

mod error;
pub mod io;
mod lock;
pub mod mmap;
mod offset;
pub mod wal;

pub use error::StorageError;
pub use io::{Io, SimIo, StdIo};
pub use lock::FolderLock;
pub use mmap::{AppendRows, AppendRuns, MappedFile, ZeroedArray, as_bf16, as_f16, prefetch};
pub use offset::PointOffset;
pub use wal::{Wal, WalRecord};
