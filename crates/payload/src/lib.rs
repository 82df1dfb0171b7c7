//! Vicinity's payload layer: the JSON object stored with each point, the
//! key paths that address values inside it (`a.b`, `a[].b`, `a[0]`,
//! `"quoted.key"`), and the selectors that choose which keys a result
//! carries.
//!
//! It knows JSON and nothing of vectors; the engine joins the two.
//!
//! ```
//! use serde_json::json;
//! use vicinity_payload::{JsonPath, Payload, PayloadSelector};
//!
//! let p = Payload::try_from(json!({"brand": "acme", "meta": {"rating": 4.5, "votes": 12}})).unwrap();
//! let path: JsonPath = "meta.rating".parse().unwrap();
//! assert_eq!(path.values(p.as_map()), vec![&json!(4.5)]);
//! let only = PayloadSelector::Include(vec![path]);
//! assert_eq!(only.apply(&p).unwrap().into_value(), json!({"meta": {"rating": 4.5}}));
//! ```

#![forbid(unsafe_code)]

mod error;
pub mod filter;
mod id;
pub mod index;
mod path;
mod payload;
mod selector;

pub use error::PayloadError;
pub use filter::{Condition, FieldCondition, Filter, Match, MatchValue, PointView};
pub use id::PointId;
pub use index::{Bm25, FacetValue, FieldIndex, FieldIndexParams, FieldType, OrderValue};
pub use path::{JsonPath, PathSegment};
pub use payload::Payload;
pub use selector::PayloadSelector;
