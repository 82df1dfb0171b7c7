//! What every service shares: the database and the per-collection settings
//! that the engine does not keep but clients expect echoed back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;
use tonic::Status;
use vicinity::Database;

use crate::pb;
use crate::status::from_engine;

/// Settings accepted at creation (or by `UpdateCollection`) that the
/// engine does not use, kept so that `GetCollectionInfo` echoes them.
#[derive(Clone, Debug)]
pub struct CollectionMeta {
    /// When the collection was created.
    pub created_at: prost_types::Timestamp,
    /// Optimizer settings, Qdrant's defaults where not given.
    pub optimizers: pb::OptimizersConfigDiff,
    /// WAL settings, Qdrant's defaults where not given.
    pub wal: pb::WalConfigDiff,
    /// The HNSW fields the engine has no use for (threads, on_disk, payload_m).
    pub hnsw_extra: pb::HnswConfigDiff,
    /// Whether payloads are said to be on disk.
    pub on_disk_payload: bool,
    /// The shard count asked for (one shard is used).
    pub shard_number: u32,
    /// The user's collection metadata.
    pub metadata: HashMap<String, pb::Value>,
}

impl CollectionMeta {
    /// Qdrant's defaults, created now.
    pub fn new() -> Self {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        CollectionMeta {
            created_at: prost_types::Timestamp {
                seconds: i64::try_from(now.as_secs()).unwrap_or(0),
                nanos: i32::try_from(now.subsec_nanos()).unwrap_or(0),
            },
            optimizers: pb::OptimizersConfigDiff {
                deleted_threshold: Some(0.2),
                vacuum_min_vector_number: Some(1000),
                default_segment_number: Some(0),
                max_segment_size: None,
                memmap_threshold: None,
                indexing_threshold: Some(10_000),
                flush_interval_sec: Some(5),
                deprecated_max_optimization_threads: None,
                max_optimization_threads: None,
                prevent_unoptimized: None,
            },
            wal: pb::WalConfigDiff {
                wal_capacity_mb: Some(32),
                wal_segments_ahead: Some(0),
                wal_retain_closed: Some(1),
            },
            hnsw_extra: pb::HnswConfigDiff::default(),
            on_disk_payload: true,
            shard_number: 1,
            metadata: HashMap::new(),
        }
    }
}

impl Default for CollectionMeta {
    fn default() -> Self {
        Self::new()
    }
}

/// The state the services share.
#[derive(Default)]
pub struct State {
    /// The collections.
    pub db: Database,
    /// Echoed settings, by collection name (not alias).
    pub meta: RwLock<HashMap<String, CollectionMeta>>,
}

impl State {
    /// A state over an empty in-memory database.
    pub fn new() -> Arc<Self> {
        Arc::new(State::default())
    }

    /// A state over a database (durable, say: `Database::open(dir)`).
    pub fn with_database(db: Database) -> Arc<Self> {
        Arc::new(State {
            db,
            meta: RwLock::default(),
        })
    }

    /// A collection by name or alias.
    pub fn collection(&self, name: &str) -> Result<Arc<vicinity::Collection>, Status> {
        self.db.collection(name).map_err(from_engine)
    }

    /// The echoed settings of a collection (defaults if it was created
    /// around the server).
    pub fn meta_of(&self, name: &str) -> CollectionMeta {
        self.meta.read().get(name).cloned().unwrap_or_default()
    }
}
