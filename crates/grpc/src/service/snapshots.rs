//! `qdrant.Snapshots`: refused until durable storage lands.

use tonic::{Request, Response, Status};

use crate::pb;

/// `qdrant.Snapshots`. Every RPC answers `Unimplemented`: collections live
/// in memory, and snapshots come with durable storage.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotsService;

fn refused<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented(
        "Snapshots are not available yet: Vicinity keeps collections in memory until durable storage lands",
    ))
}

#[tonic::async_trait]
impl pb::snapshots_server::Snapshots for SnapshotsService {
    async fn create(
        &self,
        _: Request<pb::CreateSnapshotRequest>,
    ) -> Result<Response<pb::CreateSnapshotResponse>, Status> {
        refused()
    }
    async fn list(
        &self,
        _: Request<pb::ListSnapshotsRequest>,
    ) -> Result<Response<pb::ListSnapshotsResponse>, Status> {
        refused()
    }
    async fn delete(
        &self,
        _: Request<pb::DeleteSnapshotRequest>,
    ) -> Result<Response<pb::DeleteSnapshotResponse>, Status> {
        refused()
    }
    async fn create_full(
        &self,
        _: Request<pb::CreateFullSnapshotRequest>,
    ) -> Result<Response<pb::CreateSnapshotResponse>, Status> {
        refused()
    }
    async fn list_full(
        &self,
        _: Request<pb::ListFullSnapshotsRequest>,
    ) -> Result<Response<pb::ListSnapshotsResponse>, Status> {
        refused()
    }
    async fn delete_full(
        &self,
        _: Request<pb::DeleteFullSnapshotRequest>,
    ) -> Result<Response<pb::DeleteSnapshotResponse>, Status> {
        refused()
    }
}
