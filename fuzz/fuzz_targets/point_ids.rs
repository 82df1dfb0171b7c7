//! Point ids from outside: JSON (REST bodies, the WAL), strings (paths,
//! UUIDs in any of the forms Qdrant takes) and gRPC `PointId` messages.
//! Each parses or is an error, never a panic; whatever parses prints and
//! parses back to the same id, and the two wires agree on it.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vicinity::PointId;
use vicinity_server::grpc::convert::id::{id_from_proto, id_to_proto};
use vicinity_server::pb;

#[derive(Arbitrary, Debug)]
enum Input {
    Json(String),
    Text(String),
    Number(u64),
    Uuid([u8; 16], u8),
    Proto(Option<Result<u64, String>>),
}

fn round_trip(id: PointId) {
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(serde_json::from_str::<PointId>(&json).unwrap(), id, "{json}");
    let text = id.to_string();
    assert_eq!(text.parse::<PointId>().unwrap(), id, "{text}");
    assert_eq!(id_from_proto(id_to_proto(id)).unwrap(), id);
}

fuzz_target!(|input: Input| {
    match input {
        Input::Json(s) => {
            if let Ok(id) = serde_json::from_str::<PointId>(&s) {
                round_trip(id);
            }
        }
        Input::Text(s) => {
            if let Ok(id) = s.parse::<PointId>() {
                round_trip(id);
            }
        }
        Input::Number(n) => round_trip(PointId::Num(n)),
        Input::Uuid(bytes, form) => {
            let u = uuid::Uuid::from_bytes(bytes);
            // the forms a client may send: hyphenated, simple, urn, braced, upper case
            let text = match form % 5 {
                0 => u.hyphenated().to_string(),
                1 => u.simple().to_string(),
                2 => u.urn().to_string(),
                3 => u.braced().to_string(),
                _ => u.hyphenated().to_string().to_uppercase(),
            };
            let json = serde_json::to_string(&text).unwrap();
            let a = serde_json::from_str::<PointId>(&json);
            let b = text.parse::<PointId>();
            let c = id_from_proto(pb::PointId {
                point_id_options: Some(pb::point_id::PointIdOptions::Uuid(text.clone())),
            });
            // a string id is a UUID on both wires; in a path, digits that
            // fit a u64 are a number first (as in Qdrant), anything else
            // means the same there
            assert_eq!(a.is_ok(), c.is_ok(), "{text}");
            if let (Ok(a), Ok(c)) = (&a, &c) {
                assert_eq!(a, c);
                assert_eq!(*a, PointId::Uuid(u));
                round_trip(*a);
            }
            if !text.bytes().all(|b| b.is_ascii_digit()) {
                assert_eq!(a.ok(), b.ok(), "{text}");
            }
        }
        Input::Proto(p) => {
            let msg = pb::PointId {
                point_id_options: p.map(|r| match r {
                    Ok(n) => pb::point_id::PointIdOptions::Num(n),
                    Err(s) => pb::point_id::PointIdOptions::Uuid(s),
                }),
            };
            if let Ok(id) = id_from_proto(msg) {
                round_trip(id);
            }
        }
    }
});
