//! `vicinity export` and `vicinity import`: one collection to and from a
//! portable file of JSON lines, so that data can be inspected, diffed,
//! filtered and moved with ordinary tools (`jq`, `grep`, `diff`, `gzip`).
//!
//! ```text
//! {"format":"vicinity-export","version":1,"collection":"products","points_count":2,
//!  "config":{...},"payload_schema":{...},"aliases":["live"]}
//! {"id":1,"vector":[0.1,0.2],"payload":{"brand":"acme"}}
//! {"id":"5c56c793-69f3-4fbf-87e6-c4bf54c28c26","vector":{"image":[...]},"payload":{}}
//! ```
//!
//! The first line is the header: the collection's `config` and
//! `payload_schema` exactly as `GET /collections/{name}` reports them, and
//! its aliases. Every other line is one point in the shape that
//! `PUT /collections/{name}/points` takes. Both commands speak Qdrant's REST
//! API, to a folder (served on a free local port for the run) or to any
//! server (`http(s)://HOST:6333`: Vicinity, Qdrant, Qdrant Cloud); the JSON
//! passes through untouched, so every vector kind the server has travels.
//! Both stream: memory stays flat for a collection of any size.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use vicinity_server::BackgroundServer;
use vicinity_server::http_client::{ClientError, HttpClient, Tls, Url};

/// The header's `format`.
const FORMAT: &str = "vicinity-export";
/// The file layout version this build writes and reads.
const VERSION: u32 = 1;

/// Options of `vicinity export`.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Where the collection is: a Vicinity folder, or a server's REST
    /// endpoint (`http://HOST:6333`, `https://` for TLS).
    #[arg(long)]
    pub from: String,
    /// The collection (or alias) to export.
    #[arg(long)]
    pub collection: String,
    /// The file to write (`-`: standard output).
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
    /// The endpoint's API key.
    #[arg(long, env = "VICINITY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// A PEM certificate to trust for `https://`, besides the system's roots.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Points per scroll page.
    #[arg(long, default_value_t = 256)]
    pub batch_size: u32,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Options of `vicinity import`.
#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// The file to read (`-`: standard input), as `vicinity export` writes it.
    #[arg(long)]
    pub file: PathBuf,
    /// Where it goes: a Vicinity folder (created if missing), or a server's
    /// REST endpoint.
    #[arg(long)]
    pub to: String,
    /// The name to create (default: the exported collection's name).
    #[arg(long)]
    pub collection: Option<String>,
    /// The endpoint's API key.
    #[arg(long, env = "VICINITY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// A PEM certificate to trust for `https://`, besides the system's roots.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Points per upsert request.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Upsert requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub in_flight: usize,
    /// Delete and recreate a target collection that holds points (else it
    /// is refused).
    #[arg(long)]
    pub overwrite: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The first line of an export.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    collection: String,
    /// Points in the collection when the export began (exact count).
    points_count: u64,
    /// `config` of `GET /collections/{name}`.
    config: Value,
    /// `payload_schema` of `GET /collections/{name}`.
    #[serde(default)]
    payload_schema: Map<String, Value>,
    /// The collection's aliases.
    #[serde(default)]
    aliases: Vec<String>,
}

/// A REST endpoint, with the local server that serves it when it is a
/// folder.
struct Endpoint {
    spec: String,
    http: Arc<HttpClient>,
    local: Option<BackgroundServer>,
}

impl Endpoint {
    async fn open(
        spec: &str,
        api_key: Option<&str>,
        tls_ca: Option<&Path>,
        create: bool,
    ) -> Result<Endpoint> {
        let tls = Tls {
            ca: tls_ca.map(Path::to_path_buf),
            domain: None,
        };
        let (url, local, key) = if spec.starts_with("http://") || spec.starts_with("https://") {
            (Url::parse(spec)?, None, api_key)
        } else if spec.contains("://") {
            bail!("{spec:?}: expected a folder or http://HOST:PORT (https:// for TLS)");
        } else {
            let server = crate::migrate::serve_folder(Path::new(spec), create).await?;
            let url = Url::parse(&format!("http://{}", server.http_addr()))?;
            (url, Some(server), None)
        };
        let http = Arc::new(HttpClient::new(&url, key, &tls)?);
        // one round trip now, so that a wrong address fails here
        http.json::<()>(Method::GET, "/", None)
            .await
            .with_context(|| format!("connecting to {spec}"))?;
        Ok(Endpoint {
            spec: spec.to_string(),
            http,
            local,
        })
    }

