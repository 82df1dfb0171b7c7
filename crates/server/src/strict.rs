//! Strict mode: the per-collection limits Qdrant enforces when a
//! collection's `strict_mode_config` has `enabled: true` (query limits,
//! timeouts, unindexed filters, exact search, `hnsw_ef`, oversampling,
//! batch sizes, collection size, filter size, read and write rates).
//!
//! The checks run on the engine's request types, after either protocol
//! has decoded a request and before the engine runs it, so gRPC and REST
//! refuse the same requests with the same words: Qdrant's ("Bad request:
//! Limit exceeded 10 > 4 for \"limit\". Help: ..."; rate limits as
//! `ResourceExhausted` / HTTP 429).
//!
//! The configuration is kept with the collection (its engine settings,
//! under `strict_mode`), so it survives restarts and travels in snapshots.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tonic::Status;
use vicinity::{
    Collection, Condition, FacetRequest, FieldCondition, FieldType, Filter, Match, MatchValue,
    Query, QueryGroupsRequest, QueryRequest, ScrollRequest, SearchMatrixRequest, SearchParams,
    SearchRequest,
};

use crate::ops::WriteOp;
use crate::pb;
use crate::status::validation;

/// The key of the strict mode configuration in a collection's settings.
const SETTINGS_KEY: &str = "strict_mode";

/// Per-vector limit of a multivector's sub-vectors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultivectorLimit {
    /// Most sub-vectors in one multivector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_vectors: Option<u64>,
}

/// Per-vector limit of a sparse vector's length.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseLimit {
    /// Most indices in one sparse vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

/// A collection's `strict_mode_config`, in Qdrant's JSON shape (every field
/// optional; an unset limit is no limit).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrictModeConfig {
    /// Whether the limits are enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Largest `limit` (for groups, `limit * group_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_query_limit: Option<u64>,
    /// Largest `timeout`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_timeout: Option<u64>,
    /// `false`: read filters may only use keys with a fitting index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unindexed_filtering_retrieve: Option<bool>,
    /// `false`: filtered updates may only use keys with a fitting index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unindexed_filtering_update: Option<bool>,
    /// Largest `hnsw_ef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_max_hnsw_ef: Option<u64>,
    /// `false`: exact search is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_allow_exact: Option<bool>,
    /// Largest quantization `oversampling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_max_oversampling: Option<f64>,
    /// Most points in one upsert or vector update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upsert_max_batchsize: Option<u64>,
    /// Most searches in one batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_max_batchsize: Option<u64>,
    /// Vector storage size at which inserts stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_collection_vector_size_bytes: Option<u64>,
    /// Read operations (cost units) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_rate_limit: Option<u64>,
    /// Write operations (affected points) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_rate_limit: Option<u64>,
    /// Payload storage size at which inserts stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_collection_payload_size_bytes: Option<u64>,
    /// Point count at which inserts stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_points_count: Option<u64>,
    /// Most conditions in one filter, nested ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_max_conditions: Option<u64>,
    /// Most values in one condition (`any`, `except`, `has_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_max_size: Option<u64>,
    /// Multivector limits by vector name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multivector_config: Option<BTreeMap<String, MultivectorLimit>>,
    /// Sparse vector limits by vector name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_config: Option<BTreeMap<String, SparseLimit>>,
    /// Most payload indexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload_index_count: Option<u64>,
    /// Resident memory (percent of the machine's) at which inserts stop
    /// (deprecated upstream, still enforced there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_resident_memory_percent: Option<u64>,
}

impl StrictModeConfig {
    /// The configuration a collection starts with: disabled.
    pub fn disabled() -> Self {
        StrictModeConfig {
            enabled: Some(false),
            ..Self::default()
        }
    }

    /// This configuration with every field `diff` sets replaced (how
    /// create and update apply a `strict_mode_config`).
    pub fn merged(&self, diff: &StrictModeConfig) -> Self {
        macro_rules! pick {
            ($($f:ident),*) => {
                StrictModeConfig { $($f: diff.$f.clone().or_else(|| self.$f.clone())),* }
            };
        }
        pick!(
            enabled,
            max_query_limit,
            max_timeout,
            unindexed_filtering_retrieve,
            unindexed_filtering_update,
            search_max_hnsw_ef,
            search_allow_exact,
            search_max_oversampling,
            upsert_max_batchsize,
            search_max_batchsize,
            max_collection_vector_size_bytes,
            read_rate_limit,
            write_rate_limit,
            max_collection_payload_size_bytes,
            max_points_count,
            filter_max_conditions,
            condition_max_size,
            multivector_config,
            sparse_config,
            max_payload_index_count,
            max_resident_memory_percent
        )
    }

    /// Checks the ranges Qdrant validates.
    pub fn validate(&self) -> Result<(), Status> {
        let at_least_one = [
            ("max_query_limit", self.max_query_limit),
            ("max_timeout", self.max_timeout),
            ("read_rate_limit", self.read_rate_limit),
            ("write_rate_limit", self.write_rate_limit),
            ("max_points_count", self.max_points_count),
        ];
        for (name, value) in at_least_one {
            if value == Some(0) {
                return Err(validation(
                    &format!("strict_mode_config.{name}"),
                    "value 0 invalid, must be 1 or more",
                ));
            }
        }
        if let Some(p) = self.max_resident_memory_percent
            && !(1..=100).contains(&p)
        {
            return Err(validation(
                "strict_mode_config.max_resident_memory_percent",
                format!("value {p} invalid, must be from 1 to 100"),
            ));
        }
        Ok(())
    }

