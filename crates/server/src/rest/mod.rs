//! Qdrant's REST API (HTTP/JSON on port 6333): the Python client's
//! default transport, the only one of the JS client, and what LangChain,
//! LlamaIndex, Haystack and the MCP server speak.
//!
//! A handler decodes the JSON body into the models of [`models`], turns
//! them into the engine-level operations of [`crate::ops`] (the layer gRPC
//! uses too), runs them on the blocking pool and answers in Qdrant's
//! envelope: `{"result": ..., "status": "ok", "time": seconds}`, or
//! `{"status": {"error": message}, "time": 0}` with the HTTP status Qdrant
//! gives (one match: [`http_status`]).

mod collections;
pub mod models;
mod output;
mod points;
mod query;
mod service;
mod snapshots;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tonic::{Code, Status};

use crate::auth::rules::Need;
use crate::auth::{Access, ApiKeys, Denied};
use crate::state::State;

/// Qdrant's default limit on a request body: 32 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// A refusal: an HTTP status and Qdrant's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message, as Qdrant words it.
    pub message: String,
}

impl RestError {
    /// A refusal with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        RestError {
            status,
            message: message.into(),
        }
    }

    /// A body that is not the JSON the endpoint takes (400), in actix's
    /// words, as Qdrant answers.
    pub fn format(msg: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("Format error in JSON body: {msg}"),
        )
    }

    /// A well-formed body whose field fails validation (422).
    pub fn validation(field: &str, msg: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Validation error in JSON body: [{field}: {msg}]"),
        )
    }

    /// Bad input the engine would also refuse (400, "Wrong input: ...").
    pub fn wrong(msg: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("Wrong input: {msg}"))
    }

    /// A request Vicinity understands but does not serve yet (501).
    pub fn unsupported(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("Vicinity does not support {what} yet"),
        )
    }
}

/// The HTTP status of a gRPC code: the one place where the shared layer's
/// errors become REST's, following Qdrant's own mapping of its storage
/// errors (bad input 400, not found 404, exists 409, timeout 408, ...).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::DeadlineExceeded => StatusCode::REQUEST_TIMEOUT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Cancelled | Code::Unknown | Code::Aborted | Code::Internal | Code::DataLoss => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl From<Status> for RestError {
    fn from(s: Status) -> Self {
        let message = match s.message().strip_prefix("Validation error in body: ") {
            // the shared layer's validation errors, in REST's words
            Some(rest) => {
                return RestError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Validation error in JSON body: {rest}"),
                );
            }
            None => s.message().to_string(),
        };
        RestError::new(http_status(s.code()), message)
    }
}

impl From<vicinity::Error> for RestError {
    fn from(e: vicinity::Error) -> Self {
        crate::status::from_engine(e).into()
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"status": {"error": self.message}, "time": 0.0})),
        )
            .into_response()
    }
}

/// What a handler returns.
pub type RestResult = Result<Response, RestError>;

/// Qdrant's envelope around a result.
pub fn ok<T: Serialize>(t: Instant, result: T) -> RestResult {
    Ok(Json(json!({
        "result": result,
        "status": "ok",
        "time": t.elapsed().as_secs_f64(),
    }))
    .into_response())
}

/// Runs engine work on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RestError> + Send + 'static,
) -> Result<T, RestError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Service internal error: {e}"),
        )
    })?
}

/// A JSON body, decoded as Qdrant's actix server does: `application/json`
/// required, the body limit enforced, and serde's message on failure.
pub struct Body<T>(pub T);

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.split(';').next().unwrap_or("").trim();
            ct.eq_ignore_ascii_case("application/json") || ct.ends_with("+json")
        })
}

fn content_type_error() -> RestError {
    RestError::new(StatusCode::BAD_REQUEST, "Content type error")
}

async fn bytes_of<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, RestError> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                RestError::new(status, "JSON payload is larger than allowed")
            } else {
                RestError::new(status, e.body_text())
            }
        })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = RestError;

    async fn from_request(req: Request, state: &S) -> Result<Self, RestError> {
        if !is_json(req.headers()) {
            return Err(content_type_error());
        }
        let bytes = bytes_of(req, state).await?;
        decode(&bytes).map(Body)
    }
}

/// A body that may be left out (scroll, count and the matrix take their
/// defaults then).
impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequest<S> for Body<T> {
    type Rejection = RestError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, RestError> {
        let json = is_json(req.headers());
        let bytes = bytes_of(req, state).await?;
        if bytes.is_empty() {
            return Ok(None);
        }
        if !json {
            return Err(content_type_error());
        }
        decode(&bytes).map(|t| Some(Body(t)))
    }
}

/// Decodes a JSON body as [`Body`] does (what the fuzz target drives).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RestError> {
    serde_json::from_slice(bytes).map_err(RestError::format)
}