    async fn count(&self, name: &str) -> Result<u64> {
        let r = self
            .http
            .json(
                Method::POST,
                &format!("/collections/{name}/points/count"),
                Some(&json!({"exact": true})),
            )
            .await;
        let r = match r {
            // strict mode without exact search: the collection's own count
            Err(ClientError::Status {
                status: 400,
                message,
                ..
            }) if message.contains("Exact search disabled") => {
                let info = self
                    .http
                    .json::<()>(Method::GET, &format!("/collections/{name}"), None)
                    .await
                    .with_context(|| format!("counting {name} on {}", self.spec))?;
                json!({ "count": info["points_count"] })
            }
            r => r.with_context(|| format!("counting {name} on {}", self.spec))?,
        };
        r["count"]
            .as_u64()
            .with_context(|| format!("counting {name}: no count in {r}"))
    }

    /// Stops the local server, flushing and checkpointing its folder.
    fn close(mut self) -> Result<()> {
        if let Some(s) = self.local.take() {
            s.stop().context("closing the folder")?;
        }
        Ok(())
    }
}

/// Runs `body` on a fresh runtime with the endpoint, closing it after.
fn with_endpoint<T>(
    spec: &str,
    api_key: Option<&str>,
    tls_ca: Option<&Path>,
    create: bool,
    body: impl AsyncFnOnce(&Endpoint) -> Result<T>,
) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let end = Endpoint::open(spec, api_key, tls_ca, create).await?;
        let result = body(&end).await;
        let closed = tokio::task::spawn_blocking(move || end.close()).await?;
        let value = result?;
        closed?;
        Ok(value)
    })
}

