//! API keys: `--api-key` lets every request through, `--read-only-api-key`
//! lets reads through and refuses writes. The key comes in the `api-key`
//! header or as `authorization: Bearer <key>`, as Qdrant takes it. Health
//! checks need no key.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderMap;
use tonic::Status;

/// The configured keys.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    /// Full access.
    pub api_key: Option<String>,
    /// Reads only.
    pub read_only_api_key: Option<String>,
}

/// What a request's key allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Everything.
    Full,
    /// Reads.
    ReadOnly,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No key, or a wrong one.
    Unauthenticated(&'static str),
    /// A read-only key on a write.
    PermissionDenied(&'static str),
}

impl From<Denied> for Status {
    fn from(d: Denied) -> Status {
        match d {
            Denied::Unauthenticated(m) => Status::unauthenticated(m),
            Denied::PermissionDenied(m) => Status::permission_denied(m),
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

impl ApiKeys {
    /// Whether any key is configured.
    pub fn enabled(&self) -> bool {
        self.api_key.is_some() || self.read_only_api_key.is_some()
    }

    /// The access a request's headers give.
    pub fn access(&self, headers: &HeaderMap) -> Result<Access, Denied> {
        if !self.enabled() {
            return Ok(Access::Full);
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
                "Must provide an API key or an Authorization bearer token",
            ));
        };
        if self.api_key.as_deref().is_some_and(|k| same(k, &given)) {
            Ok(Access::Full)
        } else if self
            .read_only_api_key
            .as_deref()
            .is_some_and(|k| same(k, &given))
        {
            Ok(Access::ReadOnly)
        } else {
            Err(Denied::Unauthenticated("Invalid API key or JWT"))
        }
    }

    /// Checks a request to a gRPC method path (`/qdrant.Points/Upsert`).
    pub fn check_grpc(&self, path: &str, headers: &HeaderMap) -> Result<(), Denied> {
        if UNAUTHENTICATED_RPCS.contains(&path) || path.starts_with("/grpc.health.v1.Health/") {
            return Ok(());
        }
        match self.access(headers)? {
            Access::Full => Ok(()),
            Access::ReadOnly if READ_RPCS.contains(&path) => Ok(()),
            Access::ReadOnly => Err(Denied::PermissionDenied(
                "Forbidden: Global manage access is required",
            )),
        }
    }
}

/// RPCs anyone may call: the health checks.
const UNAUTHENTICATED_RPCS: [&str; 1] = ["/qdrant.Qdrant/HealthCheck"];

/// The RPCs that only read; every other RPC needs full access.
const READ_RPCS: [&str; 26] = [
    "/qdrant.Collections/Get",
    "/qdrant.Collections/List",
    "/qdrant.Collections/ListCollectionAliases",
    "/qdrant.Collections/ListAliases",
    "/qdrant.Collections/CollectionClusterInfo",
    "/qdrant.Collections/CollectionExists",
    "/qdrant.Collections/ListShardKeys",
    "/qdrant.Points/Get",
    "/qdrant.Points/Scroll",
    "/qdrant.Points/Count",
    "/qdrant.Points/Search",
    "/qdrant.Points/SearchBatch",
    "/qdrant.Points/SearchGroups",
    "/qdrant.Points/Recommend",
    "/qdrant.Points/RecommendBatch",
    "/qdrant.Points/RecommendGroups",
    "/qdrant.Points/Discover",
    "/qdrant.Points/DiscoverBatch",
    "/qdrant.Points/Query",
    "/qdrant.Points/QueryBatch",
    "/qdrant.Points/QueryGroups",
    "/qdrant.Points/Facet",
    "/qdrant.Points/SearchMatrixPairs",
    "/qdrant.Points/SearchMatrixOffsets",
    "/qdrant.Snapshots/List",
    "/qdrant.Snapshots/ListFull",
];

/// A tower layer that checks API keys in front of the gRPC services.
#[derive(Clone, Debug)]
pub struct GrpcAuthLayer {
    keys: Arc<ApiKeys>,
}

impl GrpcAuthLayer {
    /// The layer for these keys.
    pub fn new(keys: Arc<ApiKeys>) -> Self {
        GrpcAuthLayer { keys }
    }
}

impl<S> tower::Layer<S> for GrpcAuthLayer {
    type Service = GrpcAuth<S>;

    fn layer(&self, inner: S) -> GrpcAuth<S> {
        GrpcAuth {
            inner,
            keys: self.keys.clone(),
        }
    }
}

/// The service [`GrpcAuthLayer`] makes.
#[derive(Clone, Debug)]
pub struct GrpcAuth<S> {
    inner: S,
    keys: Arc<ApiKeys>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for GrpcAuth<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        match self.keys.check_grpc(req.uri().path(), req.headers()) {
            Ok(()) => Box::pin(self.inner.call(req)),
            Err(denied) => {
                let response = Status::from(denied).into_http();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn keys_and_access() {
        let keys = ApiKeys {
            api_key: Some("secret".into()),
            read_only_api_key: Some("reader".into()),
        };
        let upsert = "/qdrant.Points/Upsert";
        let search = "/qdrant.Points/Search";
        assert!(matches!(
            keys.check_grpc(upsert, &headers(&[])),
            Err(Denied::Unauthenticated(_))
        ));
        assert!(matches!(
            keys.check_grpc(upsert, &headers(&[("api-key", "nope")])),
            Err(Denied::Unauthenticated(_))
        ));
        assert_eq!(
            keys.check_grpc(upsert, &headers(&[("api-key", "secret")])),
            Ok(())
        );
        assert_eq!(
            keys.check_grpc(upsert, &headers(&[("authorization", "Bearer secret")])),
            Ok(())
        );
        assert_eq!(
            keys.check_grpc(search, &headers(&[("api-key", "reader")])),
            Ok(())
        );
        assert!(matches!(
            keys.check_grpc(upsert, &headers(&[("api-key", "reader")])),
            Err(Denied::PermissionDenied(_))
        ));
        assert_eq!(
            keys.check_grpc("/qdrant.Qdrant/HealthCheck", &headers(&[])),
            Ok(())
        );
        assert_eq!(ApiKeys::default().check_grpc(upsert, &headers(&[])), Ok(()));
    }
}
