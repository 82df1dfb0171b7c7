//! The background worker of a collection:
//!
//! - it puts appended rows into the HNSW graphs after the write that
//!   appended them has returned, so that no acknowledged write waits for
//!   graph construction (until a row is indexed, searches score it
//!   exactly: it is searchable at once);
//! - it fsyncs the log within about a second of a `wait = false` write,
//!   as the durability contract asks, in the library as in the server.
//!
//! One thread per collection, started by the first write that needs it and
//! stopped when the collection is dropped. It indexes in chunks of
//! [`CHUNK`] rows on the collection's pool, holding the segment's index
//! lock for one chunk at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};
use rayon::ThreadPool;

use crate::segment::Segment;

/// Rows indexed per step.
pub(crate) const CHUNK: usize = 1024;

/// The current segment, shared with the indexer thread.
pub(crate) type SegmentSlot = Arc<RwLock<Arc<Segment>>>;

/// The collection's writer state (log included), shared with the thread.
pub(crate) type WriterSlot = Arc<Mutex<crate::collection::Writer>>;

/// How long a `wait = false` write may stay unsynced.
const SYNC_EVERY: Duration = Duration::from_secs(1);

struct Shared {
    pending: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
}

/// A collection's indexer thread.
pub(crate) struct Indexer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Indexer {
    /// Starts the thread.
    pub(crate) fn spawn(
        slot: SegmentSlot,
        writer: WriterSlot,
        pool: Option<Arc<ThreadPool>>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(true),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vicinity-indexer".into())
            .spawn(move || run(&s, &slot, &writer, pool.as_deref()))?;
        Ok(Indexer {
            shared,
            thread: Some(thread),
        })
    }

    /// Tells the thread that rows wait.
    pub(crate) fn notify(&self) {
        *self.shared.pending.lock() = true;
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared, slot: &SegmentSlot, writer: &WriterSlot, pool: Option<&ThreadPool>) {
    loop {
        {
            let mut pending = shared.pending.lock();
            if !*pending && !shared.stop.load(Ordering::Acquire) {
                shared.wake.wait_for(&mut pending, SYNC_EVERY);
            }
            *pending = false;
        }
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        {
            // what `wait = false` writes left unsynced; an error shows
            // again at the next sync a caller waits for
            let mut w = writer.lock();
            if let Some(wal) = w.wal.as_mut()
                && wal.is_dirty()
            {
                let _ = wal.sync();
            }
        }
        loop {
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            let segment = slot.read().clone();
            let done = segment.index_some(CHUNK, pool);
            if done == 0 {
                break;
            }
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.notify();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