/// Writes a collection to `a.out`; returns the number of points written.
pub fn export(a: &ExportArgs) -> Result<u64> {
    ensure!(a.batch_size > 0, "--batch-size must be positive");
    let mut out: Box<dyn Write> = if a.out == Path::new("-") {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        let f = std::fs::File::create(&a.out)
            .with_context(|| format!("creating {}", a.out.display()))?;
        Box::new(BufWriter::new(f))
    };
    let name = a.collection.clone();
    let written = with_endpoint(
        &a.from,
        a.api_key.as_deref(),
        a.tls_ca.as_deref(),
        false,
        async |end| {
            let http = &end.http;
            let info = http
                .json::<()>(Method::GET, &format!("/collections/{name}"), None)
                .await
                .with_context(|| format!("collection {name} on {}", end.spec))?;
            let aliases = http
                .json::<()>(Method::GET, &format!("/collections/{name}/aliases"), None)
                .await
                .with_context(|| format!("aliases of {name} on {}", end.spec))?;
            let aliases = aliases["aliases"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|a| a["alias_name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let total = end.count(&name).await?;
            let header = Header {
                format: FORMAT.into(),
                version: VERSION,
                collection: name.clone(),
                points_count: total,
                config: info["config"].clone(),
                payload_schema: info["payload_schema"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                aliases,
            };
            serde_json::to_writer(&mut out, &header)?;
            out.write_all(b"\n")?;
            let bar = crate::migrate::bar(a.quiet, total, &name);
            let mut offset = Value::Null;
            let mut written = 0u64;
            loop {
                let page = http
                    .json(
                        Method::POST,
                        &format!("/collections/{name}/points/scroll"),
                        Some(&json!({
                            "limit": a.batch_size,
                            "offset": offset,
                            "with_payload": true,
                            "with_vector": true,
                        })),
                    )
                    .await
                    .with_context(|| format!("reading {name} from {}", end.spec))?;
                let points = page["points"].as_array().map_or(&[][..], Vec::as_slice);
                for p in points {
                    let mut line = Map::new();
                    line.insert("id".into(), p["id"].clone());
                    for key in ["vector", "payload"] {
                        if let Some(v) = p.get(key).filter(|v| !v.is_null()) {
                            line.insert(key.into(), v.clone());
                        }
                    }
                    serde_json::to_writer(&mut out, &line)?;
                    out.write_all(b"\n")?;
                }
                written += points.len() as u64;
                bar.inc(points.len() as u64);
                offset = page["next_page_offset"].clone();
                if offset.is_null() {
                    break;
                }
            }
            bar.finish_and_clear();
            out.flush().context("writing the export")?;
            Ok(written)
        },
    )?;
    Ok(written)
}

/// The body of `PUT /collections/{name}` that recreates a collection from
/// the `config` its info reported.
fn create_body(config: &Value) -> Value {
    let mut body = Map::new();
    let params = &config["params"];
    let mut copy = |from: &Value, key: &str, to: &str| {
        if let Some(v) = from.get(key).filter(|v| !v.is_null()) {
            body.insert(to.into(), v.clone());
        }
    };
    copy(params, "vectors", "vectors");
    copy(params, "sparse_vectors", "sparse_vectors");
    copy(params, "shard_number", "shard_number");
    copy(params, "replication_factor", "replication_factor");
    copy(
        params,
        "write_consistency_factor",
        "write_consistency_factor",
    );
    copy(params, "on_disk_payload", "on_disk_payload");
    copy(config, "hnsw_config", "hnsw_config");
    copy(config, "optimizer_config", "optimizers_config");
    copy(config, "wal_config", "wal_config");
    copy(config, "quantization_config", "quantization_config");
    // strict mode is set after the points are in (see `import`): its
    // limits (batch size, rate, points count) are for clients, not a copy
    if config["metadata"]
        .as_object()
        .is_some_and(|m| !m.is_empty())
    {
        copy(config, "metadata", "metadata");
    }
    Value::Object(body)
}

/// What `vicinity import` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The collection written.
    pub collection: String,
    /// Point lines read from the file.
    pub lines: u64,
    /// Points in the target afterwards.
    pub target_count: u64,
}

/// Reads an export into a collection.
pub fn import(a: &ImportArgs) -> Result<Imported> {
    ensure!(
        a.batch_size > 0 && a.in_flight > 0,
        "--batch-size and --in-flight must be positive"
    );
    let input: Box<dyn BufRead> = if a.file == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(&a.file)
            .with_context(|| format!("opening {}", a.file.display()))?;
        Box::new(BufReader::new(f))
    };
    let mut lines = input.lines();
    let first = lines
        .next()
        .transpose()?
        .with_context(|| format!("{}: empty file", a.file.display()))?;
    let header: Header = serde_json::from_str(&first)
        .with_context(|| format!("{}:1: not an export header", a.file.display()))?;
    ensure!(
        header.format == FORMAT,
        "{}:1: format {:?}, expected {FORMAT:?}",
        a.file.display(),
        header.format
    );
    ensure!(
        header.version == VERSION,
        "{}:1: version {} (this build reads {VERSION})",
        a.file.display(),
        header.version
    );
    let name = a.collection.clone().unwrap_or(header.collection.clone());
    with_endpoint(
        &a.to,
        a.api_key.as_deref(),
        a.tls_ca.as_deref(),
        true,
        async |end| {
            let http = &end.http;
            let path = format!("/collections/{name}");
            let exists = http
                .json::<()>(Method::GET, &format!("{path}/exists"), None)
                .await
                .with_context(|| format!("looking for {name} on {}", end.spec))?;
            if exists["exists"] == json!(true) {
                let held = end.count(&name).await?;
                ensure!(
                    held == 0 || a.overwrite,
                    "{name} on {} holds {held} points: refusing to mix them with the file's \
                     (--overwrite deletes and recreates it)",
                    end.spec
                );
                http.json::<()>(Method::DELETE, &path, None)
                    .await
                    .with_context(|| format!("deleting {name} on {}", end.spec))?;
            }
            http.json(Method::PUT, &path, Some(&create_body(&header.config)))
                .await
                .with_context(|| format!("creating {name} on {}", end.spec))?;

            let bar = crate::migrate::bar(a.quiet, header.points_count, &name);
            let mut pending: VecDeque<tokio::task::JoinHandle<Result<u64>>> = VecDeque::new();
            let mut batch: Vec<Value> = Vec::with_capacity(a.batch_size);
            let mut read = 0u64;
            let mut line_no = 1u64;
            let upsert_path = format!("{path}/points?wait=true");
            let send = |batch: Vec<Value>, pending: &mut VecDeque<_>| {
                let (http, path) = (http.clone(), upsert_path.clone());
                let n = batch.len() as u64;
                pending.push_back(tokio::spawn(async move {
                    http.json(Method::PUT, &path, Some(&json!({ "points": batch })))
                        .await
                        .context("upserting points")?;
                    Ok(n)
                }));
            };
            loop {
                let line = lines.next().transpose().context("reading the file")?;
                let Some(line) = line else { break };
                line_no += 1;
                if line.trim().is_empty() {
                    continue;
                }
                let point: Value = serde_json::from_str(&line)
                    .with_context(|| format!("{}:{line_no}: not JSON", a.file.display()))?;
                ensure!(
                    point.get("id").is_some_and(|id| !id.is_null()),
                    "{}:{line_no}: a point without an id",
                    a.file.display()
                );
                batch.push(point);
                read += 1;
                if batch.len() == a.batch_size {
                    while pending.len() >= a.in_flight {
                        if let Some(h) = pending.pop_front() {
                            bar.inc(h.await??);
                        }
                    }
                    send(std::mem::take(&mut batch), &mut pending);
                }
            }
            if !batch.is_empty() {
                send(batch, &mut pending);
            }
            while let Some(h) = pending.pop_front() {
                bar.inc(h.await??);
            }
            bar.finish_and_clear();

            for (field, schema) in &header.payload_schema {
                // `params` (a full schema) when the server reports one, else the type
                let field_schema = match schema.get("params").filter(|p| p.is_object()) {
                    Some(p) => p.clone(),
                    None => schema["data_type"].clone(),
                };
                http.json(
                    Method::PUT,
                    &format!("{path}/index?wait=true"),
                    Some(&json!({"field_name": field, "field_schema": field_schema})),
                )
                .await
                .with_context(|| format!("indexing {field} of {name} on {}", end.spec))?;
            }
            if !header.aliases.is_empty() {
                let actions: Vec<Value> = header
                    .aliases
                    .iter()
                    .map(|alias| {
                        json!({"create_alias": {"collection_name": name, "alias_name": alias}})
                    })
                    .collect();
                http.json(
                    Method::POST,
                    "/collections/aliases",
                    Some(&json!({ "actions": actions })),
                )
                .await
                .with_context(|| format!("aliases of {name} on {}", end.spec))?;
            }
            let target_count = end.count(&name).await?;
            ensure!(
                target_count == read,
                "{name} on {} holds {target_count} points after reading {read} from {} \
                 (the same id twice in the file?)",
                end.spec,
                a.file.display()
            );
            if read != header.points_count {
                eprintln!(
                    "vicinity: the header says {} points, the file held {read} (the source \
                     changed while it was exported?)",
                    header.points_count
                );
            }
            // last: a count (exact) or the loading may be what strict mode refuses
            let strict = &header.config["strict_mode_config"];
            if strict["enabled"] == json!(true) {
                http.json(
                    Method::PATCH,
                    &path,
                    Some(&json!({ "strict_mode_config": strict })),
                )
                .await
                .with_context(|| format!("strict mode of {name} on {}", end.spec))?;
            }
            Ok(Imported {
                collection: name.clone(),
                lines: read,
                target_count,
            })
        },
    )
}

/// `vicinity export`.
pub fn run_export(a: ExportArgs) -> Result<()> {
    let n = export(&a)?;
    eprintln!(
        "exported {n} points of {} from {} to {}",
        a.collection,
        a.from,
        a.out.display()
    );
    Ok(())
}

/// `vicinity import`.
pub fn run_import(a: ImportArgs) -> Result<()> {
    let r = import(&a)?;
    println!(
        "imported {} points into {} on {}",
        r.target_count, r.collection, a.to
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::tests::{assert_same, source};

    fn export_args(from: &str, collection: &str, out: &Path) -> ExportArgs {
        ExportArgs {
            from: from.into(),
            collection: collection.into(),
            out: out.to_path_buf(),
            api_key: None,
            tls_ca: None,
            batch_size: 64,
            quiet: true,
        }
    }

    fn import_args(file: &Path, to: &str) -> ImportArgs {
        ImportArgs {
            file: file.to_path_buf(),
            to: to.into(),
            collection: None,
            api_key: None,
            tls_ca: None,
            batch_size: 50,
            in_flight: 3,
            overwrite: false,
            quiet: true,
        }
    }

    #[test]
    fn folder_to_file_to_folder_keeps_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
        source(&src);
        // strict mode that would refuse the import's own batches and its
        // exact count, were it set before the points are in
        let strict = json!({"enabled": true, "upsert_max_batchsize": 10,
                            "search_allow_exact": false, "max_points_count": 500});
        {
            let db = vicinity::Database::open(&src).unwrap();
            let settings = json!({ "strict_mode": strict.clone() });
            let c = db.collection("named").unwrap();
            c.set_settings(settings.as_object().unwrap().clone())
                .unwrap();
        }
        for name in ["named", "cos"] {
            let file = tmp.path().join(format!("{name}.jsonl"));
            let n = export(&export_args(src.to_str().unwrap(), name, &file)).unwrap();
            let text = std::fs::read_to_string(&file).unwrap();
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            // a header, then one point per line
            assert_eq!(lines.len() as u64, n + 1);
            assert_eq!(lines[0]["format"], FORMAT);
            assert_eq!(lines[0]["points_count"], n);
            assert!(
                lines[1..]
                    .iter()
                    .all(|p| p["id"].is_u64() || p["id"].is_string())
            );
            let got = import(&import_args(&file, dst.to_str().unwrap())).unwrap();
            assert_eq!((got.lines, got.target_count), (n, n));
        }
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("named.jsonl"))
                .unwrap()
                .lines()
                .count(),
            501
        );
        assert_same(&src, &dst);
        let db = vicinity::Database::open(&dst).unwrap();
        assert_eq!(
            db.collection("named").unwrap().settings()["strict_mode"],
            strict
        );
    }

    #[test]
    fn refusals_and_bad_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
        source(&src);
        let file = tmp.path().join("cos.jsonl");
        export(&export_args(src.to_str().unwrap(), "cos", &file)).unwrap();
        let to = dst.to_str().unwrap();
        import(&import_args(&file, to)).unwrap();
        // a target that holds points is refused unless --overwrite
        let e = import(&import_args(&file, to)).unwrap_err();
        assert!(format!("{e:#}").contains("--overwrite"), "{e:#}");
        let mut again = import_args(&file, to);
        again.overwrite = true;
        assert_eq!(import(&again).unwrap().target_count, 130);
        // under another name
        let mut renamed = import_args(&file, to);
        renamed.collection = Some("copy".into());
        assert_eq!(import(&renamed).unwrap().collection, "copy");
        // a broken line names its line number; nothing half-read is hidden
        let text = std::fs::read_to_string(&file).unwrap();
        let mut broken: Vec<&str> = text.lines().collect();
        broken[3] = "{\"id\": 3, \"vector\": [1, 2";
        let bad = tmp.path().join("bad.jsonl");
        std::fs::write(&bad, broken.join("\n")).unwrap();
        let mut args = import_args(&bad, to);
        args.collection = Some("broken".into());
        let e = import(&args).unwrap_err();
        assert!(format!("{e:#}").contains("bad.jsonl:4: not JSON"), "{e:#}");
        // a file that is not an export
        std::fs::write(&bad, "{\"hello\": 1}\n").unwrap();
        let e = import(&import_args(&bad, to)).unwrap_err();
        assert!(format!("{e:#}").contains("not an export header"), "{e:#}");
        // a collection that is not there
        let e = export(&export_args(src.to_str().unwrap(), "nope", &bad)).unwrap_err();
        assert!(format!("{e:#}").contains("doesn't exist"), "{e:#}");
    }

    #[test]
    fn create_body_maps_info_config_to_create_request() {
        let config = json!({
            "params": {"vectors": {"size": 3, "distance": "Dot"}, "shard_number": 1,
                       "sparse_vectors": null, "on_disk_payload": true},
            "hnsw_config": {"m": 8, "ef_construct": 50},
            "optimizer_config": {"indexing_threshold": 1000},
            "wal_config": {"wal_capacity_mb": 32},
            "quantization_config": null,
            "strict_mode_config": {"enabled": false},
            "metadata": {}
        });
        assert_eq!(
            create_body(&config),
            json!({
                "vectors": {"size": 3, "distance": "Dot"}, "shard_number": 1,
                "on_disk_payload": true, "hnsw_config": {"m": 8, "ef_construct": 50},
                "optimizers_config": {"indexing_threshold": 1000},
                "wal_config": {"wal_capacity_mb": 32}
            })
        );
    }
}
