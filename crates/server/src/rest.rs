//! The small HTTP surface on the REST port: `GET /` (what the Python
//! client's version check reads) and the probes `/healthz`, `/livez`,
//! `/readyz`. The rest of Qdrant's REST API is not served: clients speak
//! gRPC.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::auth::{ApiKeys, Denied};
use crate::{QDRANT_VERSION, TITLE};

/// Paths anyone may read, with or without a key (as Qdrant's whitelist).
const OPEN_PATHS: [&str; 4] = ["/", "/healthz", "/livez", "/readyz"];

/// The router, with API keys checked in front of everything but the open
/// paths.
pub fn router(keys: Arc<ApiKeys>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/healthz", get(probe))
        .route("/livez", get(probe))
        .route("/readyz", get(ready))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(keys, check_key))
}

async fn root() -> Json<serde_json::Value> {
    Json(json!({"title": TITLE, "version": QDRANT_VERSION, "commit": null}))
}

async fn probe(req: Request) -> String {
    format!("{} check passed", req.uri().path().trim_start_matches('/'))
}

/// Ready as soon as the server listens: there are no shards to load (the
/// words are Qdrant's).
async fn ready() -> &'static str {
    "all shards are ready"
}

async fn not_found(req: Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "status": {"error": format!(
                "Not found: {} is not served over HTTP; Vicinity serves Qdrant's API over gRPC",
                req.uri().path()
            )},
            "time": 0.0,
        })),
    )
        .into_response()
}

async fn check_key(State(keys): State<Arc<ApiKeys>>, req: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match keys.access(req.headers()) {
        Ok(_) => next.run(req).await,
        Err(Denied::Unauthenticated(m)) => (StatusCode::UNAUTHORIZED, m).into_response(),
        Err(Denied::PermissionDenied(m)) => (StatusCode::FORBIDDEN, m).into_response(),
    }
}
