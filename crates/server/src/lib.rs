//! Vicinity's server: Qdrant's gRPC protocol and REST API over the
//! `vicinity` engine, so that Qdrant's official clients and the
//! integrations built on them work unchanged.
//!
//! Each handler, gRPC or REST, is three steps: decode the wire request
//! into an engine request (refusing bad input with Qdrant's status and
//! message), make one engine call on the blocking pool, encode the result.
//! Engine errors map to gRPC codes in one match ([`status::code_of`]) and
//! to HTTP statuses in another ([`rest::http_status`]).
//!
//! In a tokio program:
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
//!
//! Anywhere else (a synchronous test, the Python package), on threads of
//! its own, on free ports:
//!
//! ```no_run
//! use vicinity_server::{BackgroundServer, ServerConfig, State};
//!
//! let config = ServerConfig { grpc_port: 0, http_port: 0, ..ServerConfig::default() };
//! let server = BackgroundServer::start(config, State::new())?;
//! println!("REST on http://{}", server.http_addr());
//! server.stop()?;
//! # Ok::<(), vicinity_server::ServerError>(())
//! ```

#![forbid(unsafe_code)]

pub mod admission;
pub mod auth;
pub mod background;
pub mod grpc;
pub mod http_client;
pub mod metrics;
pub mod ops;
pub mod rest;
pub mod server;
pub mod state;
pub mod status;
pub mod strict;
pub mod testing;
mod tls;

pub use auth::ApiKeys;
pub use background::BackgroundServer;
pub use server::{
    DEFAULT_MAX_GRPC_MESSAGE, RunningServer, ServerConfig, ServerError, TlsFiles, start,
};
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
