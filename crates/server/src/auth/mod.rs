//! Access control, as Qdrant does it. `--api-key` lets every request
//! through, `--read-only-api-key` lets reads through; with `--jwt-rbac`,
//! a JWT signed with the API key (HS256) gives what its claims say:
//! global read or manage access, or read / write / points-only access to
//! listed collections, optionally only while a payload value exists
//! ([`jwt`]). The key or token comes in the `api-key` header or as
//! `authorization: Bearer <key>`. Health checks need nothing.
//!
//! What each request needs is decided from its method and path for both
//! protocols ([`rules`]); a token limited to some collections needs the
//! request's collection (from the REST path, or the gRPC message's
//! `collection_name`) and every collection it looks points up in. The
//! access is left in the request's extensions, so that listings show a
//! limited token only its collections.

pub mod jwt;
pub mod rules;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::Bytes;
use tonic::Status;

use crate::state::State;
use jwt::{CollectionAccess, CollectionMode, GlobalMode, TokenAccess, TokenError, ValueExists};
use rules::Need;

/// The configured keys.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    /// Full access; with `jwt_rbac`, also the secret that signs tokens.
    pub api_key: Option<String>,
    /// Reads only.
    pub read_only_api_key: Option<String>,
    /// Accept JWTs signed with `api_key` (Qdrant's `service.jwt_rbac`).
    pub jwt_rbac: bool,
}

/// What a request's key or token allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Everything.
    Full,
    /// Reads, everywhere.
    ReadOnly,
    /// What a token lists, per collection.
    Collections(Arc<Vec<CollectionAccess>>),
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No key, a wrong one, or a token whose claims do not hold
    /// (HTTP 401, `Unauthenticated`).
    Unauthenticated(String),
    /// A token refused outright: a wrong signature, expired (HTTP 403,
    /// `PermissionDenied`).
    Token(String),
    /// The operation needs access the key or token does not give
    /// (HTTP 403, `PermissionDenied`; `Forbidden: ...`).
    Forbidden(String),
}

impl Denied {
    fn forbidden(why: impl std::fmt::Display) -> Denied {
        Denied::Forbidden(format!("Forbidden: {why}"))
    }

    /// The message, as Qdrant words it.
    pub fn message(&self) -> &str {
        match self {
            Denied::Unauthenticated(m) | Denied::Token(m) | Denied::Forbidden(m) => m,
        }
    }
}

impl From<Denied> for Status {
    fn from(d: Denied) -> Status {
        match d {
            Denied::Unauthenticated(m) => Status::unauthenticated(m),
            Denied::Token(m) | Denied::Forbidden(m) => Status::permission_denied(m),
        }
    }
}

/// Equal strings, compared without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ApiKeys {
    /// Whether any key is configured.
    pub fn enabled(&self) -> bool {
        self.api_key.is_some() || self.read_only_api_key.is_some()
    }

    /// The access a request's headers give, and the `value_exists`
    /// condition a token still has to meet.
    pub fn access(&self, headers: &HeaderMap) -> Result<(Access, Option<ValueExists>), Denied> {
        if !self.enabled() {
            return Ok((Access::Full, None));
        }
        let given = headers
            .get("api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer ").map(|k| k.trim().to_string()))
            });
        let Some(given) = given else {
            return Err(Denied::Unauthenticated(
                "Must provide an API key or an Authorization bearer token".into(),
            ));
        };
        if self.api_key.as_deref().is_some_and(|k| same(k, &given)) {
            return Ok((Access::Full, None));
        }
        if self
            .read_only_api_key
            .as_deref()
            .is_some_and(|k| same(k, &given))
        {
            return Ok((Access::ReadOnly, None));
        }
        if let (true, Some(secret)) = (self.jwt_rbac, self.api_key.as_deref()) {
            match jwt::decode(&given, secret, now_secs()) {
                Ok(claims) => {
                    let access = match claims.access {
                        TokenAccess::Global(GlobalMode::Manage) => Access::Full,
                        TokenAccess::Global(GlobalMode::Read) => Access::ReadOnly,
                        TokenAccess::Collections(list) => Access::Collections(Arc::new(list)),
                    };
                    return Ok((access, claims.value_exists));
                }
                Err(TokenError::Forbidden(m)) => return Err(Denied::Token(m)),
                Err(TokenError::Invalid(m)) => return Err(Denied::Unauthenticated(m)),
                Err(TokenError::NotAToken) => {}
            }
        }
        Err(Denied::Unauthenticated("Invalid API key or JWT".into()))
    }
}

