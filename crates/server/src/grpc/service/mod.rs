//! One service struct per Qdrant service, each holding the shared state.
//! A handler converts the request (refusing bad ones), makes one engine
//! call on the blocking pool and converts the result.

mod collections;
mod health;
mod points;
mod snapshots;

use std::time::Instant;

pub use collections::CollectionsService;
pub use health::{HealthService, QdrantService};
pub use points::PointsService;
pub use snapshots::SnapshotsService;
use tonic::Status;

/// Runs engine work on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("Service internal error: {e}")))?
}

/// Seconds since `t`, for the replies' `time` field.
pub(crate) fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}