    /// From the wire.
    pub fn from_proto(p: pb::StrictModeConfig) -> Self {
        StrictModeConfig {
            enabled: p.enabled,
            max_query_limit: p.max_query_limit.map(u64::from),
            max_timeout: p.max_timeout.map(u64::from),
            unindexed_filtering_retrieve: p.unindexed_filtering_retrieve,
            unindexed_filtering_update: p.unindexed_filtering_update,
            search_max_hnsw_ef: p.search_max_hnsw_ef.map(u64::from),
            search_allow_exact: p.search_allow_exact,
            search_max_oversampling: p.search_max_oversampling.map(f64::from),
            upsert_max_batchsize: p.upsert_max_batchsize,
            search_max_batchsize: p.search_max_batchsize,
            max_collection_vector_size_bytes: p.max_collection_vector_size_bytes,
            read_rate_limit: p.read_rate_limit.map(u64::from),
            write_rate_limit: p.write_rate_limit.map(u64::from),
            max_collection_payload_size_bytes: p.max_collection_payload_size_bytes,
            max_points_count: p.max_points_count,
            filter_max_conditions: p.filter_max_conditions,
            condition_max_size: p.condition_max_size,
            multivector_config: p.multivector_config.map(|m| {
                m.multivector_config
                    .into_iter()
                    .map(|(k, v)| {
                        let limit = MultivectorLimit {
                            max_vectors: v.max_vectors,
                        };
                        (k, limit)
                    })
                    .collect()
            }),
            sparse_config: p.sparse_config.map(|m| {
                m.sparse_config
                    .into_iter()
                    .map(|(k, v)| {
                        let limit = SparseLimit {
                            max_length: v.max_length,
                        };
                        (k, limit)
                    })
                    .collect()
            }),
            max_payload_index_count: p.max_payload_index_count,
            max_resident_memory_percent: p.max_resident_memory_percent.map(u64::from),
        }
    }

    /// For the wire (limits beyond a field's width are clamped).
    pub fn to_proto(&self) -> pb::StrictModeConfig {
        let u32_of = |v: Option<u64>| v.map(|v| u32::try_from(v).unwrap_or(u32::MAX));
        pb::StrictModeConfig {
            enabled: self.enabled,
            max_query_limit: u32_of(self.max_query_limit),
            max_timeout: u32_of(self.max_timeout),
            unindexed_filtering_retrieve: self.unindexed_filtering_retrieve,
            unindexed_filtering_update: self.unindexed_filtering_update,
            search_max_hnsw_ef: u32_of(self.search_max_hnsw_ef),
            search_allow_exact: self.search_allow_exact,
            search_max_oversampling: self.search_max_oversampling.map(|v| v as f32),
            upsert_max_batchsize: self.upsert_max_batchsize,
            max_collection_vector_size_bytes: self.max_collection_vector_size_bytes,
            read_rate_limit: u32_of(self.read_rate_limit),
            write_rate_limit: u32_of(self.write_rate_limit),
            max_collection_payload_size_bytes: self.max_collection_payload_size_bytes,
            filter_max_conditions: self.filter_max_conditions,
            condition_max_size: self.condition_max_size,
            multivector_config: self.multivector_config.as_ref().map(|m| {
                pb::StrictModeMultivectorConfig {
                    multivector_config: m
                        .iter()
                        .map(|(k, v)| {
                            let limit = pb::StrictModeMultivector {
                                max_vectors: v.max_vectors,
                            };
                            (k.clone(), limit)
                        })
                        .collect(),
                }
            }),
            sparse_config: self
                .sparse_config
                .as_ref()
                .map(|m| pb::StrictModeSparseConfig {
                    sparse_config: m
                        .iter()
                        .map(|(k, v)| {
                            let limit = pb::StrictModeSparse {
                                max_length: v.max_length,
                            };
                            (k.clone(), limit)
                        })
                        .collect(),
                }),
            max_points_count: self.max_points_count,
            max_payload_index_count: self.max_payload_index_count,
            search_max_batchsize: self.search_max_batchsize,
            max_resident_memory_percent: u32_of(self.max_resident_memory_percent),
        }
    }

    /// The configuration kept with a collection (disabled if none).
    pub fn of(c: &Collection) -> Self {
        c.settings()
            .get(SETTINGS_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_else(Self::disabled)
    }

    /// Keeps `self` with the collection (durably, for a durable one).
    pub fn store(&self, c: &Collection) -> Result<(), Status> {
        let mut settings = c.settings();
        let value = serde_json::to_value(self).map_err(|e| Status::internal(e.to_string()))?;
        settings.insert(SETTINGS_KEY.into(), value);
        c.set_settings(settings).map_err(crate::status::from_engine)
    }

    fn on(&self) -> bool {
        self.enabled == Some(true)
    }
}

/// Qdrant's token bucket: `per_minute` tokens, refilled evenly, starting
/// full.
#[derive(Debug)]
struct RateLimiter {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    fn per_minute(n: u64) -> Self {
        RateLimiter {
            capacity: n as f64,
            per_second: n as f64 / 60.0,
            tokens: n as f64,
            last: Instant::now(),
        }
    }

