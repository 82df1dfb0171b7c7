//! Qdrant's JWT tokens (`jwt_rbac`): HS256-signed with the API key, the
//! claims `exp`, `access` (global `r` / `m`, or a list of collections with
//! `r`, `rw` or `prw`) and `value_exists` (the token holds only while a
//! point with those payload values exists in a collection).
//!
//! Decoding follows Qdrant's rules: a token whose signature is wrong or
//! whose `exp` passed (30 s of leeway for clock skew) is refused with
//! `InvalidSignature` / `ExpiredSignature` (403); anything that is not a
//! well-formed HS256 token with claims Qdrant reads is not a JWT at all
//! (401, "Invalid API key or JWT"); claims that read but do not validate
//! (a repeated collection, the retired `payload` constraint) are 401 with
//! the validation message.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

/// Seconds of clock skew an `exp` is allowed.
const LEEWAY_SECS: u64 = 30;

/// Access to one collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum CollectionMode {
    /// Read only.
    #[serde(rename = "r")]
    Read,
    /// Read and write, snapshots and payload indexes included.
    #[serde(rename = "rw")]
    ReadWrite,
    /// Read and write points only (no snapshots, no payload indexes).
    #[serde(rename = "prw")]
    PointsReadWrite,
}

/// One entry of a token's collection list.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CollectionAccess {
    /// The collection (or alias) name, as requests give it.
    pub collection: String,
    /// What the token may do there.
    pub access: CollectionMode,
    /// Retired in Qdrant 1.15; a token that still carries it is refused.
    #[serde(default)]
    payload: Option<Value>,
}

/// A token's `access` claim.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TokenAccess {
    /// `"r"` or `"m"`.
    Global(GlobalMode),
    /// Per collection.
    Collections(Vec<CollectionAccess>),
}

/// Global access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum GlobalMode {
    /// Read everything.
    #[serde(rename = "r")]
    Read,
    /// Manage everything.
    #[serde(rename = "m")]
    Manage,
}

/// `value_exists`: a payload match that must find a point.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ValueExists {
    /// The collection to look in.
    pub collection: String,
    /// `key` = `value` conditions, all of which a point must meet.
    pub matches: Vec<KeyValue>,
}

/// One `value_exists` condition.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct KeyValue {
    /// A payload key (JSON path).
    pub key: String,
    /// The value it must hold (a string, integer or bool).
    pub value: Value,
}

impl ValueExists {
    /// The condition as Qdrant's filter JSON.
    pub fn filter(&self) -> Value {
        let must: Vec<Value> = self
            .matches
            .iter()
            .map(|kv| serde_json::json!({"key": kv.key, "match": {"value": kv.value}}))
            .collect();
        serde_json::json!({ "must": must })
    }
}

/// The claims Qdrant reads.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Claims {
    /// The subject (an id for audit; unused here).
    #[serde(default)]
    pub sub: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(default)]
    pub exp: Option<u64>,
    /// Full management access when absent, as in Qdrant.
    #[serde(default = "manage")]
    pub access: TokenAccess,
    /// A stateful condition.
    #[serde(default)]
    pub value_exists: Option<ValueExists>,
}

fn manage() -> TokenAccess {
    TokenAccess::Global(GlobalMode::Manage)
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Why a token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a JWT this server reads (the caller says "Invalid API key or JWT").
    NotAToken,
    /// Refused outright (403): `InvalidSignature`, `ExpiredSignature`.
    Forbidden(String),
    /// Claims that do not validate (401).
    Invalid(String),
}

/// Decodes and checks `token` against `secret` at time `now` (seconds).
pub fn decode(token: &str, secret: &str, now: u64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::NotAToken);
    };
    let bytes = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| TokenError::NotAToken)
    };
    let header: Header = serde_json::from_slice(&bytes(h)?).map_err(|_| TokenError::NotAToken)?;
    if header.alg != "HS256" {
        return Err(TokenError::NotAToken);
    }
    let signature = bytes(s)?;
    let payload = bytes(p)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| TokenError::NotAToken)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    // constant-time comparison
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::Forbidden("InvalidSignature".into()))?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::NotAToken)?;
    if claims
        .exp
        .is_some_and(|exp| exp.saturating_add(LEEWAY_SECS) < now)
    {
        return Err(TokenError::Forbidden("ExpiredSignature".into()));
    }
    if let TokenAccess::Collections(list) = &claims.access {
        let mut seen = std::collections::HashSet::new();
        for a in list {
            if a.payload.is_some() {
                return Err(TokenError::Invalid(
                    "access: The 'payload' constraint is deprecated and should not be used".into(),
                ));
            }
            if !seen.insert(a.collection.as_str()) {
                return Err(TokenError::Invalid(
                    "access: Collection name should be unique".into(),
                ));
            }
        }
    }
    Ok(claims)
}

/// Signs `claims` (any JSON) as an HS256 token: for tests and for tools
/// that mint tokens for a server.
pub fn sign(claims: &Value, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn tokens() {
        let t = sign(&json!({"access": "r", "exp": NOW + 60}), "key");
        let c = decode(&t, "key", NOW).unwrap();
        assert_eq!(c.access, TokenAccess::Global(GlobalMode::Read));
        // no access claim: manage
        let c = decode(&sign(&json!({}), "key"), "key", NOW).unwrap();
        assert_eq!(c.access, TokenAccess::Global(GlobalMode::Manage));
        // wrong key, expired (past the leeway), within the leeway
        assert_eq!(
            decode(&t, "other", NOW),
            Err(TokenError::Forbidden("InvalidSignature".into()))
        );
        let old = sign(&json!({"exp": NOW - 31}), "key");
        assert_eq!(
            decode(&old, "key", NOW),
            Err(TokenError::Forbidden("ExpiredSignature".into()))
        );
        assert!(decode(&sign(&json!({"exp": NOW - 29}), "key"), "key", NOW).is_ok());
        // collections
        let t = sign(
            &json!({"access": [{"collection": "a", "access": "rw"}, {"collection": "b", "access": "r"}]}),
            "key",
        );
        let TokenAccess::Collections(list) = decode(&t, "key", NOW).unwrap().access else {
            panic!()
        };
        assert_eq!(list[0].access, CollectionMode::ReadWrite);
        let dup = sign(
            &json!({"access": [{"collection": "a", "access": "r"}, {"collection": "a", "access": "rw"}]}),
            "key",
        );
        assert!(matches!(
            decode(&dup, "key", NOW),
            Err(TokenError::Invalid(_))
        ));
        let payload = sign(
            &json!({"access": [{"collection": "a", "access": "r", "payload": {"x": 1}}]}),
            "key",
        );
        assert!(matches!(
            decode(&payload, "key", NOW),
            Err(TokenError::Invalid(_))
        ));
        // not tokens at all
        for junk in ["", "a.b", "a.b.c", "x.y.z.w", "Zm9v.Zm9v.Zm9v"] {
            assert_eq!(
                decode(junk, "key", NOW),
                Err(TokenError::NotAToken),
                "{junk}"
            );
        }
        let bad_claims = sign(&json!({"access": "x"}), "key");
        assert_eq!(decode(&bad_claims, "key", NOW), Err(TokenError::NotAToken));
        // another algorithm is not accepted even with a valid-looking MAC
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(b"{}")
        );
        assert_eq!(decode(&none, "key", NOW), Err(TokenError::NotAToken));
    }
}
