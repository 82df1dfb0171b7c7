//! `with_payload` and `with_vectors`.

use tonic::Status;
use vicinity::{JsonPath, PayloadSelector, VectorSelector};

use crate::pb::{self, with_payload_selector, with_vectors_selector};
use crate::status::invalid;

/// Parses a payload key path (`a.b`, `a[].b`, `a[0]`).
pub fn path(key: &str) -> Result<JsonPath, Status> {
    key.parse::<JsonPath>().map_err(invalid)
}

/// Parses payload key paths.
pub fn paths(keys: &[String]) -> Result<Vec<JsonPath>, Status> {
    keys.iter().map(|k| path(k)).collect()
}

/// `with_payload`; `default` when the request leaves it out.
pub fn payload_selector(
    s: Option<pb::WithPayloadSelector>,
    default: bool,
) -> Result<PayloadSelector, Status> {
    use with_payload_selector::SelectorOptions as O;
    Ok(match s.and_then(|s| s.selector_options) {
        None => default.into(),
        Some(O::Enable(b)) => b.into(),
        Some(O::Include(i)) => PayloadSelector::Include(paths(&i.fields)?),
        Some(O::Exclude(e)) => PayloadSelector::Exclude(paths(&e.fields)?),
    })
}

/// `with_vectors`; none when the request leaves it out.
pub fn vector_selector(s: Option<pb::WithVectorsSelector>) -> VectorSelector {
    use with_vectors_selector::SelectorOptions as O;
    match s.and_then(|s| s.selector_options) {
        None => VectorSelector::None,
        Some(O::Enable(b)) => b.into(),
        Some(O::Include(names)) => VectorSelector::Names(names.names),
    }
}