/// Query parameters, refused as Qdrant refuses them.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, RestError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(Params)
            .map_err(|e| {
                RestError::new(
                    StatusCode::BAD_REQUEST,
                    format!("Query deserialize error: {e}"),
                )
            })
    }
}

/// How the REST port is run.
#[derive(Clone, Debug)]
pub struct RestConfig {
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The gate point writes pass (shared with the gRPC port by
    /// [`start`](crate::start)).
    pub writes: crate::admission::WriteGate,
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig {
            body_limit: DEFAULT_BODY_LIMIT,
            writes: crate::admission::WriteGate::default(),
        }
    }
}

/// What the access check needs: the keys, the state (a token's
/// `value_exists`), and the body limit (a limited token's read is read
/// for its lookups before the handler sees it).
#[derive(Clone)]
struct Guard {
    keys: Arc<ApiKeys>,
    state: Arc<State>,
    body_limit: usize,
}

/// A refusal of the access check. A key or token that does not pass is
/// answered in plain text, as Qdrant's middleware does; an operation the
/// access does not cover gets the JSON envelope, as Qdrant's handlers do.
fn denied(d: Denied) -> Response {
    match d {
        Denied::Unauthenticated(m) => (StatusCode::UNAUTHORIZED, m).into_response(),
        Denied::Token(m) => (StatusCode::FORBIDDEN, m).into_response(),
        Denied::Forbidden(m) => RestError::new(StatusCode::FORBIDDEN, m).into_response(),
    }
}

async fn check_key(
    axum::extract::State(g): axum::extract::State<Guard>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    let (need, collection) = crate::auth::rules::rest_need(req.method(), req.uri().path());
    if need == Need::Open {
        return next.run(req).await;
    }
    let (access, exists) = match g.keys.access(req.headers()) {
        Ok(a) => a,
        Err(d) => return denied(d),
    };
    if let Some(v) = exists {
        let state = g.state.clone();
        match tokio::task::spawn_blocking(move || crate::auth::value_exists(&state, &v)).await {
            Ok(Ok(())) => {}
            Ok(Err(d)) => return denied(d),
            Err(e) => {
                return RestError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
                    .into_response();
            }
        }
    }
    let mut req = req;
    let mut lookups = Vec::new();
    let limited_read = matches!(access, Access::Collections(_))
        && matches!(need, Need::Collection { write: false, .. })
        && req.method() == Method::POST;
    if limited_read {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, g.body_limit).await else {
            return RestError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "JSON payload is larger than allowed",
            )
            .into_response();
        };
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            crate::auth::rules::rest_lookups(&v, &mut lookups);
        }
        req = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    if let Err(d) = access.check(need, collection.as_deref(), &lookups) {
        return denied(d);
    }
    req.extensions_mut().insert(access);
    next.run(req).await
}

/// CORS as Qdrant configures it: any origin, method and header; a
/// preflight is answered here.
async fn cors(req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let asked_headers = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned();
    let asked_method = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .cloned();
    let mut resp = if preflight && origin.is_some() {
        let mut r = StatusCode::OK.into_response();
        let h = r.headers_mut();
        if let Some(m) = asked_method {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m);
        }
        if let Some(a) = asked_headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, a);
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("3600"),
        );
        r
    } else {
        next.run(req).await
    };
    if let Some(o) = origin {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp
}

/// Trailing slashes are trimmed before routing, as Qdrant's
/// `NormalizePath::trim` does.
fn trim_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let pq = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = pq.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// The REST application as `axum::serve` takes it.
pub type App =
    axum::routing::IntoMakeService<tower::util::MapRequest<Router, fn(Request) -> Request>>;

/// The application served on the REST port: routes, API keys, CORS,
/// body limit, path normalization and request metrics.
pub fn app(keys: Arc<ApiKeys>, state: Arc<State>, config: &RestConfig) -> App {
    use axum::ServiceExt;
    router(keys, state, config).into_make_service()
}

/// What [`app`] serves, as one tower service: a request in, a response
/// out, no socket (the fuzz target and in-process callers drive it with
/// `tower::ServiceExt::oneshot`).
pub fn router(
    keys: Arc<ApiKeys>,
    state: Arc<State>,
    config: &RestConfig,
) -> tower::util::MapRequest<Router, fn(Request) -> Request> {
    let metrics_state = state.clone();
    let guard_state = state.clone();
    let router = routes()
        .with_state(state)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            metrics_state,
            crate::metrics::record_rest,
        ))
        .layer(axum::middleware::from_fn_with_state(
            config.writes.clone(),
            crate::admission::rest_gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Guard {
                keys,
                state: guard_state,
                body_limit: config.body_limit,
            },
            check_key,
        ))
        .layer(axum::middleware::from_fn(cors))
        .layer(axum::extract::DefaultBodyLimit::max(config.body_limit));
    tower::util::MapRequest::new(router, trim_slash as fn(Request) -> Request)
}

