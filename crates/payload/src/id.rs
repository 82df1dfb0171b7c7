//! Point ids: unsigned integers or UUIDs, as in Qdrant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::PayloadError as Error;

/// A point's external id: an unsigned 64-bit integer or a UUID.
///
/// UUIDs are accepted in every spelling Qdrant accepts (hyphenated, simple,
/// braced, URN, any case) and always shown canonical: lower-case and
/// hyphenated. Ids order numbers first, ascending, then UUIDs: the order of
/// scroll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PointId {
    /// An unsigned integer id.
    Num(u64),
    /// A UUID id.
    Uuid(Uuid),
}

impl From<u64> for PointId {
    fn from(v: u64) -> Self {
        PointId::Num(v)
    }
}

impl From<Uuid> for PointId {
    fn from(v: Uuid) -> Self {
        PointId::Uuid(v)
    }
}

impl FromStr for PointId {
    type Err = Error;

    /// A decimal integer or a UUID, tried in that order as Qdrant does
    /// (so 32 digits too large for a `u64` are a UUID in its simple form).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = s.parse::<u64>()
        {
            return Ok(PointId::Num(n));
        }
        Uuid::parse_str(s)
            .map(PointId::Uuid)
            .map_err(|_| Error::BadPointId {
                given: s.to_string(),
            })
    }
}

impl PointId {
    /// Parses a UUID string (as a client sends a string id); integers are
    /// not accepted in string form, as in Qdrant.
    pub fn parse_uuid(s: &str) -> Result<Self, Error> {
        Uuid::parse_str(s)
            .map(PointId::Uuid)
            .map_err(|_| Error::BadPointId {
                given: s.to_string(),
            })
    }
}

impl fmt::Display for PointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointId::Num(n) => write!(f, "{n}"),
            PointId::Uuid(u) => write!(f, "{}", u.hyphenated()),
        }
    }
}

impl Serialize for PointId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PointId::Num(n) => s.serialize_u64(*n),
            PointId::Uuid(u) => s.collect_str(&u.hyphenated()),
        }
    }
}

impl<'de> Deserialize<'de> for PointId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PointId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned integer or a UUID string")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PointId, E> {
                Ok(PointId::Num(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PointId, E> {
                u64::try_from(v)
                    .map(PointId::Num)
                    .map_err(|_| E::custom(format!("point id {v} is negative")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PointId, E> {
                PointId::parse_uuid(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_in_every_spelling_come_back_canonical() {
        let canonical = "b62b103b-4203-0cb7-3616-86c28b704665";
        for s in [
            "B62B103B-4203-0CB7-3616-86C28B704665",
            "b62b103b42030cb7361686c28b704665",
            "{b62b103b-4203-0cb7-3616-86c28b704665}",
            "urn:uuid:b62b103b-4203-0cb7-3616-86c28b704665",
        ] {
            let id: PointId = s.parse().unwrap();
            assert_eq!(id.to_string(), canonical, "from {s}");
        }
        assert!("not-a-uuid".parse::<PointId>().is_err());
        // digits: a number when they fit a u64, else a UUID's simple form
        assert_eq!("42".parse::<PointId>().unwrap(), PointId::Num(42));
        assert_eq!(
            "38383838383838383838383838383838"
                .parse::<PointId>()
                .unwrap(),
            PointId::parse_uuid("38383838-3838-3838-3838-383838383838").unwrap()
        );
        assert!("99999999999999999999".parse::<PointId>().is_err());
        assert!("".parse::<PointId>().is_err());
        assert!("18446744073709551616".parse::<PointId>().is_err());
    }

    #[test]
    fn numbers_sort_before_uuids() {
        let mut ids = [
            PointId::parse_uuid("00000000-0000-0000-0000-000000000001").unwrap(),
            PointId::Num(10),
            PointId::Num(2),
        ];
        ids.sort();
        assert_eq!(ids[0], PointId::Num(2));
        assert_eq!(ids[1], PointId::Num(10));
    }

    #[test]
    fn serde_shapes() {
        let ids: Vec<PointId> =
            serde_json::from_str(r#"[7, "B62B103B42030CB7361686C28B704665"]"#).unwrap();
        assert_eq!(
            serde_json::to_string(&ids).unwrap(),
            r#"[7,"b62b103b-4203-0cb7-3616-86c28b704665"]"#
        );
        assert!(serde_json::from_str::<PointId>("-1").is_err());
        assert!(serde_json::from_str::<PointId>("\"12\"").is_err());
        assert!(serde_json::from_str::<PointId>("1.5").is_err());
    }
}
