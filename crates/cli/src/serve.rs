//! `vicinity serve`: Qdrant's gRPC protocol on the gRPC port and its REST
//! API on the HTTP port, until SIGINT or SIGTERM.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use vicinity::Database;
use vicinity_server::{ApiKeys, ServerConfig, State, TlsFiles};

/// Options of `vicinity serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Keep collections in memory only (nothing is written; lost at exit).
    #[arg(long)]
    memory: bool,
    /// Keep collections in this folder (created if missing): every
    /// acknowledged write survives a crash. Default: `./vicinity_storage`.
    #[arg(long, value_name = "DIR", conflicts_with = "memory")]
    storage: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The gRPC port (Qdrant's default).
    #[arg(long, default_value_t = 6334)]
    grpc_port: u16,
    /// The HTTP port (Qdrant's REST API default).
    #[arg(long, default_value_t = 6333)]
    http_port: u16,
    /// Require this key (header `api-key` or `authorization: Bearer`) on
    /// every request but health checks.
    #[arg(long, env = "VICINITY_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// A key that allows reads only.
    #[arg(long, env = "VICINITY_READ_ONLY_API_KEY", hide_env_values = true)]
    read_only_api_key: Option<String>,
    /// Also accept JWTs signed with --api-key (HS256), with Qdrant's
    /// claims: global or per-collection access, `exp`, `value_exists`.
    #[arg(long, requires = "api_key")]
    jwt_rbac: bool,
    /// TLS certificate chain (PEM) for both ports; needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The most collections this server holds; creating one more is
    /// refused (Qdrant's `storage.max_collections`; default: no limit).
    #[arg(long, value_name = "N")]
    max_collections: Option<usize>,
    /// Point writes admitted at once on both ports; more wait for their
    /// turn before their bodies are read, up to their timeout (default
    /// 60 s), then get Qdrant's timeout error.
    #[arg(long, value_name = "N", default_value_t = vicinity_server::admission::DEFAULT_MAX_IN_FLIGHT)]
    max_concurrent_writes: usize,
    /// The largest gRPC message, in MiB (refused from its length prefix,
    /// before it is read).
    #[arg(long, value_name = "MIB", default_value_t = vicinity_server::DEFAULT_MAX_GRPC_MESSAGE >> 20)]
    max_grpc_message_size_mb: usize,
    /// The largest REST request body, in MiB (Qdrant's default: 32).
    #[arg(long, value_name = "MIB", default_value_t = 32)]
    max_request_size_mb: usize,
    /// Before serving, recover a collection from a snapshot file:
    /// `PATH:NAME` (repeatable; as Qdrant's `--snapshot`).
    #[arg(long = "snapshot", value_name = "PATH:NAME")]
    snapshots: Vec<String>,
    /// Before serving, recover every collection and alias in a full
    /// snapshot (`POST /snapshots`; as Qdrant's `--storage-snapshot`).
    #[arg(long, value_name = "PATH")]
    storage_snapshot: Option<PathBuf>,
    /// Let `--snapshot` and `--storage-snapshot` replace collections that
    /// exist already (else the start is refused).
    #[arg(long)]
    force_snapshot: bool,
}

/// Recovers the snapshots named on the command line into `db`.
fn recover_at_start(args: &ServeArgs, db: &Database) -> anyhow::Result<()> {
    if let Some(file) = &args.storage_snapshot {
        let names = db
            .restore_full_snapshot(file, args.force_snapshot)
            .with_context(|| format!("recovering the full snapshot {}", file.display()))?;
        println!(
            "vicinity: recovered {} collection(s) from {}",
            names.len(),
            file.display()
        );
    }
    for spec in &args.snapshots {
        let (path, name) = spec
            .rsplit_once(':')
            .filter(|(p, n)| !p.is_empty() && !n.is_empty())
            .with_context(|| format!("--snapshot {spec:?}: expected PATH:NAME"))?;
        if db.collection_exists(name) && !args.force_snapshot {
            anyhow::bail!(
                "Collection {name} already exists. Use --force-snapshot to overwrite it."
            );
        }
        db.restore_snapshot(name, std::path::Path::new(path))
            .with_context(|| format!("recovering {name} from {path}"))?;
        println!("vicinity: recovered {name} from {path}");
    }
    Ok(())
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let (db, storage_line) = if args.memory {
        (
            Database::new(),
            "in-memory storage (collections are lost at exit)".to_string(),
        )
    } else {
        let dir = args
            .storage
            .clone()
            .unwrap_or_else(|| PathBuf::from("vicinity_storage"));
        let db = Database::open(&dir)
            .with_context(|| format!("opening the storage folder {}", dir.display()))?;
        (db, format!("storage in {}", dir.display()))
    };
    recover_at_start(&args, &db)?;
    let state = State::with_database(db);
    state.set_max_collections(args.max_collections);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert_pem: std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?,
            key_pem: std::fs::read(key).with_context(|| format!("reading {}", key.display()))?,
        }),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let config = ServerConfig {
        host: args.host,
        grpc_port: args.grpc_port,
        http_port: args.http_port,
        keys: ApiKeys {
            api_key: args.api_key,
            read_only_api_key: args.read_only_api_key,
            jwt_rbac: args.jwt_rbac,
        },
        tls,
        rest: vicinity_server::rest::RestConfig {
            body_limit: args.max_request_size_mb.saturating_mul(1024 * 1024),
            ..Default::default()
        },
        max_concurrent_writes: args.max_concurrent_writes,
        max_grpc_message_bytes: args.max_grpc_message_size_mb.saturating_mul(1024 * 1024),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = vicinity_server::start(config, state.clone()).await?;
        // wait=false writes are fsynced within a second; long logs are
        // checkpointed
        let flusher = tokio::spawn(vicinity_server::background::maintenance(state.clone()));
        println!("vicinity: {storage_line}");
        println!("vicinity: gRPC on {scheme}://{}", server.grpc_addr);
        println!("vicinity: HTTP on {scheme}://{}", server.http_addr);
        shutdown_signal().await?;
        println!("vicinity: shutting down");
        server.shutdown().await?;
        flusher.abort();
        // so that the next start reads checkpoints instead of replaying
        vicinity_server::background::close_storage(&state)
            .context("flushing and checkpointing the storage")?;
        Ok(())
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("listening for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")?;
    Ok(())
}