async fn not_found(req: Request) -> RestError {
    RestError::new(
        StatusCode::NOT_FOUND,
        format!(
            "Not found: no endpoint {} {}",
            req.method(),
            req.uri().path()
        ),
    )
}

/// Every endpoint, by path.
fn routes() -> Router<Arc<State>> {
    use collections as c;
    use points as p;
    use query as q;
    use service as s;
    use snapshots as sn;
    Router::new()
        .route("/", get(s::root))
        .route("/healthz", get(s::probe))
        .route("/livez", get(s::probe))
        .route("/readyz", get(s::ready))
        .route("/metrics", get(s::metrics))
        .route("/telemetry", get(s::telemetry))
        .route("/cluster", get(s::cluster))
        .route("/issues", get(s::issues).delete(s::clear_issues))
        .route("/collections", get(c::list))
        .route("/aliases", get(c::all_aliases))
        .route("/collections/aliases", post(c::update_aliases))
        .route(
            "/collections/{name}",
            get(c::get_info)
                .put(c::create)
                .patch(c::update)
                .delete(c::remove),
        )
        .route("/collections/{name}/exists", get(c::exists))
        .route("/collections/{name}/aliases", get(c::aliases))
        .route("/collections/{name}/cluster", get(c::cluster))
        .route("/collections/{name}/index", put(c::create_index))
        .route("/collections/{name}/index/{field}", delete(c::delete_index))
        .route(
            "/collections/{name}/points",
            put(p::upsert).post(p::retrieve),
        )
        .route("/collections/{name}/points/{id}", get(p::get_one))
        .route("/collections/{name}/points/delete", post(p::delete))
        .route("/collections/{name}/points/vectors", put(p::update_vectors))
        .route(
            "/collections/{name}/points/vectors/delete",
            post(p::delete_vectors),
        )
        .route(
            "/collections/{name}/points/payload",
            post(p::set_payload).put(p::overwrite_payload),
        )
        .route(
            "/collections/{name}/points/payload/delete",
            post(p::delete_payload),
        )
        .route(
            "/collections/{name}/points/payload/clear",
            post(p::clear_payload),
        )
        .route("/collections/{name}/points/batch", post(p::batch))
        .route("/collections/{name}/points/scroll", post(p::scroll))
        .route("/collections/{name}/points/count", post(p::count))
        .route("/collections/{name}/facet", post(p::facet))
        .route("/collections/{name}/points/query", post(q::query))
        .route(
            "/collections/{name}/points/query/batch",
            post(q::query_batch),
        )
        .route(
            "/collections/{name}/points/query/groups",
            post(q::query_groups),
        )
        .route("/collections/{name}/points/search", post(q::search))
        .route(
            "/collections/{name}/points/search/batch",
            post(q::search_batch),
        )
        .route(
            "/collections/{name}/points/search/groups",
            post(q::search_groups),
        )
        .route("/collections/{name}/points/recommend", post(q::recommend))
        .route(
            "/collections/{name}/points/recommend/batch",
            post(q::recommend_batch),
        )
        .route(
            "/collections/{name}/points/recommend/groups",
            post(q::recommend_groups),
        )
        .route("/collections/{name}/points/discover", post(q::discover))
        .route(
            "/collections/{name}/points/discover/batch",
            post(q::discover_batch),
        )
        .route(
            "/collections/{name}/points/search/matrix/pairs",
            post(q::matrix_pairs),
        )
        .route(
            "/collections/{name}/points/search/matrix/offsets",
            post(q::matrix_offsets),
        )
        .route(
            "/collections/{name}/snapshots",
            get(sn::list).post(sn::create),
        )
        .route(
            "/collections/{name}/snapshots/{snapshot}",
            get(sn::download).delete(sn::remove),
        )
        .route("/collections/{name}/snapshots/upload", post(sn::upload))
        .route("/collections/{name}/snapshots/recover", put(sn::recover))
        .route("/snapshots", get(sn::list_full).post(sn::create_full))
        .route(
            "/snapshots/{snapshot}",
            get(sn::download_full).delete(sn::remove_full),
        )
        .route(
            "/collections/{name}/shards",
            get(c::shard_keys).put(c::shards_refused),
        )
        .route("/collections/{name}/shards/delete", post(c::shards_refused))
        .route(
            "/collections/{name}/vectors/{vector}",
            put(c::vector_name_refused).delete(c::vector_name_refused),
        )
        .route("/collections/{name}/optimizations", get(c::optimizations))
}
