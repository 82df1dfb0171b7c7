//! An in-process server for tests: in-memory storage, free ports, stopped
//! when dropped.

use std::sync::Arc;

use crate::server::{RunningServer, ServerConfig, ServerError, start};
use crate::state::State;

/// A server on free local ports, serving an empty in-memory database until
/// dropped. Start it inside a multi-threaded tokio runtime.
pub struct TestServer {
    server: Option<RunningServer>,
    /// The shared state, for looking behind the wire in tests.
    pub state: Arc<State>,
    tls: bool,
}

impl TestServer {
    /// A plain-text server without API keys.
    pub async fn start() -> Result<Self, ServerError> {
        Self::start_with(ServerConfig::default()).await
    }

    /// A server with these keys and TLS settings; the host and ports are
    /// replaced with 127.0.0.1 and free ports.
    pub async fn start_with(config: ServerConfig) -> Result<Self, ServerError> {
        Self::start_over(config, State::new()).await
    }

    /// A plain-text server over this state (a durable database, say).
    pub async fn start_on(state: Arc<State>) -> Result<Self, ServerError> {
        Self::start_over(ServerConfig::default(), state).await
    }

    /// A server with these settings over this state.
    pub async fn start_with_state(
        config: ServerConfig,
        state: Arc<State>,
    ) -> Result<Self, ServerError> {
        Self::start_over(config, state).await
    }

    async fn start_over(mut config: ServerConfig, state: Arc<State>) -> Result<Self, ServerError> {
        config.host = std::net::IpAddr::from([127, 0, 0, 1]);
        config.grpc_port = 0;
        config.http_port = 0;
        let tls = config.tls.is_some();
        let server = start(config, state.clone()).await?;
        Ok(TestServer {
            server: Some(server),
            state,
            tls,
        })
    }

    fn running(&self) -> &RunningServer {
        self.server
            .as_ref()
            .expect("the server runs until the TestServer is dropped")
    }

    /// The gRPC address.
    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.running().grpc_addr
    }

    /// The HTTP address.
    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.running().http_addr
    }

    /// The gRPC URL (`http://127.0.0.1:PORT`, or `https://` with TLS).
    pub fn grpc_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.grpc_addr())
    }

    /// The HTTP URL.
    pub fn http_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.http_addr())
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        match self.server.take() {
            Some(s) => s.shutdown().await,
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}
