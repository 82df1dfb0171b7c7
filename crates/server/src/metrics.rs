//! Request counts and latency histograms per endpoint, for both protocols,
//! and the Prometheus text that `GET /metrics` serves (with the
//! collection, point and vector gauges).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;

use crate::state::State;

/// Upper bounds of the latency buckets, in seconds (Prometheus `le`).
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// One endpoint's counts.
#[derive(Clone, Debug, Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Cumulative counts per bucket of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
}

impl Series {
    fn observe(&mut self, seconds: f64) {
        self.count += 1;
        self.sum += seconds;
        for (b, le) in self.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= le {
                *b += 1;
            }
        }
    }
}

/// The key of a series: protocol, endpoint, and (REST) method and status.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    grpc: bool,
    endpoint: String,
    method: String,
    status: u16,
}

/// Counts and latencies of the requests served so far.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<Key, Series>>,
}

impl Metrics {
    /// Records one REST response.
    pub fn observe_rest(&self, method: &str, endpoint: &str, status: u16, seconds: f64) {
        let key = Key {
            grpc: false,
            endpoint: endpoint.to_string(),
            method: method.to_string(),
            status,
        };
        self.series.lock().entry(key).or_default().observe(seconds);
    }

    /// Records one gRPC call (`/qdrant.Points/Upsert`).
    pub fn observe_grpc(&self, endpoint: &str, seconds: f64) {
        let key = Key {
            grpc: true,
            endpoint: endpoint.to_string(),
            method: String::new(),
            status: 0,
        };
        self.series.lock().entry(key).or_default().observe(seconds);
    }

    /// How many requests an endpoint has served (REST: over all methods
    /// and statuses).
    pub fn count(&self, grpc: bool, endpoint: &str) -> u64 {
        self.series
            .lock()
            .iter()
            .filter(|(k, _)| k.grpc == grpc && k.endpoint == endpoint)
            .map(|(_, s)| s.count)
            .sum()
    }

    fn write(&self, out: &mut String) {
        let series = self.series.lock().clone();
        for grpc in [false, true] {
            let proto = if grpc { "grpc" } else { "rest" };
            let _ = writeln!(
                out,
                "# HELP {proto}_responses_total total number of responses\n# TYPE {proto}_responses_total counter"
            );
            for (k, s) in series.iter().filter(|(k, _)| k.grpc == grpc) {
                let _ = writeln!(out, "{proto}_responses_total{{{}}} {}", labels(k), s.count);
            }
            let _ = writeln!(
                out,
                "# HELP {proto}_responses_duration_seconds response duration histogram\n# TYPE {proto}_responses_duration_seconds histogram"
            );
            for (k, s) in series.iter().filter(|(k, _)| k.grpc == grpc) {
                let l = labels(k);
                for (le, n) in BUCKETS.iter().zip(s.buckets) {
                    let _ = writeln!(
                        out,
                        "{proto}_responses_duration_seconds_bucket{{{l},le=\"{le}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "{proto}_responses_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                    s.count
                );
                let _ = writeln!(
                    out,
                    "{proto}_responses_duration_seconds_sum{{{l}}} {}",
                    s.sum
                );
                let _ = writeln!(
                    out,
                    "{proto}_responses_duration_seconds_count{{{l}}} {}",
                    s.count
                );
            }
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(k: &Key) -> String {
    if k.grpc {
        format!("endpoint=\"{}\"", escape(&k.endpoint))
    } else {
        format!(
            "method=\"{}\",endpoint=\"{}\",status=\"{}\"",
            escape(&k.method),
            escape(&k.endpoint),
            k.status
        )
    }
}

/// The Prometheus text of `GET /metrics`.
pub fn render(state: &State) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP app_info information about qdrant server\n# TYPE app_info gauge\napp_info{{name=\"qdrant\",version=\"{}\"}} 1",
        crate::QDRANT_VERSION
    );
    let names = state.db.list_collections();
    let (mut points, mut vectors) = (0u64, 0u64);
    let mut per_collection = Vec::new();
    for name in &names {
        if let Ok(c) = state.db.collection(name) {
            let info = c.info();
            let n = info.points_count as u64;
            let v = n * info.config.vectors.len() as u64;
            points += n;
            vectors += v;
            per_collection.push((name.clone(), n, v));
        }
    }
    let _ = writeln!(
        out,
        "# HELP collections_total number of collections\n# TYPE collections_total gauge\ncollections_total {}",
        names.len()
    );
    let _ = writeln!(
        out,
        "# HELP collections_vector_total total number of vectors in all collections\n# TYPE collections_vector_total gauge\ncollections_vector_total {vectors}"
    );
    let _ = writeln!(
        out,
        "# HELP collections_points_total total number of points in all collections\n# TYPE collections_points_total gauge\ncollections_points_total {points}"
    );
    let _ = writeln!(
        out,
        "# HELP collection_points number of points per collection\n# TYPE collection_points gauge"
    );
    for (name, n, _) in &per_collection {
        let _ = writeln!(out, "collection_points{{id=\"{}\"}} {n}", escape(name));
    }
    let _ = writeln!(
        out,
        "# HELP collection_vectors number of vectors per collection\n# TYPE collection_vectors gauge"
    );
    for (name, _, v) in &per_collection {
        let _ = writeln!(out, "collection_vectors{{id=\"{}\"}} {v}", escape(name));
    }
    state.metrics.write(&mut out);
    out
}

/// The REST middleware that records each response under its route
/// (`/collections/{name}/points/query`), not its raw path.
pub(crate) async fn record_rest(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    req: Request,
    next: Next,
) -> Response {
    let t = Instant::now();
    let method = req.method().as_str().to_string();
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unknown".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    state.metrics.observe_rest(
        &method,
        &endpoint,
        resp.status().as_u16(),
        t.elapsed().as_secs_f64(),
    );
    resp
}

/// A tower layer that records each gRPC call in the state's metrics.
#[derive(Clone)]
pub struct GrpcMetricsLayer {
    state: Arc<State>,
}

impl GrpcMetricsLayer {
    /// The layer over shared state.
    pub fn new(state: Arc<State>) -> Self {
        GrpcMetricsLayer { state }
    }
}

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> GrpcMetrics<S> {
        GrpcMetrics {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service [`GrpcMetricsLayer`] makes.
#[derive(Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
    state: Arc<State>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let endpoint = req.uri().path().to_string();
        let state = self.state.clone();
        let t = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let r = fut.await;
            state
                .metrics
                .observe_grpc(&endpoint, t.elapsed().as_secs_f64());
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe_rest("GET", "/collections", 200, 0.002);
        m.observe_rest("GET", "/collections", 200, 0.2);
        m.observe_grpc("/qdrant.Points/Upsert", 0.0001);
        let mut out = String::new();
        m.write(&mut out);
        assert!(out.contains(
            "rest_responses_total{method=\"GET\",endpoint=\"/collections\",status=\"200\"} 2"
        ));
        assert!(out.contains("endpoint=\"/collections\",status=\"200\",le=\"0.001\"} 0"));
        assert!(out.contains("endpoint=\"/collections\",status=\"200\",le=\"0.0025\"} 1"));
        assert!(out.contains("endpoint=\"/collections\",status=\"200\",le=\"0.25\"} 2"));
        assert!(out.contains("grpc_responses_total{endpoint=\"/qdrant.Points/Upsert\"} 1"));
        assert_eq!(m.count(false, "/collections"), 2);
        assert_eq!(m.count(true, "/qdrant.Points/Upsert"), 1);
    }
}
