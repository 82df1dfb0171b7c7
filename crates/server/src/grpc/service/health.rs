//! `qdrant.Qdrant/HealthCheck` and the standard `grpc.health.v1.Health`.

use tonic::{Request, Response, Status};

use crate::health_pb::{self, health_check_response::ServingStatus};
use crate::pb;
use crate::{QDRANT_VERSION, TITLE};

/// `qdrant.Qdrant`: the health check clients use to learn the version.
#[derive(Clone, Copy, Debug, Default)]
pub struct QdrantService;

#[tonic::async_trait]
impl pb::qdrant_server::Qdrant for QdrantService {
    async fn health_check(
        &self,
        _: Request<pb::HealthCheckRequest>,
    ) -> Result<Response<pb::HealthCheckReply>, Status> {
        Ok(Response::new(pb::HealthCheckReply {
            title: TITLE.into(),
            version: QDRANT_VERSION.into(),
            commit: None,
        }))
    }
}

/// `grpc.health.v1.Health`: serving, for the whole server and for each
/// Qdrant service.
#[derive(Clone, Copy, Debug, Default)]
pub struct HealthService;

/// The service names `Check` knows.
const SERVICES: [&str; 6] = [
    "",
    "qdrant.Qdrant",
    "qdrant.Collections",
    "qdrant.Points",
    "qdrant.Snapshots",
    "grpc.health.v1.Health",
];

#[tonic::async_trait]
impl health_pb::health_server::Health for HealthService {
    async fn check(
        &self,
        request: Request<health_pb::HealthCheckRequest>,
    ) -> Result<Response<health_pb::HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        if SERVICES.contains(&service.as_str()) {
            Ok(Response::new(health_pb::HealthCheckResponse {
                status: ServingStatus::Serving as i32,
            }))
        } else {
            Err(Status::not_found(format!("unknown service {service:?}")))
        }
    }
}
