//! The server: the gRPC services and the HTTP surface on two ports, with
//! optional API keys and TLS, stopped by a signal or by its handle.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Identity, ServerTlsConfig};

use crate::auth::{ApiKeys, GrpcAuthLayer};
use crate::grpc::service::{
    CollectionsService, HealthService, PointsService, QdrantService, SnapshotsService,
};
use crate::health_pb::health_server::HealthServer;
use crate::pb::collections_server::CollectionsServer;
use crate::pb::points_server::PointsServer;
use crate::pb::qdrant_server::QdrantServer;
use crate::pb::snapshots_server::SnapshotsServer;
use crate::state::State;

/// A certificate chain and its private key, PEM encoded.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// The private key, PEM.
    pub key_pem: Vec<u8>,
}

/// How to run the server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The address to listen on.
    pub host: IpAddr,
    /// The gRPC port (Qdrant's default 6334; 0 picks a free one).
    pub grpc_port: u16,
    /// The HTTP port (Qdrant's default 6333; 0 picks a free one).
    pub http_port: u16,
    /// API keys; none means open access.
    pub keys: ApiKeys,
    /// TLS for both ports; none means plain text.
    pub tls: Option<TlsFiles>,
    /// The REST port's settings (the body limit).
    pub rest: crate::rest::RestConfig,
    /// Point writes admitted at once on both ports; more wait (see
    /// [`admission`](crate::admission)).
    pub max_concurrent_writes: usize,
    /// The largest gRPC message accepted, in bytes: refused from its length
    /// prefix, before it is read.
    pub max_grpc_message_bytes: usize,
}

/// The default gRPC message limit: 256 MiB. (Qdrant sets none; a bound
/// keeps one message from taking the process's memory, and no client
/// batch comes near it.)
pub const DEFAULT_MAX_GRPC_MESSAGE: usize = 256 << 20;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: IpAddr::from([127, 0, 0, 1]),
            grpc_port: 6334,
            http_port: 6333,
            keys: ApiKeys::default(),
            tls: None,
            rest: crate::rest::RestConfig::default(),
            max_concurrent_writes: crate::admission::DEFAULT_MAX_IN_FLIGHT,
            max_grpc_message_bytes: DEFAULT_MAX_GRPC_MESSAGE,
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The gRPC transport failed.
    #[error("gRPC server: {0}")]
    Grpc(#[from] tonic::transport::Error),
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Http(std::io::Error),
    /// A server task panicked.
    #[error("server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A running server: its addresses, and a handle to stop it.
#[derive(Debug)]
pub struct RunningServer {
    /// Where gRPC listens.
    pub grpc_addr: SocketAddr,
    /// Where HTTP listens.
    pub http_addr: SocketAddr,
    stop: watch::Sender<bool>,
    grpc: JoinHandle<Result<(), ServerError>>,
    http: JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// Asks the server to stop: no new connections, in-flight calls finish.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until both ports have stopped serving.
    pub async fn wait(self) -> Result<(), ServerError> {
        let grpc = self.grpc.await?;
        let http = self.http.await?;
        grpc.and(http)
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        self.stop();
        self.wait().await
    }
}

/// The HTTP port's listener, plain or TLS.
enum HttpListener {
    Plain(TcpListener),
    Tls(crate::tls::TlsListener),
}

async fn bind(host: IpAddr, port: u16) -> Result<TcpListener, ServerError> {
    let addr = SocketAddr::new(host, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Starts serving `state` as `config` says, in tasks on the current tokio
/// runtime; returns once both ports are bound.
pub async fn start(config: ServerConfig, state: Arc<State>) -> Result<RunningServer, ServerError> {
    let grpc_listener = bind(config.host, config.grpc_port).await?;
    let http_listener = bind(config.host, config.http_port).await?;
    let grpc_addr = grpc_listener.local_addr().map_err(ServerError::Http)?;
    let http_addr = http_listener.local_addr().map_err(ServerError::Http)?;
    let (stop, stopped) = watch::channel(false);
    let keys = Arc::new(config.keys);

    // Everything that can fail is checked before any task starts, so that
    // a failed start leaves nothing running.
    // (A TLS listener's accept task stops when the listener is dropped.)
    let http_listener = match &config.tls {
        Some(tls) => HttpListener::Tls(crate::tls::TlsListener::new(http_listener, tls)?),
        None => HttpListener::Plain(http_listener),
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &config.tls {
        builder = builder
            .tls_config(
                ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem)),
            )
            .map_err(|e| ServerError::Tls(e.to_string()))?;
    }
    macro_rules! wire {
        ($server:expr) => {
            $server
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(config.max_grpc_message_bytes)
                .max_encoding_message_size(usize::MAX)
        };
    }
    let gate = crate::admission::WriteGate::new(
        config.max_concurrent_writes,
        crate::admission::DEFAULT_WAIT,
    );
    let router = builder
        .layer(crate::metrics::GrpcMetricsLayer::new(state.clone()))
        .layer(GrpcAuthLayer::new(keys.clone(), state.clone()))
        .layer(crate::admission::GrpcGateLayer::new(gate.clone()))
        .add_service(wire!(QdrantServer::new(QdrantService)))
        .add_service(wire!(CollectionsServer::new(CollectionsService::new(
            state.clone()
        ))))
        .add_service(wire!(PointsServer::new(PointsService::new(state.clone()))))
        .add_service(wire!(SnapshotsServer::new(SnapshotsService::new(
            state.clone()
        ))))
        .add_service(HealthServer::new(HealthService));
    let mut grpc_stop = stopped.clone();
    let grpc = tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(no_delay(grpc_listener), async move {
                let _ = grpc_stop.wait_for(|s| *s).await;
            })
            .await
            .map_err(ServerError::from)
    });

    let rest = crate::rest::RestConfig {
        writes: gate,
        ..config.rest.clone()
    };
    let app = crate::rest::app(keys, state.clone(), &rest);
    let mut http_stop = stopped;
    let http_stopped = async move {
        let _ = http_stop.wait_for(|s| *s).await;
    };
    let http = match http_listener {
        HttpListener::Plain(listener) => tokio::spawn(async move {
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(http_stopped)
                .await
                .map_err(ServerError::Http)
        }),
        HttpListener::Tls(listener) => tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(http_stopped)
                .await
                .map_err(ServerError::Http)
        }),
    };
    Ok(RunningServer {
        grpc_addr,
        http_addr,
        stop,
        grpc,
        http,
    })
}

/// The gRPC port's connections, with Nagle's algorithm off: a reply goes
/// out in several writes (HTTP/2 headers, data, trailers), and with Nagle
/// on, the later ones wait for the client's delayed ACK of the first (40
/// ms per call with grpcio, the Python client's transport).
fn no_delay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|tcp| {
            let _ = tcp.set_nodelay(true);
        })
    })
}

/// How long a TLS handshake on the HTTP port may take.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
