//! Snapshots: of a collection (create, list, download, delete, upload,
//! recover from a path or a URL) and of the whole storage (create, list,
//! download, delete; a full snapshot is recovered at start-up, with
//! `vicinity serve --storage-snapshot FILE`, as in Qdrant).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Multipart, Path, State as Shared};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::rest::models::{RecoverBody, SnapshotParams};
use crate::rest::output;
use crate::rest::{Body, Params, RestError, RestResult, blocking, ok};
use crate::state::State;

type S = Shared<Arc<State>>;

/// `GET /collections/{name}/snapshots`.
pub(super) async fn list(Shared(state): S, Path(name): Path<String>) -> RestResult {
    let t = Instant::now();
    let list = blocking(move || Ok(state.db.list_snapshots(&name)?)).await?;
    let list: Vec<_> = list.into_iter().map(output::snapshot).collect();
    ok(t, list)
}

/// `POST /collections/{name}/snapshots`.
pub(super) async fn create(
    Shared(state): S,
    Path(name): Path<String>,
    Params(_): Params<SnapshotParams>,
) -> RestResult {
    let t = Instant::now();
    let d = blocking(move || Ok(state.db.create_snapshot(&name)?)).await?;
    ok(t, output::snapshot(d))
}

/// `GET /collections/{name}/snapshots/{snapshot}`: the file.
pub(super) async fn download(
    Shared(state): S,
    Path((name, snapshot)): Path<(String, String)>,
) -> RestResult {
    let file = snapshot.clone();
    let bytes = blocking(move || Ok(state.db.read_snapshot(&name, &file)?)).await?;
    Ok(attachment(&snapshot, bytes))
}

/// A snapshot file as a download.
fn attachment(name: &str, bytes: Vec<u8>) -> axum::response::Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `DELETE /collections/{name}/snapshots/{snapshot}`.
pub(super) async fn remove(
    Shared(state): S,
    Path((name, snapshot)): Path<(String, String)>,
    Params(_): Params<SnapshotParams>,
) -> RestResult {
    let t = Instant::now();
    blocking(move || Ok(state.db.delete_snapshot(&name, &snapshot)?)).await?;
    ok(t, true)
}

fn sha256_matches(path: &std::path::Path, want: &str) -> Result<(), RestError> {
    use sha2::Digest;
    let bytes = std::fs::read(path).map_err(|e| RestError::wrong(e.to_string()))?;
    let got = sha2::Sha256::digest(&bytes);
    let got: String = got.iter().map(|b| format!("{b:02x}")).collect();
    if got.eq_ignore_ascii_case(want) {
        Ok(())
    } else {
        Err(RestError::wrong(format!(
            "Snapshot checksum mismatch: expected {want}, got {got}"
        )))
    }
}

/// The largest snapshot a recovery downloads (64 GiB).
const MAX_SNAPSHOT_DOWNLOAD: u64 = 64 << 30;

/// A fresh file name for a snapshot on its way in.
fn temp_snapshot() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "vicinity-incoming-{}.snapshot",
        uuid::Uuid::new_v4()
    ))
}

/// Restores `name` from a file on this machine.
async fn restore(
    state: Arc<State>,
    name: String,
    file: std::path::PathBuf,
    checksum: Option<String>,
) -> Result<(), RestError> {
    blocking(move || {
        if let Some(sum) = checksum {
            sha256_matches(&file, &sum)?;
        }
        let c = state.db.restore_snapshot(&name, &file)?;
        state.meta.write().remove(c.name());
        Ok(())
    })
    .await
}

/// `PUT /collections/{name}/snapshots/recover`: from an `http(s)://` URL
/// (downloaded, then restored: another server's snapshot download URL,
/// say), `file://` or a path on the server's machine.
pub(super) async fn recover(
    Shared(state): S,
    Path(name): Path<String>,
    Params(_): Params<SnapshotParams>,
    Body(body): Body<RecoverBody>,
) -> RestResult {
    let t = Instant::now();
    let location = body.location;
    if location.starts_with("http://") || location.starts_with("https://") {
        let file = temp_snapshot();
        let fetched = crate::http_client::download(
            &location,
            body.api_key.as_deref(),
            &file,
            MAX_SNAPSHOT_DOWNLOAD,
            &crate::http_client::Tls::default(),
        )
        .await;
        let result = match fetched {
            Ok(_) => restore(state, name, file.clone(), body.checksum).await,
            Err(e) => Err(RestError::wrong(format!(
                "Failed to download snapshot from {location}: {e}"
            ))),
        };
        let _ = std::fs::remove_file(&file);
        result?;
        return ok(t, true);
    }
    let file = match location.strip_prefix("file://") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::PathBuf::from(&location),
    };
    if !file.is_file() {
        return Err(RestError::new(
            StatusCode::NOT_FOUND,
            format!("Not found: Snapshot file {location} does not exist"),
        ));
    }
    restore(state, name, file, body.checksum).await?;
    ok(t, true)
}

/// `POST /collections/{name}/snapshots/upload`: a multipart form whose
/// `snapshot` field is the file.
pub(super) async fn upload(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<SnapshotParams>,
    mut form: Multipart,
) -> RestResult {
    let t = Instant::now();
    let mut data = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| RestError::new(StatusCode::BAD_REQUEST, e.body_text()))?
    {
        if field.name() == Some("snapshot") {
            data = Some(
                field
                    .bytes()
                    .await
                    .map_err(|e| RestError::new(StatusCode::BAD_REQUEST, e.body_text()))?,
            );
        }
    }
    let data = data.ok_or_else(|| {
        RestError::new(
            StatusCode::BAD_REQUEST,
            "the form has no `snapshot` field with the file",
        )
    })?;
    let file = temp_snapshot();
    std::fs::write(&file, &data).map_err(|e| {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Service internal error: {e}"),
        )
    })?;
    let result = restore(state, name, file.clone(), p.checksum).await;
    let _ = std::fs::remove_file(&file);
    result?;
    ok(t, true)
}

/// `GET /snapshots`.
pub(super) async fn list_full(Shared(state): S) -> RestResult {
    let t = Instant::now();
    let list = blocking(move || Ok(state.db.list_full_snapshots()?)).await?;
    let list: Vec<_> = list.into_iter().map(output::snapshot).collect();
    ok(t, list)
}

/// `POST /snapshots`.
pub(super) async fn create_full(Shared(state): S, Params(_): Params<SnapshotParams>) -> RestResult {
    let t = Instant::now();
    let d = blocking(move || Ok(state.db.create_full_snapshot()?)).await?;
    ok(t, output::snapshot(d))
}

/// `GET /snapshots/{snapshot}`: the file.
pub(super) async fn download_full(Shared(state): S, Path(snapshot): Path<String>) -> RestResult {
    let file = snapshot.clone();
    let bytes = blocking(move || Ok(state.db.read_full_snapshot(&file)?)).await?;
    Ok(attachment(&snapshot, bytes))
}

/// `DELETE /snapshots/{snapshot}`.
pub(super) async fn remove_full(
    Shared(state): S,
    Path(snapshot): Path<String>,
    Params(_): Params<SnapshotParams>,
) -> RestResult {
    let t = Instant::now();
    blocking(move || Ok(state.db.delete_full_snapshot(&snapshot)?)).await?;
    ok(t, true)
}