    fn take(&mut self, cost: usize, kind: &str) -> Result<(), Status> {
        let cost = cost as f64;
        if cost > self.capacity {
            return Err(Status::resource_exhausted(format!(
                "Rate limiting exceeded: {kind} rate limit exceeded, request larger than rate limiter capacity, please try to split your request"
            )));
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= cost {
            self.tokens -= cost;
            return Ok(());
        }
        let wait = Duration::from_secs_f64((cost - self.tokens) / self.per_second);
        Err(Status::resource_exhausted(format!(
            "Rate limiting exceeded: {kind} rate limit exceeded: Operation requires {cost} tokens but only {:.1} were available. Retry after {}s",
            self.tokens,
            wait.as_secs_f32().ceil() as u32
        )))
    }
}

/// An enabled strict mode with its rate limiters.
#[derive(Debug)]
pub struct Enforced {
    /// The configuration.
    pub config: StrictModeConfig,
    read: Option<Mutex<RateLimiter>>,
    write: Option<Mutex<RateLimiter>>,
    /// Payload bytes, estimated at most once a second.
    payload_bytes: Mutex<Option<(Instant, usize)>>,
}

/// A registry entry: the collection object it was built for (its address)
/// and its enforced strict mode, if enabled.
type Entry = (usize, Option<Arc<Enforced>>);

/// The enforced strict modes of the collections, built on first use from
/// each collection's settings and replaced when they change. An entry is
/// tied to the collection object it was built for, so a collection that is
/// recreated or restored from a snapshot gets its own.
#[derive(Debug, Default)]
pub struct Registry {
    by_name: Mutex<HashMap<String, Entry>>,
}

impl Registry {
    /// The enforced strict mode of `c`, if enabled.
    pub fn of(&self, c: &Arc<Collection>) -> Option<Arc<Enforced>> {
        let id = Arc::as_ptr(c) as usize;
        let mut map = self.by_name.lock();
        if let Some((at, e)) = map.get(c.name())
            && *at == id
        {
            return e.clone();
        }
        let e = Self::build(StrictModeConfig::of(c));
        map.insert(c.name().to_string(), (id, e.clone()));
        e
    }

    /// Replaces the strict mode of `c` with `config` (kept with it first).
    pub fn set(&self, c: &Arc<Collection>, config: StrictModeConfig) -> Result<(), Status> {
        config.validate()?;
        let mut map = self.by_name.lock();
        config.store(c)?;
        let id = Arc::as_ptr(c) as usize;
        map.insert(c.name().to_string(), (id, Self::build(config)));
        Ok(())
    }

