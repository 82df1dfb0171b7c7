//! Vicinity: an embedded vector index with Qdrant's semantics.
//!
//! A [`Database`] holds named [`Collection`]s; a collection holds points,
//! each an id ([`PointId`]: an integer or a UUID), one or more vectors and
//! a JSON payload. Search is approximate (HNSW) or exact, with Qdrant's
//! scores; everything runs in-process.
//!
//! ```
//! use serde_json::json;
//! use vicinity::{CollectionConfig, Database, Distance, PointStruct, SearchRequest};
//!
//! let db = Database::new();
//! let products = db.create_collection("products", CollectionConfig::single(3, Distance::Cosine))?;
//! products.upsert(vec![
//!     PointStruct::new(1, vec![0.9, 0.1, 0.0], json!({"brand": "acme"}).try_into()?),
//!     PointStruct::new(2, vec![0.1, 0.9, 0.0], json!({"brand": "zenith"}).try_into()?),
//! ])?;
//! let mut req = SearchRequest::new(vec![1.0, 0.0, 0.0], 1);
//! req.with.payload = true.into();
//! let hits = products.search(&req)?;
//! assert_eq!(hits[0].id, 1.into());
//! assert_eq!(hits[0].payload.as_ref().unwrap().as_map()["brand"], "acme");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod checkpoint;
mod collection;
mod config;
mod database;
mod error;
mod formula;
mod indexer;
mod lookup;
mod matrix;
mod mmr;
mod persist;
mod point;
mod query;
mod request;
mod segment;
mod snapshots;
mod update;
mod vacuum;

pub use collection::{
    Collection, CollectionInfo, CollectionStatus, MemoryReport, PayloadIndexInfo,
};
pub use config::{
    BinaryEncoding, BinaryQuantization, BinaryQueryEncoding, CollectionConfig, CompressionRatio,
    DEFAULT_SPARSE_FULL_SCAN_THRESHOLD, DEFAULT_VECTOR, Datatype, MAX_DIMENSION, Modifier,
    MultiVectorComparator, MultiVectorConfig, ProductQuantization, QuantizationConfig,
    ScalarQuantization, ScalarType, SparseIndexParams, SparseVectorParams, VectorParams,
    validate_collection_name,
};
pub use database::Database;
pub use error::{Error, ErrorKind, Result};
pub use formula::{DecayKind, Expression, Formula};
pub use lookup::{LookupFrom, WithLookup};
pub use matrix::{MatrixOffsets, MatrixPair, SearchMatrix, SearchMatrixRequest};
pub use mmr::{DEFAULT_MMR_DIVERSITY, MAX_MMR_CANDIDATES, Mmr};
pub use persist::SnapshotDescription;
pub use point::{
    PointStruct, Record, ScoredPoint, SparseVector, UpdateResult, UpdateStatus, Vector, VectorRef,
    VectorSelector, Vectors, WithSelectors,
};
pub use query::{
    ContextPair, FeedbackItem, Fusion, GroupId, NaiveFeedback, PointGroup, Prefetch, Query,
    QueryGroupsRequest, QueryRequest, RecommendStrategy, VectorInput,
};
pub use request::{
    Direction, FacetHit, FacetRequest, OrderBy, PointSelector, QuantizationSearchParams,
    ScrollRequest, ScrollResult, SearchParams, SearchRequest,
};
pub use snapshots::FULL_SNAPSHOT_VERSION;
pub use update::{PointsSelector, UpdateMode, UpdateOperation};
pub use vicinity_index::{Distance, HnswConfig};
pub use vicinity_payload::filter::datetime;
pub use vicinity_payload::{
    Bm25, Condition, FacetValue, FieldCondition, FieldIndexParams, FieldType, Filter, JsonPath,
    Match, MatchValue, OrderValue, Payload, PayloadSelector, PointId,
};
