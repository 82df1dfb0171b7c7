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
    /// The user's collection metadata (kept with the collection, in its
    /// settings, and read back by [`State::meta_of`]).
    pub metadata: HashMap<String, pb::Value>,
    /// The strict mode (kept with the collection likewise).
    pub strict_mode: crate::strict::StrictModeConfig,
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
            strict_mode: crate::strict::StrictModeConfig::disabled(),
        }
    }
}

impl Default for CollectionMeta {
    fn default() -> Self {
        Self::new()
    }
}

/// The key of a collection's metadata in its settings.
const METADATA_KEY: &str = "metadata";

/// The state the services share.
pub struct State {
    /// The collections.
    pub db: Database,
    /// Echoed settings, by collection name (not alias).
    pub meta: RwLock<HashMap<String, CollectionMeta>>,
    /// Request counts and latencies, both protocols.
    pub metrics: crate::metrics::Metrics,
    /// This server's id in telemetry (random per start).
    pub id: String,
    /// When the state was made (RFC 3339), reported as the start time.
    pub started_at: String,
    /// The collections' enforced strict modes.
    pub strict: crate::strict::Registry,
    /// The most collections [`create_collection`](State::create_collection)
    /// makes (`usize::MAX`: no limit).
    max_collections: std::sync::atomic::AtomicUsize,
}

impl State {
    /// A state over an empty in-memory database.
    pub fn new() -> Arc<Self> {
        Self::with_database(Database::new())
    }

    /// A state over a database (durable, say: `Database::open(dir)`).
    pub fn with_database(db: Database) -> Arc<Self> {
        Arc::new(State {
            db,
            meta: RwLock::default(),
            metrics: crate::metrics::Metrics::default(),
            id: uuid::Uuid::new_v4().to_string(),
            started_at: now_rfc3339(),
            strict: crate::strict::Registry::default(),
            max_collections: std::sync::atomic::AtomicUsize::new(usize::MAX),
        })
    }

    /// A collection by name or alias.
    pub fn collection(&self, name: &str) -> Result<Arc<vicinity::Collection>, Status> {
        self.db.collection(name).map_err(from_engine)
    }

    /// The echoed settings of a collection (defaults if it was created
    /// around the server), with the metadata and strict mode kept with it.
    pub fn meta_of(&self, c: &vicinity::Collection) -> CollectionMeta {
        let mut meta = self.meta.read().get(c.name()).cloned().unwrap_or_default();
        meta.strict_mode = crate::strict::StrictModeConfig::of(c);
        if let Some(serde_json::Value::Object(m)) = c.settings().get(METADATA_KEY) {
            meta.metadata = crate::grpc::convert::value::map_to_proto(m.clone());
        }
        meta
    }

    /// Limits the number of collections `create_collection` makes (Qdrant's
    /// `storage.max_collections`); `None`: no limit.
    pub fn set_max_collections(&self, max: Option<usize>) {
        self.max_collections.store(
            max.unwrap_or(usize::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Creates a collection with its echoed settings; its strict mode and
    /// metadata are kept with it (they survive restarts and travel in
    /// snapshots).
    pub fn create_collection(
        &self,
        name: &str,
        config: vicinity::CollectionConfig,
        meta: CollectionMeta,
    ) -> Result<(), Status> {
        meta.strict_mode.validate()?;
        let max = self
            .max_collections
            .load(std::sync::atomic::Ordering::Relaxed);
        if self.db.list_collections().len() >= max && !self.db.collection_exists(name) {
            return Err(Status::invalid_argument(format!(
                "Bad request: Can't create collection with name {name}. Max collections limit reached: {max}"
            )));
        }
        let c = self
            .db
            .create_collection(name, config)
            .map_err(from_engine)?;
        self.strict.set(&c, meta.strict_mode.clone())?;
        self.add_metadata(&c, meta.metadata.clone())?;
        self.meta.write().insert(name.to_string(), meta);
        Ok(())
    }

    /// Merges keys into a collection's metadata (kept with it).
    pub fn add_metadata(
        &self,
        c: &vicinity::Collection,
        extra: HashMap<String, pb::Value>,
    ) -> Result<(), Status> {
        if extra.is_empty() {
            return Ok(());
        }
        let mut settings = c.settings();
        let mut metadata = match settings.remove(METADATA_KEY) {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        for (k, v) in extra {
            metadata.insert(k, crate::grpc::convert::value::json_from_proto(v)?);
        }
        settings.insert(METADATA_KEY.into(), serde_json::Value::Object(metadata));
        c.set_settings(settings).map_err(from_engine)
    }
}

/// Now, as RFC 3339 UTC (`2026-12-05T21:27:25.123Z`).
pub(crate) fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_millis())
}

/// Seconds since the epoch (and milliseconds) as RFC 3339 UTC.
pub(crate) fn rfc3339(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            super::rfc3339(1_796_505_445, 123),
            "2026-12-05T21:17:25.123Z"
        );
    }
}
