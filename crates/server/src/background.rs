//! A server on threads of its own, for callers without a tokio runtime:
//! the Python package's `Server`, synchronous Rust tests, a process that
//! serves beside other work. It starts in milliseconds (two ports bound,
//! no files unless a folder is given) and stops on [`BackgroundServer::stop`]
//! or drop.
//!
//! Over a durable database it does what `vicinity serve` does: fsyncs
//! `wait = false` writes within a second, checkpoints long logs, and on
//! stop flushes and checkpoints so the next open reads checkpoints.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::server::{RunningServer, ServerConfig, ServerError, start};
use crate::state::State;

/// Bytes of log after which the maintenance task checkpoints a collection.
pub const CHECKPOINT_LOG_BYTES: u64 = 64 << 20;

/// Every second: fsync what `wait = false` writes left, and checkpoint a
/// collection whose log passed [`CHECKPOINT_LOG_BYTES`]. Runs until its
/// task is aborted; a failure (a full disk, say) is reported on stderr
/// (at most once a minute, and when it clears) and tried again next
/// second, and shows at the next write that waits.
pub async fn maintenance(state: Arc<State>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_report: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        let state = state.clone();
        let r = tokio::task::spawn_blocking(move || state.db.maintain(CHECKPOINT_LOG_BYTES)).await;
        match r {
            Ok(Err(e)) if last_report.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) => {
                eprintln!("vicinity: background flush or checkpoint failed (retrying): {e}");
                last_report = Some(std::time::Instant::now());
            }
            Ok(Ok(())) if last_report.take().is_some() => {
                eprintln!("vicinity: background flush and checkpoint work again");
            }
            _ => {}
        }
    }
}

/// Flushes the log and checkpoints every collection, so that the next
/// open reads checkpoints instead of replaying (a no-op in memory).
pub fn close_storage(state: &State) -> vicinity::Result<()> {
    state.db.flush()?;
    state.db.checkpoint_all()
}

/// A running server with its own runtime.
pub struct BackgroundServer {
    runtime: Option<tokio::runtime::Runtime>,
    server: Option<RunningServer>,
    maintenance: Option<JoinHandle<()>>,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    /// The shared state: the database behind both ports.
    pub state: Arc<State>,
}

impl BackgroundServer {
    /// Starts serving `state` as `config` says (port 0 picks a free one);
    /// returns once both ports are bound.
    pub fn start(config: ServerConfig, state: Arc<State>) -> Result<Self, ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("vicinity-server")
            .enable_all()
            .build()
            .map_err(ServerError::Http)?;
        let server = runtime.block_on(start(config, state.clone()))?;
        let maintenance = state
            .db
            .is_durable()
            .then(|| runtime.spawn(maintenance(state.clone())));
        Ok(BackgroundServer {
            grpc_addr: server.grpc_addr,
            http_addr: server.http_addr,
            runtime: Some(runtime),
            server: Some(server),
            maintenance,
            state,
        })
    }

    /// Where gRPC listens.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Where REST listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Deletes every collection (their aliases go with them): a clean
    /// state for the next test, without a restart.
    pub fn reset(&self) {
        for name in self.state.db.list_collections() {
            self.state.db.delete_collection(&name);
            self.state.meta.write().remove(&name);
        }
    }

    /// Stops serving (calls in flight finish), then flushes and
    /// checkpoints a durable database.
    pub fn stop(mut self) -> Result<(), ServerError> {
        self.shut()
    }

    fn shut(&mut self) -> Result<(), ServerError> {
        let Some(runtime) = self.runtime.take() else {
            return Ok(());
        };
        let served = match self.server.take() {
            Some(s) => runtime.block_on(s.shutdown()),
            None => Ok(()),
        };
        if let Some(m) = self.maintenance.take() {
            m.abort();
        }
        runtime.shutdown_timeout(Duration::from_secs(5));
        let closed = close_storage(&self.state)
            .map_err(|e| ServerError::Http(std::io::Error::other(e.to_string())));
        served.and(closed)
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        let _ = self.shut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vicinity::{CollectionConfig, Database, Distance, PointStruct};

    fn free_ports() -> ServerConfig {
        ServerConfig {
            grpc_port: 0,
            http_port: 0,
            ..ServerConfig::default()
        }
    }

    /// A blocking HTTP GET of `path`, for a test without a runtime.
    fn get(addr: SocketAddr, path: &str) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    /// Collection `c` (2-d, Dot) with one point.
    fn one_point(s: &BackgroundServer, id: u64, vector: Vec<f32>) {
        let c = s
            .state
            .db
            .create_collection("c", CollectionConfig::single(2, Distance::Dot))
            .unwrap();
        c.upsert(vec![PointStruct::new(id, vector, Default::default())])
            .unwrap();
    }

    #[test]
    fn serves_without_a_caller_runtime_and_resets() {
        let s = BackgroundServer::start(free_ports(), State::new()).unwrap();
        assert_ne!(s.http_addr().port(), 0);
        one_point(&s, 1, vec![1.0, 0.0]);
        s.state.db.create_alias("c", "a").unwrap();
        assert!(get(s.http_addr(), "/collections").contains(r#""name":"c""#));
        s.reset();
        assert!(s.state.db.list_collections().is_empty());
        assert!(s.state.db.list_aliases().is_empty());
        assert!(get(s.http_addr(), "/collections").contains(r#""collections":[]"#));
        let addr = s.http_addr();
        s.stop().unwrap();
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "still listening"
        );
    }

    #[test]
    fn a_durable_database_is_checkpointed_on_stop() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Database::open(dir.path()).unwrap();
            let s = BackgroundServer::start(free_ports(), State::with_database(db)).unwrap();
            one_point(&s, 7, vec![1.0, 2.0]);
            s.stop().unwrap();
        }
        let db = Database::open(dir.path()).unwrap();
        assert_eq!(db.collection("c").unwrap().count(), 1);
    }
}