impl Access {
    fn entry(&self, collection: &str) -> Option<&CollectionAccess> {
        match self {
            Access::Collections(list) => list.iter().find(|a| a.collection == collection),
            _ => None,
        }
    }

    /// Whether a listing shows this collection (or alias).
    pub fn may_see(&self, collection: &str) -> bool {
        match self {
            Access::Full | Access::ReadOnly => true,
            Access::Collections(_) => self.entry(collection).is_some(),
        }
    }

    /// Checks `need` for `collection` (the request's, if it has one) and
    /// the `lookups` it reads from, with Qdrant's refusals.
    pub fn check(
        &self,
        need: Need,
        collection: Option<&str>,
        lookups: &[String],
    ) -> Result<(), Denied> {
        let global = |manage: bool| match self {
            Access::Full => Ok(()),
            Access::ReadOnly if !manage => Ok(()),
            Access::ReadOnly => Err(Denied::forbidden("Global manage access is required")),
            Access::Collections(_) => Err(Denied::forbidden("Global access is required")),
        };
        match need {
            Need::Open | Need::List => Ok(()),
            Need::Global { manage } => global(manage),
            Need::Collection { write, extras } => {
                let Access::Collections(_) = self else {
                    return global(write);
                };
                let name = collection.unwrap_or_default();
                let find = |c: &str| {
                    self.entry(c).ok_or_else(|| {
                        Denied::forbidden(format!("Access to collection {c} is required"))
                    })
                };
                let entry = find(name)?;
                if extras && entry.access == CollectionMode::PointsReadWrite {
                    return Err(Denied::forbidden(format!(
                        "Only points access is allowed for collection {name}"
                    )));
                }
                if write && entry.access == CollectionMode::Read {
                    return Err(Denied::forbidden(format!(
                        "Write access to collection {name} is required"
                    )));
                }
                for l in lookups {
                    find(l)?;
                }
                Ok(())
            }
        }
    }
}

/// Whether a listing shows `name` to the request's access (all of them
/// when the request passed no access check: an in-process caller).
pub fn visible(access: Option<&Access>, name: &str) -> bool {
    access.is_none_or(|a| a.may_see(name))
}

/// Checks a token's `value_exists`: a point in that collection must match.
pub fn value_exists(state: &State, v: &ValueExists) -> Result<(), Denied> {
    const FAILED: &str = "Invalid JWT, stateful validation failed";
    let c = state
        .db
        .collection(&v.collection)
        .map_err(|_| Denied::Token(FAILED.into()))?;
    let filter: vicinity::Filter =
        serde_json::from_value(v.filter()).map_err(|_| Denied::Unauthenticated(FAILED.into()))?;
    if c.count_where(&filter) == 0 {
        return Err(Denied::Unauthenticated(FAILED.into()));
    }
    Ok(())
}

/// A tower layer that checks keys and tokens in front of the gRPC services.
#[derive(Clone)]
pub struct GrpcAuthLayer {
    keys: Arc<ApiKeys>,
    state: Arc<State>,
}

impl GrpcAuthLayer {
    /// The layer for these keys over this state (for `value_exists`).
    pub fn new(keys: Arc<ApiKeys>, state: Arc<State>) -> Self {
        GrpcAuthLayer { keys, state }
    }
}

