//! The service endpoints: `GET /` (the clients' version check), the
//! probes, `/metrics`, `/telemetry`, `/cluster` and `/issues`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State as Shared};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use crate::rest::{RestResult, ok};
use crate::state::State;
use crate::{QDRANT_VERSION, TITLE};

/// `GET /`.
pub(super) async fn root() -> RestResult {
    Ok(
        axum::Json(json!({"title": TITLE, "version": QDRANT_VERSION, "commit": null}))
            .into_response(),
    )
}

/// `GET /healthz`, `/livez`: the words are Qdrant's.
pub(super) async fn probe(req: Request) -> String {
    format!("{} check passed", req.uri().path().trim_start_matches('/'))
}

/// `GET /readyz`: ready as soon as the server listens (there are no shards
/// to load).
pub(super) async fn ready() -> &'static str {
    "all shards are ready"
}

/// `GET /metrics`: Prometheus text.
pub(super) async fn metrics(Shared(state): Shared<Arc<State>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(&state),
    )
}

/// `GET /telemetry`: the part of Qdrant's telemetry a one-node server
/// without a cluster has.
pub(super) async fn telemetry(Shared(state): Shared<Arc<State>>) -> RestResult {
    let t = Instant::now();
    let collections = state.db.list_collections();
    ok(
        t,
        json!({
            "id": state.id,
            "app": {
                "name": "qdrant",
                "version": QDRANT_VERSION,
                "startup": state.started_at,
            },
            "collections": {
                "number_of_collections": collections.len(),
            },
            "cluster": {"enabled": false},
        }),
    )
}

/// `GET /cluster`: distributed mode is off, as on a single Qdrant node.
pub(super) async fn cluster() -> RestResult {
    ok(Instant::now(), json!({"status": "disabled"}))
}

/// `GET /issues`: none are detected.
pub(super) async fn issues() -> RestResult {
    ok(Instant::now(), json!({"issues": []}))
}

/// `DELETE /issues`.
pub(super) async fn clear_issues() -> RestResult {
    ok(Instant::now(), true)
}
