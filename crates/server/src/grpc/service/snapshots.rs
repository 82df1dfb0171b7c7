//! `qdrant.Snapshots`: per-collection and full-storage snapshots of a
//! durable database (`vicinity serve --storage DIR`).

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::grpc::service::{blocking, secs};
use crate::pb;
use crate::state::State;
use crate::status::from_engine;

/// `qdrant.Snapshots` over shared state.
#[derive(Clone)]
pub struct SnapshotsService {
    state: Arc<State>,
}

impl SnapshotsService {
    /// The service over shared state.
    pub fn new(state: Arc<State>) -> Self {
        SnapshotsService { state }
    }
}

fn description(d: vicinity::SnapshotDescription) -> pb::SnapshotDescription {
    // the name carries the creation time in milliseconds: <name>-<seq>-<ms>.snapshot
    let millis: i64 = d
        .name
        .trim_end_matches(".snapshot")
        .rsplit('-')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    pb::SnapshotDescription {
        name: d.name,
        creation_time: Some(prost_types::Timestamp {
            seconds: millis / 1000,
            nanos: ((millis % 1000) * 1_000_000) as i32,
        }),
        size: d.size as i64,
        checksum: None,
    }
}

#[tonic::async_trait]
impl pb::snapshots_server::Snapshots for SnapshotsService {
    async fn create(
        &self,
        request: Request<pb::CreateSnapshotRequest>,
    ) -> Result<Response<pb::CreateSnapshotResponse>, Status> {
        let t = Instant::now();
        let name = request.into_inner().collection_name;
        let state = self.state.clone();
        let d = blocking(move || state.db.create_snapshot(&name).map_err(from_engine)).await?;
        Ok(Response::new(pb::CreateSnapshotResponse {
            snapshot_description: Some(description(d)),
            time: secs(t),
        }))
    }

    async fn list(
        &self,
        request: Request<pb::ListSnapshotsRequest>,
    ) -> Result<Response<pb::ListSnapshotsResponse>, Status> {
        let t = Instant::now();
        let name = request.into_inner().collection_name;
        let state = self.state.clone();
        let list = blocking(move || state.db.list_snapshots(&name).map_err(from_engine)).await?;
        Ok(Response::new(pb::ListSnapshotsResponse {
            snapshot_descriptions: list.into_iter().map(description).collect(),
            time: secs(t),
        }))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteSnapshotRequest>,
    ) -> Result<Response<pb::DeleteSnapshotResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let state = self.state.clone();
        blocking(move || {
            state
                .db
                .delete_snapshot(&r.collection_name, &r.snapshot_name)
                .map_err(from_engine)
        })
        .await?;
        Ok(Response::new(pb::DeleteSnapshotResponse { time: secs(t) }))
    }

    async fn create_full(
        &self,
        _: Request<pb::CreateFullSnapshotRequest>,
    ) -> Result<Response<pb::CreateSnapshotResponse>, Status> {
        let t = Instant::now();
        let state = self.state.clone();
        let d = blocking(move || state.db.create_full_snapshot().map_err(from_engine)).await?;
        Ok(Response::new(pb::CreateSnapshotResponse {
            snapshot_description: Some(description(d)),
            time: secs(t),
        }))
    }

    async fn list_full(
        &self,
        _: Request<pb::ListFullSnapshotsRequest>,
    ) -> Result<Response<pb::ListSnapshotsResponse>, Status> {
        let t = Instant::now();
        let state = self.state.clone();
        let list = blocking(move || state.db.list_full_snapshots().map_err(from_engine)).await?;
        Ok(Response::new(pb::ListSnapshotsResponse {
            snapshot_descriptions: list.into_iter().map(description).collect(),
            time: secs(t),
        }))
    }

    async fn delete_full(
        &self,
        request: Request<pb::DeleteFullSnapshotRequest>,
    ) -> Result<Response<pb::DeleteSnapshotResponse>, Status> {
        let t = Instant::now();
        let name = request.into_inner().snapshot_name;
        let state = self.state.clone();
        blocking(move || state.db.delete_full_snapshot(&name).map_err(from_engine)).await?;
        Ok(Response::new(pb::DeleteSnapshotResponse { time: secs(t) }))
    }
}