    fn build(config: StrictModeConfig) -> Option<Arc<Enforced>> {
        if !config.on() {
            return None;
        }
        let limiter = |n: Option<u64>| n.map(|n| Mutex::new(RateLimiter::per_minute(n)));
        Some(Arc::new(Enforced {
            read: limiter(config.read_rate_limit),
            write: limiter(config.write_rate_limit),
            config,
            payload_bytes: Mutex::new(None),
        }))
    }
}

/// A strict mode refusal: Qdrant's "Bad request: {what}. Help: {help}".
fn refuse(what: impl Display, help: impl Display) -> Status {
    Status::invalid_argument(format!("Bad request: {what}. Help: {help}"))
}

/// Qdrant's `check_limit_opt`: refused when both are set and the value
/// is above the limit.
fn limit<T: PartialOrd + Display>(
    value: Option<T>,
    max: Option<T>,
    name: &str,
) -> Result<(), Status> {
    match (value, max) {
        (Some(v), Some(m)) if v > m => Err(refuse(
            format!("Limit exceeded {v} > {m} for \"{name}\""),
            format!("Reduce the \"{name}\" parameter to or below {m}."),
        )),
        _ => Ok(()),
    }
}

/// A read, as the engine will run it.
#[derive(Clone, Copy, Debug)]
pub enum Read<'a> {
    /// A nearest-neighbour search.
    Search(&'a SearchRequest),
    /// A universal query (recommend and discover too).
    Query(&'a QueryRequest),
    /// A grouped query.
    Groups(&'a QueryGroupsRequest),
    /// A scroll.
    Scroll(&'a ScrollRequest),
    /// A count.
    Count {
        /// Its filter.
        filter: Option<&'a Filter>,
        /// Whether it asked for an exact count.
        exact: bool,
    },
    /// A facet.
    Facet {
        /// The request.
        request: &'a FacetRequest,
        /// Whether it asked for exact counts.
        exact: bool,
    },
    /// A distance matrix.
    Matrix(&'a SearchMatrixRequest),
    /// Points by id.
    Retrieve(usize),
}

/// Checks reads (one request, or a batch when `batch` is set) against the
/// collection's strict mode, then takes their cost from its read rate
/// limit. Without an enabled strict mode it does nothing.
pub fn check_reads(
    strict: &Registry,
    c: &Arc<Collection>,
    reads: &[Read<'_>],
    batch: bool,
    timeout: Option<u64>,
) -> Result<(), Status> {
    let Some(e) = strict.of(c) else {
        return Ok(());
    };
    let cfg = &e.config;
    if batch {
        limit(
            Some(reads.len() as u64),
            cfg.search_max_batchsize,
            "search batch size",
        )?;
    }
    let schema = c.payload_schema();
    let mut cost = 0;
    for read in reads {
        check_read(cfg, c, &schema, read)?;
        cost += read_cost(read);
    }
    limit(timeout, cfg.max_timeout, "timeout")?;
    if let Some(r) = &e.read {
        r.lock().take(cost, "Read")?;
    }
    Ok(())
}

type Schema = BTreeMap<String, vicinity::PayloadIndexInfo>;

fn check_read(
    cfg: &StrictModeConfig,
    c: &Collection,
    schema: &Schema,
    read: &Read<'_>,
) -> Result<(), Status> {
    let read_filter = |f: Option<&Filter>| filter(cfg, schema, f, cfg.unindexed_filtering_retrieve);
    match *read {
        Read::Search(r) => {
            limit(Some(r.limit as u64), cfg.max_query_limit, "limit")?;
            read_filter(r.filter.as_ref())?;
            params(cfg, &r.params)
        }
        Read::Query(r) => query(cfg, c, schema, r),
        Read::Groups(g) => {
            if g.query.prefetch.is_empty() {
                fullscan(cfg, c, g.query.query.as_ref(), &g.query.using)?;
            }
            group_field(cfg, schema, &g.group_by.to_string())?;
            let n = (g.limit as u64).saturating_mul(g.group_size as u64);
            limit(Some(n), cfg.max_query_limit, "limit")?;
            read_filter(g.query.filter.as_ref())?;
            params(cfg, &g.query.params)
        }
        Read::Scroll(r) => {
            limit(Some(r.limit as u64), cfg.max_query_limit, "limit")?;
            read_filter(r.filter.as_ref())
        }
        Read::Count { filter, exact } => {
            read_filter(filter)?;
            exact_allowed(cfg, exact)
        }
        Read::Facet { request, exact } => {
            limit(Some(request.limit as u64), cfg.max_query_limit, "limit")?;
            read_filter(request.filter.as_ref())?;
            exact_allowed(cfg, exact)
        }
        Read::Matrix(m) => {
            let n = (m.limit as u64).saturating_mul(m.sample as u64);
            limit(Some(n), cfg.max_query_limit, "limit")?;
            read_filter(m.filter.as_ref())
        }
        Read::Retrieve(_) => Ok(()),
    }
}

fn query(
    cfg: &StrictModeConfig,
    c: &Collection,
    schema: &Schema,
    r: &QueryRequest,
) -> Result<(), Status> {
    // Qdrant's order: the prefetches (recursively), the full-scan rule,
    // then this level's limit, filter and parameters
    fn prefetch(
        cfg: &StrictModeConfig,
        c: &Collection,
        schema: &Schema,
        p: &vicinity::Prefetch,
    ) -> Result<(), Status> {
        for inner in &p.prefetch {
            prefetch(cfg, c, schema, inner)?;
        }
        fullscan(cfg, c, p.query.as_ref(), &p.using)?;
        limit(Some(p.limit as u64), cfg.max_query_limit, "limit")?;
        filter(
            cfg,
            schema,
            p.filter.as_ref(),
            cfg.unindexed_filtering_retrieve,
        )?;
        params(cfg, &p.params)
    }
    for p in &r.prefetch {
        prefetch(cfg, c, schema, p)?;
    }
    if r.prefetch.is_empty() {
        fullscan(cfg, c, r.query.as_ref(), &r.using)?;
    }
    limit(Some(r.limit as u64), cfg.max_query_limit, "limit")?;
    filter(
        cfg,
        schema,
        r.filter.as_ref(),
        cfg.unindexed_filtering_retrieve,
    )?;
    params(cfg, &r.params)
}

/// With exact search disallowed, a vector query on a vector without a
/// graph (`hnsw_config.m = 0`) would scan everything: refused.
fn fullscan(
    cfg: &StrictModeConfig,
    c: &Collection,
    q: Option<&Query>,
    using: &str,
) -> Result<(), Status> {
    if cfg.search_allow_exact != Some(false) {
        return Ok(());
    }
    let vector_query = matches!(
        q,
        Some(
            Query::Nearest(_)
                | Query::NearestMmr { .. }
                | Query::RelevanceFeedback { .. }
                | Query::Recommend { .. }
                | Query::Discover { .. }
                | Query::Context(_)
        )
    );
    if !vector_query || c.config().hnsw_for(using).m > 0 {
        return Ok(());
    }
    let on = if using.is_empty() {
        String::new()
    } else {
        format!(" on '{using}'")
    };
    Err(refuse(
        format!(
            "Request is forbidden{on} because global vector indexing is disabled (hnsw_config.m = 0)"
        ),
        "Use tenant-specific filter, enable global vector indexing or enable strict mode `search_allow_exact` option",
    ))
}

fn exact_allowed(cfg: &StrictModeConfig, exact: bool) -> Result<(), Status> {
    if exact && cfg.search_allow_exact == Some(false) {
        return Err(refuse("Exact search disabled!", "Set exact=false."));
    }
    Ok(())
}

fn params(cfg: &StrictModeConfig, p: &SearchParams) -> Result<(), Status> {
    limit(
        p.quantization.and_then(|q| q.oversampling),
        cfg.search_max_oversampling,
        "oversampling",
    )?;
    limit(
        p.hnsw_ef.map(|ef| ef as u64),
        cfg.search_max_hnsw_ef,
        "hnsw_ef",
    )?;
    exact_allowed(cfg, p.exact)
}

fn group_field(cfg: &StrictModeConfig, schema: &Schema, key: &str) -> Result<(), Status> {
    if cfg.unindexed_filtering_retrieve != Some(false) {
        return Ok(());
    }
    match schema.get(key) {
        Some(info)
            if matches!(
                info.params.field_type,
                FieldType::Keyword | FieldType::Integer | FieldType::Bool | FieldType::Uuid
            ) =>
        {
            Ok(())
        }
        Some(info) => Err(refuse(
            format!(
                "Index of type \"{}\" found for \"{key}\"",
                kind_name(info.params.field_type)
            ),
            "Create an index supporting `match` for this key.",
        )),
        None => Err(refuse(
            format!("Index required but not found for \"{key}\""),
            "Create an index supporting `match` for this key.",
        )),
    }
}

/// Qdrant's Debug spelling of a schema kind.
fn kind_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Keyword => "Keyword",
        FieldType::Integer => "Integer",
        FieldType::Float => "Float",
        FieldType::Bool => "Bool",
        FieldType::Geo => "Geo",
        FieldType::Text => "Text",
        FieldType::Datetime => "Datetime",
        FieldType::Uuid => "Uuid",
    }
}

/// The filter checks: indexed keys (when `unindexed` is `Some(false)`),
/// then the condition count and size.
fn filter(
    cfg: &StrictModeConfig,
    schema: &Schema,
    f: Option<&Filter>,
    unindexed: Option<bool>,
) -> Result<(), Status> {
    let Some(f) = f else {
        return Ok(());
    };
    if unindexed == Some(false)
        && let Some((key, kinds)) = first_unindexed(schema, f)
    {
        let mut names: Vec<&str> = kinds.iter().map(|k| k.schema_name()).collect();
        names.sort_unstable();
        names.dedup();
        return Err(refuse(
            format!(
                "Index required but not found for \"{key}\" of one of the following types: [{}]",
                names.join(", ")
            ),
            "Create an index for this key or use a different filter.",
        ));
    }
    if let Some(max) = cfg.filter_max_conditions {
        let n = conditions_count(f) as u64;
        if n > max {
            return Err(refuse(
                format!("Filter condition limit reached ({n} > {max})"),
                "Reduce the amount of conditions of your filter.",
            ));
        }
    }
    if let Some(max) = cfg.condition_max_size {
        let n = largest_condition(f) as u64;
        if n > max {
            return Err(refuse(
                format!("Condition size limit reached ({n} > {max})"),
                "Reduce the size of your condition.",
            ));
        }
    }
    Ok(())
}

fn all_conditions(f: &Filter) -> impl Iterator<Item = &Condition> {
    f.must
        .iter()
        .chain(&f.should)
        .chain(&f.must_not)
        .chain(f.min_should.iter().flat_map(|m| &m.conditions))
}

/// Qdrant's `total_conditions_count`: nested filters count their own.
fn conditions_count(f: &Filter) -> usize {
    all_conditions(f)
        .map(|c| match c {
            Condition::Filter(inner) | Condition::Nested { filter: inner, .. } => {
                conditions_count(inner)
            }
            _ => 1,
        })
        .sum()
}

/// Qdrant's `max_condition_input_size`: the longest `any` / `except` /
/// `has_id` list.
fn largest_condition(f: &Filter) -> usize {
    all_conditions(f)
        .map(|c| match c {
            Condition::Field(fc) => match &fc.r#match {
                Some(Match::Any(v) | Match::Except(v)) => v.len(),
                _ => 0,
            },
            Condition::HasId(ids) => ids.len(),
            Condition::Filter(inner) | Condition::Nested { filter: inner, .. } => {
                largest_condition(inner)
            }
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// What an index must be able to do for a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Need {
    IntMatch,
    IntRange,
    KeywordMatch,
    FloatRange,
    Text,
    BoolMatch,
    UuidMatch,
    DatetimeRange,
    Geo,
}

impl Need {
    const ALL: [Need; 9] = [
        Need::IntMatch,
        Need::IntRange,
        Need::KeywordMatch,
        Need::FloatRange,
        Need::Text,
        Need::BoolMatch,
        Need::UuidMatch,
        Need::DatetimeRange,
        Need::Geo,
    ];

    /// The schema Qdrant suggests for it.
    fn schema_name(self) -> &'static str {
        match self {
            Need::IntMatch | Need::IntRange => "integer",
            Need::KeywordMatch => "keyword",
            Need::FloatRange => "float",
            Need::Text => "text",
            Need::BoolMatch => "bool",
            Need::UuidMatch => "uuid",
            Need::DatetimeRange => "datetime",
            Need::Geo => "geo",
        }
    }

    /// Whether an index of type `t` can do it.
    fn met_by(self, t: FieldType) -> bool {
        matches!(
            (self, t),
            (Need::IntMatch | Need::IntRange, FieldType::Integer)
                | (Need::KeywordMatch, FieldType::Keyword)
                | (Need::FloatRange, FieldType::Float)
                | (Need::Text, FieldType::Text)
                | (Need::BoolMatch, FieldType::Bool)
                | (Need::UuidMatch, FieldType::Uuid)
                | (Need::DatetimeRange, FieldType::Datetime)
                | (Need::Geo, FieldType::Geo)
        )
    }
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

fn needs_of_values(values: &[MatchValue]) -> Vec<Need> {
    if values.is_empty() {
        return Vec::new();
    }
    if values.iter().all(|v| matches!(v, MatchValue::Integer(_))) {
        return vec![Need::IntMatch];
    }
    let mut out = Vec::new();
    if values
        .iter()
        .all(|v| matches!(v, MatchValue::Keyword(s) if is_uuid(s)))
    {
        out.push(Need::UuidMatch);
    }
    out.push(Need::KeywordMatch);
    out
}

/// Qdrant's inference of the indexes a field condition can use.
fn needs_of(fc: &FieldCondition) -> Vec<Need> {
    let mut out = Vec::new();
    match &fc.r#match {
        Some(Match::Value(MatchValue::Keyword(s))) => {
            if is_uuid(s) {
                out.push(Need::UuidMatch);
            }
            out.push(Need::KeywordMatch);
        }
        Some(Match::Value(MatchValue::Integer(_))) => out.push(Need::IntMatch),
        Some(Match::Value(MatchValue::Bool(_))) => out.push(Need::BoolMatch),
        Some(Match::Text(_) | Match::TextAny(_) | Match::Phrase(_)) => out.push(Need::Text),
        Some(Match::Any(v) | Match::Except(v)) => out.extend(needs_of_values(v)),
        None => {}
    }
    if let Some(r) = &fc.range {
        if r.is_datetime() {
            out.push(Need::DatetimeRange);
        } else {
            out.extend([Need::FloatRange, Need::IntRange]);
        }
    }
    if fc.geo_bounding_box.is_some() || fc.geo_radius.is_some() || fc.geo_polygon.is_some() {
        out.push(Need::Geo);
    }
    if fc.values_count.is_some() || fc.is_empty.is_some() || fc.is_null.is_some() {
        out.extend(Need::ALL);
    }
    out
}

/// The first key of `f` (in Qdrant's order) that no index of a fitting
/// type covers, with the index types that would.
fn first_unindexed(schema: &Schema, f: &Filter) -> Option<(String, Vec<Need>)> {
    fn walk(
        schema: &Schema,
        prefix: Option<&str>,
        f: &Filter,
        found: &mut Option<(String, Vec<Need>)>,
        once: bool,
    ) {
        for c in all_conditions_qdrant_order(f) {
            let (key, needs) = match c {
                Condition::Field(fc) => (fc.key.to_string(), needs_of(fc)),
                Condition::IsEmpty(k) | Condition::IsNull(k) => (k.to_string(), Need::ALL.to_vec()),
                Condition::Filter(inner) => {
                    walk(schema, prefix, inner, found, false);
                    continue;
                }
                Condition::Nested { key, filter } => {
                    let p = match prefix {
                        Some(p) => format!("{p}.{key}[]"),
                        None => format!("{key}[]"),
                    };
                    walk(schema, Some(&p), filter, found, false);
                    continue;
                }
                Condition::HasId(_) | Condition::HasVector(_) | Condition::Slice { .. } => continue,
            };
            if needs.is_empty() {
                continue;
            }
            let full = match prefix {
                Some(p) => format!("{p}.{key}"),
                None => key,
            };
            let covered = schema
                .get(&full)
                .is_some_and(|info| needs.iter().any(|n| n.met_by(info.params.field_type)));
            if !covered && found.is_none() {
                *found = Some((full, needs));
            }
            if once && found.is_some() {
                return;
            }
        }
    }
    let mut found = None;
    walk(schema, None, f, &mut found, true);
    found
}

/// Qdrant iterates a filter's conditions as should, min_should, must,
/// must_not.
fn all_conditions_qdrant_order(f: &Filter) -> impl Iterator<Item = &Condition> {
    f.should
        .iter()
        .chain(f.min_should.iter().flat_map(|m| &m.conditions))
        .chain(&f.must)
        .chain(&f.must_not)
}

/// Qdrant's read cost: 1 per vector searched (a recommend with three
/// examples costs three), 1 per scroll, count or facet, plus one per filter
/// condition; a retrieve costs its ids.
fn read_cost(read: &Read<'_>) -> usize {
    let f = |f: Option<&Filter>| f.map_or(0, conditions_count);
    fn query_cost(q: Option<&Query>) -> usize {
        match q {
            Some(Query::Nearest(_)) => 1,
            Some(Query::Recommend {
                positive, negative, ..
            }) => (positive.len() + negative.len()).max(1),
            Some(Query::Discover { context, .. }) => 1 + 2 * context.len(),
            Some(Query::Context(pairs)) => (2 * pairs.len()).max(1),
            _ => 1,
        }
    }
    fn prefetch_cost(p: &vicinity::Prefetch) -> usize {
        query_cost(p.query.as_ref())
            + p.filter.as_ref().map_or(0, conditions_count)
            + p.prefetch.iter().map(prefetch_cost).sum::<usize>()
    }
    match read {
        Read::Search(r) => 1 + f(r.filter.as_ref()),
        Read::Query(r) => {
            query_cost(r.query.as_ref())
                + f(r.filter.as_ref())
                + r.prefetch.iter().map(prefetch_cost).sum::<usize>()
        }
        Read::Groups(g) => query_cost(g.query.query.as_ref()) + f(g.query.filter.as_ref()),
        Read::Scroll(r) => 1 + f(r.filter.as_ref()),
        Read::Count { filter, .. } => 1 + f(*filter),
        Read::Facet { request, .. } => 1 + f(request.filter.as_ref()),
        Read::Matrix(m) => m.sample.max(1) + f(m.filter.as_ref()),
        Read::Retrieve(n) => *n,
    }
}

/// Checks a write against the collection's strict mode, then takes its
/// cost (the points it touches) from the write rate limit.
pub fn check_write(
    strict: &Registry,
    c: &Arc<Collection>,
    op: &WriteOp,
    timeout: Option<u64>,
) -> Result<(), Status> {
    let Some(e) = strict.of(c) else {
        return Ok(());
    };
    let cfg = &e.config;
    let schema = c.payload_schema();
    let write_filter = |f: Option<&Filter>| filter(cfg, &schema, f, cfg.unindexed_filtering_update);
    fn selector_filter(s: &vicinity::PointsSelector) -> Option<&Filter> {
        match s {
            vicinity::PointsSelector::Filter(f) => Some(f),
            vicinity::PointsSelector::Ids(_) => None,
        }
    }
    match op {
        WriteOp::Upsert(points, ..) => {
            limit(
                Some(points.len() as u64),
                cfg.upsert_max_batchsize,
                "upsert limit",
            )?;
            sparse_lengths(cfg, points.iter().map(|p| &p.vectors))?;
            collection_size(&e, c)?;
            memory(cfg)?;
        }
        WriteOp::UpdateVectors(points, _) => {
            limit(
                Some(points.len() as u64),
                cfg.upsert_max_batchsize,
                "update limit",
            )?;
            sparse_lengths(cfg, points.iter().map(|(_, v)| v))?;
            collection_size(&e, c)?;
            memory(cfg)?;
        }
        WriteOp::SetPayload(s, ..) | WriteOp::OverwritePayload(s, _) => {
            write_filter(selector_filter(s))?;
            if let Some(max) = cfg.max_collection_payload_size_bytes {
                payload_size(&e, c, max)?;
            }
            memory(cfg)?;
        }
        WriteOp::Delete(s)
        | WriteOp::DeletePayload(s, _)
        | WriteOp::ClearPayload(s)
        | WriteOp::DeleteVectors(s, _) => write_filter(selector_filter(s))?,
        WriteOp::Engine(vicinity::UpdateOperation::CreateFieldIndex { .. }) => {
            if let Some(max) = cfg.max_payload_index_count
                && schema.len() as u64 >= max
            {
                return Err(refuse(
                    format!("Collection already has the maximum number of payload indices ({max})"),
                    "Please delete an existing index before creating a new one.",
                ));
            }
            memory(cfg)?;
        }
        WriteOp::Engine(_) => {}
    }
    limit(timeout, cfg.max_timeout, "timeout")?;
    if let Some(w) = &e.write {
        let cost = match op {
            WriteOp::Upsert(p, ..) => p.len(),
            WriteOp::UpdateVectors(p, _) => p.len(),
            WriteOp::Delete(s)
            | WriteOp::SetPayload(s, ..)
            | WriteOp::OverwritePayload(s, _)
            | WriteOp::DeletePayload(s, _)
            | WriteOp::ClearPayload(s)
            | WriteOp::DeleteVectors(s, _) => match s {
                vicinity::PointsSelector::Ids(ids) => ids.len(),
                vicinity::PointsSelector::Filter(f) => c.count_where(f),
            },
            WriteOp::Engine(_) => 1,
        };
        w.lock().take(cost.max(1), "Write")?;
    }
    Ok(())
}

/// Qdrant's `sparse_config.<name>.max_length`: a sparse vector with more
/// indices (or values) than that is refused, in Qdrant's words; and the
/// multivector limits ([`multivector_lengths`]).
fn sparse_lengths<'a>(
    cfg: &StrictModeConfig,
    vectors: impl Iterator<Item = &'a vicinity::Vectors>,
) -> Result<(), Status> {
    let none = BTreeMap::new();
    let multi = cfg.multivector_config.as_ref().unwrap_or(&none);
    let Some(limits) = &cfg.sparse_config else {
        return multivector_lengths(multi, vectors);
    };
    let vectors: Vec<&vicinity::Vectors> = vectors.collect();
    multivector_lengths(multi, vectors.iter().copied())?;
    for v in vectors {
        for (name, x) in v.iter() {
            let max = limits.get(name).and_then(|l| l.max_length);
            if let (vicinity::VectorRef::Sparse(s), Some(max)) = (x, max) {
                let len = s.indices.len();
                if len as u64 > max || s.values.len() as u64 > max {
                    return Err(Status::invalid_argument(format!(
                        "Bad request: Sparse vector '{name}' has a limit of {max} indices, but {len} were provided!"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Qdrant's `multivector_config.<name>.max_vectors`: a multivector of
/// more vectors than that is refused, in Qdrant's words.
fn multivector_lengths<'a>(
    limits: &BTreeMap<String, MultivectorLimit>,
    vectors: impl Iterator<Item = &'a vicinity::Vectors>,
) -> Result<(), Status> {
    if limits.is_empty() {
        return Ok(());
    }
    for v in vectors {
        for (name, x) in v.iter() {
            let max = limits.get(name).and_then(|l| l.max_vectors);
            if let (vicinity::VectorRef::Multi(m), Some(max)) = (x, max)
                && m.len() as u64 > max
            {
                return Err(Status::invalid_argument(format!(
                    "Bad request: Multivector '{name}' has a limit of {max} vectors, but {} were provided!",
                    m.len()
                )));
            }
        }
    }
    Ok(())
}

/// Qdrant's collection size limits, checked before inserts: reached (not
/// only exceeded) stops them.
fn collection_size(e: &Enforced, c: &Collection) -> Result<(), Status> {
    let cfg = &e.config;
    if let Some(max) = cfg.max_collection_vector_size_bytes {
        // bytes per value of each vector's datatype, as Qdrant sizes its
        // storages (a multivector counts as one vector here)
        let per_point: usize = c
            .config()
            .vectors
            .values()
            .map(|v| v.size * v.datatype().value_bytes())
            .sum();
        let bytes = (c.count() * per_point) as u64;
        if bytes >= max {
            return Err(Status::invalid_argument(format!(
                "Bad request: Max vector storage size limit of {}MB reached!",
                max as f32 / (1024.0 * 1024.0)
            )));
        }
    }
    if let Some(max) = cfg.max_collection_payload_size_bytes {
        payload_size(e, c, max)?;
    }
    if let Some(max) = cfg.max_points_count
        && c.count() as u64 >= max
    {
        return Err(Status::invalid_argument(format!(
            "Bad request: Max points count limit of {max} reached!"
        )));
    }
    Ok(())
}

fn payload_size(e: &Enforced, c: &Collection, max: u64) -> Result<(), Status> {
    let bytes = {
        let mut cached = e.payload_bytes.lock();
        match *cached {
            Some((at, bytes)) if at.elapsed() < Duration::from_secs(1) => bytes,
            _ => {
                let bytes = c.payload_bytes();
                *cached = Some((Instant::now(), bytes));
                bytes
            }
        }
    };
    if bytes as u64 >= max {
        return Err(Status::invalid_argument(format!(
            "Bad request: Max payload storage size limit of {}MB reached!",
            max as f32 / (1024.0 * 1024.0)
        )));
    }
    Ok(())
}

/// The deprecated `max_resident_memory_percent`: memory-consuming writes
/// stop while the process's resident memory is at or above that share of
/// the machine's.
fn memory(cfg: &StrictModeConfig) -> Result<(), Status> {
    let Some(max) = cfg.max_resident_memory_percent else {
        return Ok(());
    };
    let Some(used) = resident_percent() else {
        return Ok(());
    };
    if used < max {
        return Ok(());
    }
    Err(refuse(
        format!(
            "Resident memory usage is at {used}% of total memory, exceeding the configured limit of {max}%"
        ),
        "Reduce memory usage (e.g. delete points or drop collections), or raise `max_resident_memory_percent` in the strict mode config of this collection.",
    ))
}

/// The process's resident memory as a percentage of the machine's (Linux).
fn resident_percent() -> Option<u64> {
    let kib = |text: &str, key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let rss = kib(&status, "VmRSS:")?;
    let total = kib(&meminfo, "MemTotal:")?;
    (total > 0).then(|| rss * 100 / total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter_of(v: serde_json::Value) -> Filter {
        serde_json::from_value(v).unwrap()
    }

    fn schema(entries: &[(&str, FieldType)]) -> Schema {
        entries
            .iter()
            .map(|(k, t)| {
                let info = vicinity::PayloadIndexInfo {
                    params: vicinity::FieldIndexParams::new(*t),
                    points: 0,
                };
                (k.to_string(), info)
            })
            .collect()
    }

    #[test]
    fn unindexed_keys_name_the_types_that_would_do() {
        let f = filter_of(json!({"must": [{"key": "brand", "match": {"value": "acme"}}]}));
        let (key, needs) = first_unindexed(&schema(&[]), &f).unwrap();
        assert_eq!(key, "brand");
        assert_eq!(needs, vec![Need::KeywordMatch]);
        assert!(first_unindexed(&schema(&[("brand", FieldType::Keyword)]), &f).is_none());
        // a keyword index does not serve a range
        let r = filter_of(json!({"must": [{"key": "price", "range": {"gte": 1}}]}));
        assert!(first_unindexed(&schema(&[("price", FieldType::Keyword)]), &r).is_some());
        assert!(first_unindexed(&schema(&[("price", FieldType::Integer)]), &r).is_none());
        // nested keys are checked under their array path
        let n = filter_of(json!({"must": [{"nested": {"key": "items",
            "filter": {"must": [{"key": "sku", "match": {"value": 3}}]}}}]}));
        let (key, _) = first_unindexed(&schema(&[]), &n).unwrap();
        assert_eq!(key, "items[].sku");
        // has_id needs nothing
        let h = filter_of(json!({"must": [{"has_id": [1, 2]}]}));
        assert!(first_unindexed(&schema(&[]), &h).is_none());
    }

    #[test]
    fn conditions_are_counted_and_sized_as_qdrant_does() {
        let f = filter_of(json!({
            "must": [{"key": "a", "match": {"any": ["x", "y", "z"]}}],
            "should": [{"must": [{"key": "b", "match": {"value": 1}},
                                 {"has_id": [1, 2, 3, 4]}]}],
        }));
        assert_eq!(conditions_count(&f), 3);
        assert_eq!(largest_condition(&f), 4);
    }

    #[test]
    fn limits_refuse_in_qdrants_words() {
        let e = limit(Some(10), Some(4), "limit").unwrap_err();
        assert_eq!(
            e.message(),
            "Bad request: Limit exceeded 10 > 4 for \"limit\". Help: Reduce the \"limit\" parameter to or below 4."
        );
        assert!(limit(Some(4), Some(4), "limit").is_ok());
        assert!(limit(Some(40), None, "limit").is_ok());
    }

    #[test]
    fn the_rate_limiter_starts_full_and_refills() {
        let mut r = RateLimiter::per_minute(60);
        r.take(60, "Read").unwrap();
        let e = r.take(2, "Read").unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.message().starts_with(
            "Rate limiting exceeded: Read rate limit exceeded: Operation requires 2 tokens"
        ));
        let e = r.take(61, "Read").unwrap_err();
        assert!(
            e.message()
                .contains("request larger than rate limiter capacity")
        );
        r.last -= Duration::from_secs(2);
        r.take(2, "Read").unwrap();
    }

    #[test]
    fn merging_replaces_only_what_the_diff_sets() {
        let base = StrictModeConfig {
            enabled: Some(true),
            max_query_limit: Some(10),
            ..StrictModeConfig::default()
        };
        let diff = StrictModeConfig {
            max_timeout: Some(5),
            max_query_limit: Some(20),
            ..StrictModeConfig::default()
        };
        let m = base.merged(&diff);
        assert_eq!(m.enabled, Some(true));
        assert_eq!(m.max_query_limit, Some(20));
        assert_eq!(m.max_timeout, Some(5));
        let round = StrictModeConfig::from_proto(m.to_proto());
        assert_eq!(round, m);
        let zero = StrictModeConfig {
            max_query_limit: Some(0),
            ..StrictModeConfig::default()
        };
        assert!(zero.validate().is_err());
    }
}