impl<S> tower::Layer<S> for GrpcAuthLayer {
    type Service = GrpcAuth<S>;

    fn layer(&self, inner: S) -> GrpcAuth<S> {
        GrpcAuth {
            inner,
            keys: self.keys.clone(),
            state: self.state.clone(),
        }
    }
}

/// The service [`GrpcAuthLayer`] makes.
#[derive(Clone)]
pub struct GrpcAuth<S> {
    inner: S,
    keys: Arc<ApiKeys>,
    state: Arc<State>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The message of a unary gRPC request body (one length-prefixed frame,
/// gzip-decompressed if flagged).
fn grpc_message(body: &[u8]) -> Option<Vec<u8>> {
    let (&flag, rest) = body.split_first()?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let message = rest.get(4..4 + len)?;
    match flag {
        0 => Some(message.to_vec()),
        1 => {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(message), &mut out)
                .ok()?;
            Some(out)
        }
        _ => None,
    }
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for GrpcAuth<S>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        let refuse = |status: Status| -> Self::Future {
            let response = status.into_http();
            Box::pin(async move { Ok(response) })
        };
        let path = req.uri().path().to_string();
        let need = rules::grpc_need(&path);
        if need == Need::Open {
            return Box::pin(self.inner.call(req));
        }
        let (access, exists) = match self.keys.access(req.headers()) {
            Ok(a) => a,
            Err(d) => return refuse(d.into()),
        };
        // the service that was polled ready goes; a clone takes its place
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move {
            if let Some(v) = exists {
                let s = state.clone();
                let checked = tokio::task::spawn_blocking(move || value_exists(&s, &v)).await;
                match checked {
                    Ok(Ok(())) => {}
                    Ok(Err(d)) => return Ok(Status::from(d).into_http()),
                    Err(e) => return Ok(Status::internal(e.to_string()).into_http()),
                }
            }
            let scoped =
                matches!(access, Access::Collections(_)) && matches!(need, Need::Collection { .. });
            if scoped {
                // a token limited to some collections: read the message for
                // its collection and lookups, then hand the bytes on
                let (parts, body) = req.into_parts();
                let bytes: Bytes = match body.collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(e) => return Ok(e.into_http()),
                };
                let scope = grpc_message(&bytes).and_then(|m| rules::grpc_scope(&path, &m));
                let Some((name, lookups)) = scope else {
                    return Ok(
                        Status::invalid_argument("the request message does not decode").into_http(),
                    );
                };
                if let Err(d) = access.check(need, Some(&name), &lookups) {
                    return Ok(Status::from(d).into_http());
                }
                req = http::Request::from_parts(
                    parts,
                    tonic::body::Body::new(http_body_util::Full::new(bytes)),
                );
            } else if let Err(d) = access.check(need, None, &[]) {
                return Ok(Status::from(d).into_http());
            }
            req.extensions_mut().insert(access);
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    /// Whether the headers may call a gRPC method on collection `c`.
    fn may(
        keys: &ApiKeys,
        h: &[(&'static str, &str)],
        method: &str,
        c: &str,
    ) -> Result<(), Denied> {
        let (access, _) = keys.access(&headers(h))?;
        access.check(rules::grpc_need(method), Some(c), &[])
    }

    #[test]
    fn keys_and_access() {
        let keys = ApiKeys {
            api_key: Some("secret".into()),
            read_only_api_key: Some("reader".into()),
            jwt_rbac: false,
        };
        let upsert = "/qdrant.Points/Upsert";
        let search = "/qdrant.Points/Search";
        assert!(matches!(
            may(&keys, &[], upsert, "c"),
            Err(Denied::Unauthenticated(_))
        ));
        assert!(matches!(
            may(&keys, &[("api-key", "nope")], upsert, "c"),
            Err(Denied::Unauthenticated(_))
        ));
        assert_eq!(may(&keys, &[("api-key", "secret")], upsert, "c"), Ok(()));
        assert_eq!(
            may(&keys, &[("authorization", "Bearer secret")], upsert, "c"),
            Ok(())
        );
        assert_eq!(may(&keys, &[("api-key", "reader")], search, "c"), Ok(()));
        assert_eq!(
            may(&keys, &[("api-key", "reader")], upsert, "c"),
            Err(Denied::Forbidden(
                "Forbidden: Global manage access is required".into()
            ))
        );
        assert_eq!(rules::grpc_need("/qdrant.Qdrant/HealthCheck"), Need::Open);
        assert_eq!(
            ApiKeys::default().access(&headers(&[])).unwrap().0,
            Access::Full
        );
        // without jwt_rbac a token is just a wrong key
        let token = jwt::sign(&json!({"access": "m"}), "secret");
        assert!(matches!(
            may(&keys, &[("api-key", &token)], upsert, "c"),
            Err(Denied::Unauthenticated(_))
        ));
    }

    #[test]
    fn tokens_and_collections() {
        let keys = ApiKeys {
            api_key: Some("secret".into()),
            read_only_api_key: None,
            jwt_rbac: true,
        };
        let t = |claims: serde_json::Value| jwt::sign(&claims, "secret");
        let manage = t(json!({"access": "m"}));
        let read = t(json!({"access": "r"}));
        let listed = t(json!({"access": [
            {"collection": "a", "access": "rw"},
            {"collection": "b", "access": "r"},
            {"collection": "p", "access": "prw"},
        ]}));
        let upsert = "/qdrant.Points/Upsert";
        let create = "/qdrant.Collections/Create";
        let index = "/qdrant.Points/CreateFieldIndex";
        assert_eq!(may(&keys, &[("api-key", &manage)], create, "x"), Ok(()));
        assert_eq!(
            may(
                &keys,
                &[("authorization", &format!("Bearer {read}"))],
                upsert,
                "a"
            )
            .unwrap_err()
            .message(),
            "Forbidden: Global manage access is required"
        );
        let h = [("api-key", listed.as_str())];
        assert_eq!(may(&keys, &h, upsert, "a"), Ok(()));
        assert_eq!(
            may(&keys, &h, upsert, "b").unwrap_err().message(),
            "Forbidden: Write access to collection b is required"
        );
        assert_eq!(
            may(&keys, &h, "/qdrant.Points/Search", "c")
                .unwrap_err()
                .message(),
            "Forbidden: Access to collection c is required"
        );
        assert_eq!(
            may(&keys, &h, create, "a").unwrap_err().message(),
            "Forbidden: Global access is required"
        );
        assert_eq!(may(&keys, &h, upsert, "p"), Ok(()));
        assert_eq!(
            may(&keys, &h, index, "p").unwrap_err().message(),
            "Forbidden: Only points access is allowed for collection p"
        );
        assert_eq!(may(&keys, &h, index, "a"), Ok(()));
        // a lookup in a collection the token does not list
        let (access, _) = keys.access(&headers(&h)).unwrap();
        let query = rules::grpc_need("/qdrant.Points/Query");
        assert_eq!(access.check(query, Some("a"), &["b".into()]), Ok(()));
        assert_eq!(
            access
                .check(query, Some("a"), &["z".into()])
                .unwrap_err()
                .message(),
            "Forbidden: Access to collection z is required"
        );
        assert!(access.may_see("b") && !access.may_see("z"));
        // refused tokens
        let expired = t(json!({"exp": 1}));
        assert_eq!(
            may(&keys, &[("api-key", &expired)], upsert, "a"),
            Err(Denied::Token("ExpiredSignature".into()))
        );
        let forged = jwt::sign(&json!({"access": "m"}), "guess");
        assert_eq!(
            may(&keys, &[("api-key", &forged)], upsert, "a"),
            Err(Denied::Token("InvalidSignature".into()))
        );
    }
}
