//! Vicinity's gRPC server: Qdrant's wire protocol over the `vicinity`
//! engine, so that Qdrant's official clients work unchanged, plus the small
//! HTTP surface (`GET /`, probes) those clients and orchestrators call.
//!
//! Each handler is three steps: convert the proto request to an engine
//! request (refusing bad input with `InvalidArgument`), make one engine call
//! on the blocking pool, convert the result to the proto reply. Engine
//! errors map to status codes in one match ([`status::code_of`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), vicinity_server::ServerError> {
//! use vicinity_server::{ServerConfig, State, start};
//!
//! let server = start(ServerConfig::default(), State::new()).await?;
//! println!("gRPC on {}, HTTP on {}", server.grpc_addr, server.http_addr);
//! server.wait().await
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod auth;
pub mod grpc;
pub mod metrics;
pub mod ops;
pub mod rest;
pub mod server;
pub mod state;
pub mod status;
pub mod testing;
mod tls;

pub use auth::ApiKeys;
pub use server::{RunningServer, ServerConfig, ServerError, TlsFiles, start};
pub use state::State;

/// The server's name, as Qdrant reports it.
pub const TITLE: &str = "qdrant - vector search engine";
/// The Qdrant version whose protocol and semantics Vicinity serves; clients
/// check it against their own (within one minor version).
pub const QDRANT_VERSION: &str = "1.20.0";

/// Generated Qdrant protocol types and service traits (package `qdrant`).
#[allow(
    clippy::large_enum_variant,
    clippy::doc_lazy_continuation,
    missing_docs
)]
pub mod pb {
    tonic::include_proto!("qdrant");
}

/// Generated `grpc.health.v1` types and service trait.
#[allow(missing_docs)]
pub mod health_pb {
    tonic::include_proto!("grpc.health.v1");
}
