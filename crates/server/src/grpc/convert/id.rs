//! Point ids: `u64` or UUID in any spelling in, canonical out.

use tonic::Status;
use vicinity::PointId;

use crate::pb::{self, point_id::PointIdOptions};
use crate::status::{from_engine, invalid};

/// A wire id as an engine id; a UUID in any spelling Qdrant accepts.
pub fn id_from_proto(id: pb::PointId) -> Result<PointId, Status> {
    match id.point_id_options {
        Some(PointIdOptions::Num(n)) => Ok(PointId::Num(n)),
        Some(PointIdOptions::Uuid(s)) => PointId::parse_uuid(&s).map_err(|e| from_engine(e.into())),
        None => Err(invalid("point id is empty: expected num or uuid")),
    }
}

/// An optional wire id that must be there.
pub fn required_id(id: Option<pb::PointId>) -> Result<PointId, Status> {
    id_from_proto(id.ok_or_else(|| invalid("point id is missing"))?)
}

/// Wire ids as engine ids.
pub fn ids_from_proto(ids: Vec<pb::PointId>) -> Result<Vec<PointId>, Status> {
    ids.into_iter().map(id_from_proto).collect()
}

/// An engine id on the wire: UUIDs lower-case and hyphenated.
pub fn id_to_proto(id: PointId) -> pb::PointId {
    pb::PointId {
        point_id_options: Some(match id {
            PointId::Num(n) => PointIdOptions::Num(n),
            PointId::Uuid(u) => PointIdOptions::Uuid(u.hyphenated().to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid(s: &str) -> pb::PointId {
        pb::PointId {
            point_id_options: Some(PointIdOptions::Uuid(s.into())),
        }
    }

    #[test]
    fn uuids_in_any_spelling_come_back_canonical() {
        let canonical = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26";
        for s in [
            canonical,
            "5C56C793-69F3-4FBF-87E6-C4BF54C28C26",
            "5c56c79369f34fbf87e6c4bf54c28c26",
            "{5c56c793-69f3-4fbf-87e6-c4bf54c28c26}",
            "urn:uuid:5c56c793-69f3-4fbf-87e6-c4bf54c28c26",
        ] {
            let id = id_from_proto(uuid(s)).unwrap();
            assert_eq!(id_to_proto(id), uuid(canonical), "{s}");
        }
    }

    #[test]
    fn bad_ids_are_invalid_argument() {
        for id in [uuid("12"), uuid("not-a-uuid"), pb::PointId::default()] {
            assert_eq!(
                id_from_proto(id).unwrap_err().code(),
                tonic::Code::InvalidArgument
            );
        }
    }
}
