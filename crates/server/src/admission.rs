//! Backpressure for point writes, on both protocols.
//!
//! The engine applies writes one at a time (one writer per collection,
//! group commit for the fsyncs), so when clients send writes faster than
//! they are applied, requests pile up. Without a bound, each waiting
//! request holds a blocking thread and its whole decoded body: memory
//! grows with the backlog until the process dies. The gate admits at most
//! `max_in_flight` point writes at a time; the others wait *before their
//! body is read* (so a waiting request costs a connection, not its body,
//! and TCP flow control slows the sender), for at most their own timeout
//! (REST `?timeout=`, gRPC's deadline) or [`DEFAULT_WAIT`]. One that waits
//! longer is answered as Qdrant answers an operation that timed out
//! ("Timeout: Operation 'update' timed out after 5s": HTTP 408, gRPC
//! `DeadlineExceeded`). Reads are not gated: they do not queue behind the
//! writer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::auth::rules::{self, Need};

/// How long a write waits for admission when the request sets no timeout.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// Point writes admitted at once by default: enough for group commit to
/// batch the fsyncs of many waiting clients, few enough that the bodies
/// held are bounded (`max_in_flight` times the largest request).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// The write gate both protocols share.
#[derive(Clone, Debug)]
pub struct WriteGate {
    permits: Arc<Semaphore>,
    default_wait: Duration,
}

impl Default for WriteGate {
    fn default() -> Self {
        WriteGate::new(DEFAULT_MAX_IN_FLIGHT, DEFAULT_WAIT)
    }
}

impl WriteGate {
    /// A gate admitting `max_in_flight` writes (at least one), each waiting
    /// at most `default_wait` when the request sets no timeout.
    pub fn new(max_in_flight: usize, default_wait: Duration) -> Self {
        WriteGate {
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
            default_wait,
        }
    }

    /// Waits for admission for at most `timeout` (else the default wait).
    pub async fn enter(&self, timeout: Option<Duration>) -> Result<OwnedSemaphorePermit, Status> {
        let wait = timeout.unwrap_or(self.default_wait);
        match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // the semaphore is never closed
            Ok(Err(_)) => Err(Status::unavailable("the server is stopping")),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "Timeout: Operation 'update' timed out after {wait:?}"
            ))),
        }
    }
}

/// Whether a request needs the write gate: a point write (a collection
/// write in the access rules).
fn gated(need: Need) -> bool {
    matches!(need, Need::Collection { write: true, .. })
}

/// gRPC's `grpc-timeout` header (`5S`, `100m`, ...) as a duration.
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get("grpc-timeout")?.to_str().ok()?;
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// REST's `timeout` query parameter (seconds).
fn rest_timeout(uri: &http::Uri) -> Option<Duration> {
    uri.query()?.split('&').find_map(|kv| {
        let v = kv.strip_prefix("timeout=")?;
        v.parse().ok().map(Duration::from_secs)
    })
}

/// The REST middleware: point writes wait for the gate before their body
/// is read.
pub async fn rest_gate(
    axum::extract::State(gate): axum::extract::State<WriteGate>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (need, _) = rules::rest_need(req.method(), req.uri().path());
    if !gated(need) {
        return next.run(req).await;
    }
    match gate.enter(rest_timeout(req.uri())).await {
        Ok(_permit) => next.run(req).await,
        Err(status) => crate::rest::RestError::from(status).into_response(),
    }
}

/// The gRPC layer.
#[derive(Clone, Debug)]
pub struct GrpcGateLayer {
    gate: WriteGate,
}

impl GrpcGateLayer {
    /// The layer over a gate.
    pub fn new(gate: WriteGate) -> Self {
        GrpcGateLayer { gate }
    }
}

impl<S> tower::Layer<S> for GrpcGateLayer {
    type Service = GrpcGate<S>;

    fn layer(&self, inner: S) -> GrpcGate<S> {
        GrpcGate {
            inner,
            gate: self.gate.clone(),
        }
    }
}

/// The service [`GrpcGateLayer`] makes.
#[derive(Clone, Debug)]
pub struct GrpcGate<S> {
    inner: S,
    gate: WriteGate,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for GrpcGate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if !gated(rules::grpc_need(req.uri().path())) {
            return Box::pin(self.inner.call(req));
        }
        // the service that was polled ready goes; a clone takes its place
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        let timeout = grpc_timeout(req.headers());
        Box::pin(async move {
            match gate.enter(timeout).await {
                Ok(_permit) => inner.call(req).await,
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_read_from_both_wires() {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-timeout", "1500m".parse().unwrap());
        assert_eq!(grpc_timeout(&h), Some(Duration::from_millis(1500)));
        h.insert("grpc-timeout", "2S".parse().unwrap());
        assert_eq!(grpc_timeout(&h), Some(Duration::from_secs(2)));
        h.insert("grpc-timeout", "x".parse().unwrap());
        assert_eq!(grpc_timeout(&h), None);
        let uri: http::Uri = "/collections/a/points?wait=true&timeout=7".parse().unwrap();
        assert_eq!(rest_timeout(&uri), Some(Duration::from_secs(7)));
        assert_eq!(rest_timeout(&"/x".parse().unwrap()), None);
    }

    #[tokio::test]
    async fn a_full_gate_makes_writes_wait_then_time_out() {
        let gate = WriteGate::new(1, Duration::from_millis(50));
        let first = gate.enter(None).await.unwrap();
        let e = gate.enter(None).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::DeadlineExceeded);
        assert_eq!(
            e.message(),
            "Timeout: Operation 'update' timed out after 50ms"
        );
        // a waiting write gets in as soon as one leaves
        let g = gate.clone();
        let waiter = tokio::spawn(async move { g.enter(Some(Duration::from_secs(5))).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert!(waiter.await.unwrap().is_ok());
    }
}
