//! `vicinity serve`: Qdrant's gRPC protocol on the gRPC port, `GET /` and
//! probes on the HTTP port, until SIGINT or SIGTERM.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use vicinity_grpc::{ApiKeys, ServerConfig, State, TlsFiles};

/// Options of `vicinity serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Keep collections in memory (lost at exit). The only mode until
    /// durable storage lands.
    #[arg(long)]
    memory: bool,
    /// Keep collections in this folder. Not available yet: refused.
    #[arg(long, value_name = "DIR", conflicts_with = "memory")]
    storage: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The gRPC port (Qdrant's default).
    #[arg(long, default_value_t = 6334)]
    grpc_port: u16,
    /// The HTTP port (Qdrant's REST default; serves `GET /` and probes).
    #[arg(long, default_value_t = 6333)]
    http_port: u16,
    /// Require this key (header `api-key` or `authorization: Bearer`) on
    /// every request but health checks.
    #[arg(long, env = "VICINITY_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// A key that allows reads only.
    #[arg(long, env = "VICINITY_READ_ONLY_API_KEY", hide_env_values = true)]
    read_only_api_key: Option<String>,
    /// TLS certificate chain (PEM) for both ports; needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.storage {
        bail!(
            "--storage {}: durable storage is not available yet; run with --memory (collections are lost at exit)",
            dir.display()
        );
    }
    if !args.memory {
        bail!("choose a storage mode: --memory (durable --storage is not available yet)");
    }
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
        },
        tls,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = vicinity_grpc::start(config, State::new()).await?;
        println!("vicinity: in-memory storage (collections are lost at exit)");
        println!("vicinity: gRPC on {scheme}://{}", server.grpc_addr);
        println!("vicinity: HTTP on {scheme}://{}", server.http_addr);
        shutdown_signal().await?;
        println!("vicinity: shutting down");
        server.shutdown().await?;
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
