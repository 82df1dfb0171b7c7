//! Vicinity's gRPC server.

#![forbid(unsafe_code)]

/// Generated Qdrant protocol types and service traits.
#[allow(clippy::large_enum_variant, missing_docs)]
pub mod pb {
    tonic::include_proto!("qdrant");
}
/// Generated `grpc.health.v1` types.
#[allow(missing_docs)]
pub mod health_pb {
    tonic::include_proto!("grpc.health.v1");
}
