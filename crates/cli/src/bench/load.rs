//! `vicinity bench load`: many clients at once against one server, over
//! gRPC or REST, with a mix of searches (with and without a filter),
//! upserts with `wait`, payload updates, deletes and scrolls, for a given
//! time. It reports throughput, latency percentiles and errors per
//! operation, the server's resident memory over the run (when it knows the
//! server's process), and then checks the data: every acknowledged upsert
//! is there, every acknowledged delete is gone.
//!
//! The run starts once the preloaded points are indexed (the collection
//! reports green). Each client writes only ids of its own (`client << 40 | n`), so the
//! check is exact whatever the interleaving: a client remembers what the
//! server acknowledged, and at the end each remembered id is fetched.
//! Without `--target`, the command starts `vicinity serve` on a temporary
//! folder as a child process (so its memory is measured apart from the
//! clients') and stops it at the end.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use hyper::Method;
use serde::Serialize;
use serde_json::{Value, json};
use vicinity_server::grpc::convert::value::map_to_proto;
use vicinity_server::http_client::{HttpClient, Tls, Url};
use vicinity_server::pb;
use vicinity_server::pb::collections_client::CollectionsClient;
use vicinity_server::pb::points_client::PointsClient;

use super::measure::{percentile, rss_bytes_of};
use super::remote::{Svc, TlsOptions, connect_clients, filter_to_proto};
use crate::rng::Rng;

/// Options of `vicinity bench load`.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// The server: `grpc://HOST:6334` or `http://HOST:6333` (`grpcs://`,
    /// `https://` for TLS). Default: a `vicinity serve` started for the
    /// run, on a temporary folder, over `--protocol`.
    #[arg(long)]
    pub target: Option<String>,
    /// The protocol of the server started for the run: `grpc` or `rest`.
    #[arg(long, default_value = "grpc")]
    pub protocol: String,
    /// The server's API key.
    #[arg(long, env = "VICINITY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The server's process id, to sample its memory (known already when
    /// the command starts the server).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 60.0)]
    pub duration: f64,
    /// Points loaded before the run.
    #[arg(long, default_value_t = 100_000)]
    pub points: u64,
    /// Vector dimension.
    #[arg(long, default_value_t = 128)]
    pub dim: usize,
    /// The collection (recreated).
    #[arg(long, default_value = "vicinity_load")]
    pub collection: String,
    /// The mix, as weights: `search=60,filtered=10,upsert=15,payload=5,delete=5,scroll=5`.
    #[arg(
        long,
        default_value = "search=60,filtered=10,upsert=15,payload=5,delete=5,scroll=5"
    )]
    pub mix: String,
    /// Points per upsert request in the run.
    #[arg(long, default_value_t = 8)]
    pub upsert_batch: usize,
    /// `hnsw_ef` of the searches.
    #[arg(long, default_value_t = 64)]
    pub ef: u64,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Send the server started for the run SIGTERM after this many seconds
    /// of load, time its shutdown, start it again on the same folder and
    /// check the acknowledged writes there: a graceful shutdown under load.
    /// Each client stops at its first refusal after the signal, or a second
    /// after it (`--duration` is not used).
    #[arg(long)]
    pub sigterm_after: Option<f64>,
    /// The `vicinity` binary to start as the server (default: this one).
    #[arg(long, hide = true)]
    pub server_binary: Option<PathBuf>,
}

/// The operations of the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Nearest neighbours of a random vector.
    Search,
    /// The same with a payload filter (an indexed keyword).
    Filtered,
    /// New points of this client, `wait=true`.
    Upsert,
    /// A payload change on a loaded point, `wait=true`.
    Payload,
    /// A delete of one of this client's points, `wait=true`.
    Delete,
    /// A page of points from a random offset.
    Scroll,
}

const OPS: [Op; 6] = [
    Op::Search,
    Op::Filtered,
    Op::Upsert,
    Op::Payload,
    Op::Delete,
    Op::Scroll,
];

fn parse_mix(s: &str) -> Result<Vec<(Op, u32)>> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, w) = part
            .split_once('=')
            .with_context(|| format!("--mix {part:?}: expected NAME=WEIGHT"))?;
        let op = match name.trim() {
            "search" => Op::Search,
            "filtered" => Op::Filtered,
            "upsert" => Op::Upsert,
            "payload" => Op::Payload,
            "delete" => Op::Delete,
            "scroll" => Op::Scroll,
            other => bail!("--mix: unknown operation {other:?}"),
        };
        let w: u32 = w
            .trim()
            .parse()
            .with_context(|| format!("--mix {part:?}"))?;
        out.push((op, w));
    }
    ensure!(
        out.iter().map(|(_, w)| w).sum::<u32>() > 0,
        "--mix: the weights add up to 0"
    );
    Ok(out)
}

/// Per operation: latencies (microseconds) and errors.
#[derive(Default)]
struct Tally {
    micros: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    /// Errors once the server was sent SIGTERM (expected: it is going).
    after_sigterm: u64,
}

/// One operation's line of the report.
#[derive(Debug, Serialize)]
pub struct OpReport {
    /// Which.
    pub op: Op,
    /// Completed without error.
    pub ok: u64,
    /// Failed.
    pub errors: u64,
    /// Per second, over the run.
    pub per_second: f64,
    /// Latency percentiles and maximum, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// The first error's message.
    pub first_error: Option<String>,
}

/// What `bench load` measured.
#[derive(Debug, Serialize)]
pub struct LoadReport {
    /// Clients.
    pub clients: usize,
    /// Seconds of load, measured.
    pub seconds: f64,
    /// Per operation.
    pub ops: Vec<OpReport>,
    /// Acknowledged upserted points that should be there, and those missing.
    pub acknowledged_points: u64,
    /// Missing acknowledged points.
    pub missing: u64,
    /// Acknowledged deletes, and those still there.
    pub acknowledged_deletes: u64,
    /// Deleted points still present.
    pub resurrected: u64,
    /// The server's resident memory (MiB): at the start of the run, at
    /// the end, the most seen.
    pub server_rss_mib: Option<(f64, f64, f64)>,
    /// With `--sigterm-after`: seconds from SIGTERM until the server had
    /// exited, and requests refused meanwhile (the server going away).
    pub shutdown_seconds: Option<f64>,
    /// Requests that failed after SIGTERM.
    pub errors_after_sigterm: u64,
}

/// A connection of one client.
#[derive(Clone)]
enum Conn {
    Grpc(Box<(PointsClient<Svc>, CollectionsClient<Svc>)>),
    Rest(Arc<HttpClient>),
}

fn num_id(n: u64) -> pb::PointId {
    pb::PointId {
        point_id_options: Some(pb::point_id::PointIdOptions::Num(n)),
    }
}

fn ids_selector(ids: &[u64]) -> pb::PointsSelector {
    pb::PointsSelector {
        points_selector_one_of: Some(pb::points_selector::PointsSelectorOneOf::Points(
            pb::PointsIdsList {
                ids: ids.iter().map(|&i| num_id(i)).collect(),
            },
        )),
    }
}

fn payload_of(id: u64) -> Value {
    json!({"tag": format!("t{}", id % 10), "n": id})
}

impl Conn {
    async fn open(url: &str, api_key: Option<&str>) -> Result<Conn> {
        if url.starts_with("grpc://") || url.starts_with("grpcs://") {
            let (p, c) =
                connect_clients(url, api_key.map(str::to_string), &TlsOptions::default()).await?;
            Ok(Conn::Grpc(Box::new((p, c))))
        } else {
            let http = HttpClient::new(&Url::parse(url)?, api_key, &Tls::default())?;
            Ok(Conn::Rest(Arc::new(http)))
        }
    }

    async fn recreate(&self, name: &str, dim: usize) -> Result<()> {
        match self {
            Conn::Grpc(g) => {
                let c = &g.1;
                let mut c = c.clone();
                c.delete(pb::DeleteCollection {
                    collection_name: name.into(),
                    timeout: None,
                })
                .await?;
                c.create(pb::CreateCollection {
                    collection_name: name.into(),
                    vectors_config: Some(pb::VectorsConfig {
                        config: Some(pb::vectors_config::Config::Params(pb::VectorParams {
                            size: dim as u64,
                            distance: pb::Distance::Cosine as i32,
                            ..Default::default()
                        })),
                    }),
                    ..Default::default()
                })
                .await?;
            }
            Conn::Rest(h) => {
                let path = format!("/collections/{name}");
                h.call(Method::DELETE, &path, None).await?;
                h.json(
                    Method::PUT,
                    &path,
                    Some(&json!({"vectors": {"size": dim, "distance": "Cosine"}})),
                )
                .await?;
            }
        }
        // the filtered searches use an index, as production would
        self.index_tag(name).await
    }

    async fn index_tag(&self, name: &str) -> Result<()> {
        match self {
            Conn::Grpc(g) => {
                let p = &g.0;
                p.clone()
                    .create_field_index(pb::CreateFieldIndexCollection {
                        collection_name: name.into(),
                        wait: Some(true),
                        field_name: "tag".into(),
                        field_type: Some(pb::FieldType::Keyword as i32),
                        ..Default::default()
                    })
                    .await?;
            }
            Conn::Rest(h) => {
                h.json(
                    Method::PUT,
                    &format!("/collections/{name}/index?wait=true"),
                    Some(&json!({"field_name": "tag", "field_schema": "keyword"})),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn upsert(&self, name: &str, points: &[(u64, Vec<f32>)]) -> Result<()> {
        match self {
            Conn::Grpc(g) => {
                let p = &g.0;
                let points = points
                    .iter()
                    .map(|(id, v)| pb::PointStruct {
                        id: Some(num_id(*id)),
                        payload: match payload_of(*id) {
                            Value::Object(m) => map_to_proto(m),
                            _ => Default::default(),
                        },
                        vectors: Some(pb::Vectors {
                            vectors_options: Some(pb::vectors::VectorsOptions::Vector(
                                pb::Vector {
                                    vector: Some(pb::vector::Vector::Dense(pb::DenseVector {
                                        data: v.clone(),
                                    })),
                                    ..Default::default()
                                },
                            )),
                        }),
                    })
                    .collect();
                p.clone()
                    .upsert(pb::UpsertPoints {
                        collection_name: name.into(),
                        wait: Some(true),
                        points,
                        ..Default::default()
                    })
                    .await?;
            }
            Conn::Rest(h) => {
                let points: Vec<Value> = points
                    .iter()
                    .map(|(id, v)| json!({"id": id, "vector": v, "payload": payload_of(*id)}))
                    .collect();
                h.json(
                    Method::PUT,
                    &format!("/collections/{name}/points?wait=true"),
                    Some(&json!({ "points": points })),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn search(&self, name: &str, v: Vec<f32>, filter: Option<Value>, ef: u64) -> Result<()> {
        match self {
            Conn::Grpc(g) => {
                let p = &g.0;
                p.clone()
                    .search(pb::SearchPoints {
                        collection_name: name.into(),
                        vector: v,
                        limit: 10,
                        filter: filter.as_ref().map(filter_to_proto).transpose()?,
                        params: Some(pb::SearchParams {
                            hnsw_ef: Some(ef),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await?;
            }
            Conn::Rest(h) => {
                h.json(
                    Method::POST,
                    &format!("/collections/{name}/points/search"),
                    Some(&json!({"vector": v, "limit": 10, "filter": filter,
                                 "params": {"hnsw_ef": ef}})),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn set_payload(&self, name: &str, id: u64, client: usize) -> Result<()> {
        let payload = json!({"touched_by": client});
        match self {
            Conn::Grpc(g) => {
                let p = &g.0;
                let Value::Object(m) = payload else {
                    unreachable!("an object")
                };
                p.clone()
                    .set_payload(pb::SetPayloadPoints {
                        collection_name: name.into(),
                        wait: Some(true),
                        payload: map_to_proto(m),
                        points_selector: Some(ids_selector(&[id])),
                        ..Default::default()
                    })
                    .await?;
            }
            Conn::Rest(h) => {
                h.json(
                    Method::POST,
                    &format!("/collections/{name}/points/payload?wait=true"),
                    Some(&json!({"payload": payload, "points": [id]})),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, name: &str, ids: &[u64]) -> Result<()> {
        match self {
            Conn::Grpc(g) => {
                let p = &g.0;
                p.clone()
                    .delete(pb::DeletePoints {
                        collection_name: name.into(),
                        wait: Some(true),
                        points: Some(ids_selector(ids)),
                        ..Default::default()
                    })
                    .await?;
            }
            Conn::Rest(h) => {
                h.json(
                    Method::POST,
                    &format!("/collections/{name}/points/delete?wait=true"),
                    Some(&json!({ "points": ids })),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn scroll(&self, name: &str, from: u64) -> Result<()> {
        match self {
            Conn::Grpc(g) => {
                let p = &g.0;
                p.clone()
                    .scroll(pb::ScrollPoints {
                        collection_name: name.into(),
                        offset: Some(num_id(from)),
                        limit: Some(20),
                        ..Default::default()
                    })
                    .await?;
            }
            Conn::Rest(h) => {
                h.json(
                    Method::POST,
                    &format!("/collections/{name}/points/scroll"),
                    Some(&json!({"offset": from, "limit": 20})),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Waits until the collection reports green (indexed): the run
    /// measures a server at rest, not one still building its graph.
    async fn wait_green(&self, name: &str) -> Result<()> {
        loop {
            let status = match self {
                Conn::Grpc(g) => {
                    let c = &g.1;
                    let info = c
                        .clone()
                        .get(pb::GetCollectionInfoRequest {
                            collection_name: name.into(),
                        })
                        .await?
                        .into_inner()
                        .result
                        .context("no collection info")?;
                    match pb::CollectionStatus::try_from(info.status) {
                        Ok(pb::CollectionStatus::Green) => "green",
                        Ok(pb::CollectionStatus::Red) => "red",
                        _ => "yellow",
                    }
                    .to_string()
                }
                Conn::Rest(h) => {
                    let info = h
                        .json::<()>(Method::GET, &format!("/collections/{name}"), None)
                        .await?;
                    info["status"].as_str().unwrap_or("yellow").to_string()
                }
            };
            match status.as_str() {
                "green" => return Ok(()),
                "red" => bail!("the server reports the collection red"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Which of `ids` exist.
    async fn existing(&self, name: &str, ids: &[u64]) -> Result<Vec<u64>> {
        match self {
            Conn::Grpc(g) => {
                let p = &g.0;
                let r = p
                    .clone()
                    .get(pb::GetPoints {
                        collection_name: name.into(),
                        ids: ids.iter().map(|&i| num_id(i)).collect(),
                        ..Default::default()
                    })
                    .await?;
                Ok(r.into_inner()
                    .result
                    .iter()
                    .filter_map(|p| match p.id.as_ref()?.point_id_options {
                        Some(pb::point_id::PointIdOptions::Num(n)) => Some(n),
                        _ => None,
                    })
                    .collect())
            }
            Conn::Rest(h) => {
                let r = h
                    .json(
                        Method::POST,
                        &format!("/collections/{name}/points"),
                        Some(&json!({"ids": ids, "with_payload": false})),
                    )
                    .await?;
                Ok(r.as_array()
                    .map(|a| a.iter().filter_map(|p| p["id"].as_u64()).collect())
                    .unwrap_or_default())
            }
        }
    }
}

/// Random unit-box vectors for the load.
fn vector(rng: &mut Rng, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|_| (rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        .collect()
}

/// A `vicinity serve` started for the run.
struct Spawned {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `vicinity serve` on `dir`; the child and its URL for `a.protocol`.
fn start_child(a: &LoadArgs, dir: &std::path::Path) -> Result<(Child, String)> {
    let binary = match &a.server_binary {
        Some(b) => b.clone(),
        None => std::env::current_exe().context("finding this program to start the server")?,
    };
    let mut child = Command::new(&binary)
        .args(["serve", "--grpc-port", "0", "--http-port", "0", "--storage"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} serve", binary.display()))?;
    let stdout = child.stdout.take().context("the server's output")?;
    let mut lines = BufReader::new(stdout).lines();
    let want = if a.protocol == "rest" {
        "HTTP on "
    } else {
        "gRPC on "
    };
    let mut url = None;
    while url.is_none() {
        let line = lines
            .next()
            .context("the server exited before it listened")??;
        if let Some(u) = line.split(want).nth(1) {
            let addr = u.trim().trim_start_matches("http://");
            url = Some(if a.protocol == "rest" {
                format!("http://{addr}")
            } else {
                format!("grpc://{addr}")
            });
        }
    }
    // keep reading so the pipe never fills
    std::thread::spawn(move || for _ in lines {});
    Ok((child, url.unwrap_or_default()))
}

fn spawn_server(a: &LoadArgs) -> Result<Spawned> {
    let dir = tempfile::tempdir()?;
    let (child, url) = start_child(a, dir.path())?;
    Ok(Spawned { child, url, dir })
}

impl Spawned {
    /// Sends SIGTERM and waits (up to 60 s) for the server to exit; the
    /// seconds it took. A non-zero exit is an error.
    fn terminate(&mut self) -> Result<f64> {
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("running kill")?;
        ensure!(status.success(), "kill -TERM failed");
        loop {
            if let Some(exit) = self.child.try_wait()? {
                ensure!(exit.success(), "the server exited with {exit} on SIGTERM");
                return Ok(sent.elapsed().as_secs_f64());
            }
            ensure!(
                sent.elapsed() < Duration::from_secs(60),
                "the server did not exit within 60 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts the server again on the same folder.
    fn restart(&mut self, a: &LoadArgs) -> Result<()> {
        let (child, url) = start_child(a, self.dir.path())?;
        self.child = child;
        self.url = url;
        Ok(())
    }
}

/// What one client did.
#[derive(Default)]
struct ClientResult {
    tallies: BTreeMap<Op, Tally>,
    /// Acknowledged upserts still expected present.
    present: Vec<u64>,
    /// Acknowledged deletes.
    deleted: Vec<u64>,
}

async fn client_loop(
    conn: Conn,
    client: usize,
    name: Arc<String>,
    mix: Arc<Vec<(Op, u32)>>,
    a: Arc<LoadArgs>,
    deadline: Instant,
    sigterm_at: Option<Instant>,
) -> ClientResult {
    let mut r = ClientResult::default();
    let mut rng = Rng::new(0xC0FFEE ^ ((client as u64 + 1) << 32));
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut next_id = (client as u64 + 1) << 40;
    while Instant::now() < deadline {
        let mut pick = rng.below(u64::from(total)) as u32;
        let op = mix
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map_or(Op::Search, |(op, _)| *op);
        // a delete with nothing of its own to delete waits for an upsert
        let op = if op == Op::Delete && r.present.is_empty() {
            Op::Upsert
        } else {
            op
        };
        let started = Instant::now();
        let outcome = match op {
            Op::Search => {
                conn.search(&name, vector(&mut rng, a.dim), None, a.ef)
                    .await
            }
            Op::Filtered => {
                let tag = format!("t{}", rng.below(10));
                let f = json!({"must": [{"key": "tag", "match": {"value": tag}}]});
                conn.search(&name, vector(&mut rng, a.dim), Some(f), a.ef)
                    .await
            }
            Op::Upsert => {
                let points: Vec<(u64, Vec<f32>)> = (0..a.upsert_batch)
                    .map(|k| (next_id + k as u64, vector(&mut rng, a.dim)))
                    .collect();
                let res = conn.upsert(&name, &points).await;
                if res.is_ok() {
                    r.present.extend(points.iter().map(|(id, _)| *id));
                }
                next_id += a.upsert_batch as u64;
                res
            }
            Op::Payload => {
                let id = rng.below(a.points.max(1));
                conn.set_payload(&name, id, client).await
            }
            Op::Delete => {
                let i = rng.below(r.present.len() as u64) as usize;
                let id = r.present.swap_remove(i);
                let res = conn.delete(&name, &[id]).await;
                // a delete not acknowledged may or may not have happened: not checked
                if res.is_ok() {
                    r.deleted.push(id);
                }
                res
            }
            Op::Scroll => conn.scroll(&name, rng.below(a.points.max(1))).await,
        };
        let micros = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        let t = r.tallies.entry(op).or_default();
        match outcome {
            Ok(()) => t.micros.push(micros),
            Err(_) if sigterm_at.is_some_and(|k| started >= k) => {
                // the server is going: this client stops at its first refusal
                // (going on, refused deletes would drain the ids checked)
                t.after_sigterm += 1;
                break;
            }
            Err(e) => {
                t.errors += 1;
                t.first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    r
}

/// Runs the load; the report.
pub fn load(a: &LoadArgs) -> Result<LoadReport> {
    ensure!(
        a.clients > 0 && a.dim > 0,
        "--clients and --dim must be positive"
    );
    ensure!(
        a.protocol == "grpc" || a.protocol == "rest",
        "--protocol: grpc or rest"
    );
    ensure!(
        a.sigterm_after.is_none() || a.target.is_none(),
        "--sigterm-after needs the server started for the run (no --target)"
    );
    ensure!(
        a.sigterm_after.is_none_or(|t| t > 0.0),
        "--sigterm-after must be positive"
    );
    let mix = Arc::new(parse_mix(&a.mix)?);
    let mut spawned = match &a.target {
        Some(_) => None,
        None => Some(spawn_server(a)?),
    };
    let url = match (&a.target, &spawned) {
        (Some(t), _) => t.clone(),
        (None, Some(s)) => s.url.clone(),
        (None, None) => unreachable!("a server was started"),
    };
    let pid = a.server_pid.or(spawned.as_ref().map(|s| s.child.id()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let a = Arc::new(a.clone());
    let report = runtime.block_on(async {
        let setup = Conn::open(&url, a.api_key.as_deref()).await?;
        let name = Arc::new(a.collection.clone());
        setup
            .recreate(&name, a.dim)
            .await
            .context("creating the collection")?;
        // the preload, 4 batches in flight
        let mut rng = Rng::new(7);
        let mut pending = tokio::task::JoinSet::new();
        for first in (0..a.points).step_by(256) {
            let points: Vec<(u64, Vec<f32>)> = (first..(first + 256).min(a.points))
                .map(|id| (id, vector(&mut rng, a.dim)))
                .collect();
            while pending.len() >= 4 {
                if let Some(r) = pending.join_next().await {
                    r??;
                }
            }
            let (conn, name) = (setup.clone(), name.clone());
            pending.spawn(async move { conn.upsert(&name, &points).await });
        }
        while let Some(r) = pending.join_next().await {
            r??;
        }
        setup.wait_green(&name).await?;
        let mut conns = Vec::with_capacity(a.clients);
        for _ in 0..a.clients {
            conns.push(Conn::open(&url, a.api_key.as_deref()).await?);
        }
        let rss_start = pid.and_then(rss_bytes_of);
        let started = Instant::now();
        let sigterm_at = a
            .sigterm_after
            .map(|t| started + Duration::from_secs_f64(t));
        // after SIGTERM the clients go on until their first refusal, at most
        // a second
        let deadline = match sigterm_at {
            Some(k) => k + Duration::from_secs(1),
            None => started + Duration::from_secs_f64(a.duration),
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (i, conn) in conns.into_iter().enumerate() {
            tasks.spawn(client_loop(
                conn,
                i,
                name.clone(),
                mix.clone(),
                a.clone(),
                deadline,
                sigterm_at,
            ));
        }
        let mut rss_max = rss_start;
        let mut results = Vec::new();
        let mut shutdown = None;
        loop {
            let kill_now = sigterm_at.filter(|_| shutdown.is_none());
            tokio::select! {
                done = tasks.join_next() => match done {
                    Some(r) => results.push(r?),
                    None => break,
                },
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    if let Some(now) = pid.and_then(rss_bytes_of) {
                        rss_max = Some(rss_max.map_or(now, |m| m.max(now)));
                    }
                }
                _ = tokio::time::sleep_until(kill_now.unwrap_or(deadline).into()), if kill_now.is_some() => {
                    let s = spawned.as_mut().context("no server to stop")?;
                    shutdown = Some(tokio::task::block_in_place(|| s.terminate())?);
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let rss_end = pid.and_then(rss_bytes_of);
        // the check runs against the server started again on its folder
        let setup = match (shutdown, spawned.as_mut()) {
            (Some(_), Some(s)) => {
                tokio::task::block_in_place(|| s.restart(&a))?;
                Conn::open(&s.url, a.api_key.as_deref()).await?
            }
            _ => setup,
        };

        // the check: acknowledged = present, deleted = gone
        let present: Vec<u64> = results.iter().flat_map(|r| r.present.clone()).collect();
        let deleted: Vec<u64> = results.iter().flat_map(|r| r.deleted.clone()).collect();
        let mut missing = 0u64;
        for chunk in present.chunks(512) {
            let found = setup.existing(&name, chunk).await?;
            missing += (chunk.len() - found.len()) as u64;
        }
        let mut resurrected = 0u64;
        for chunk in deleted.chunks(512) {
            resurrected += setup.existing(&name, chunk).await?.len() as u64;
        }

        let mut merged: BTreeMap<Op, Tally> = BTreeMap::new();
        for r in results {
            for (op, t) in r.tallies {
                let m = merged.entry(op).or_default();
                m.micros.extend(t.micros);
                m.errors += t.errors;
                m.after_sigterm += t.after_sigterm;
                if m.first_error.is_none() {
                    m.first_error = t.first_error;
                }
            }
        }
        let ops = OPS
            .iter()
            .filter_map(|op| merged.get(op).map(|t| (op, t)))
            .map(|(op, t)| {
                let ms: Vec<f64> = t.micros.iter().map(|&u| f64::from(u) / 1000.0).collect();
                OpReport {
                    op: *op,
                    ok: ms.len() as u64,
                    errors: t.errors,
                    per_second: ms.len() as f64 / seconds,
                    p50_ms: percentile(&ms, 50.0),
                    p95_ms: percentile(&ms, 95.0),
                    p99_ms: percentile(&ms, 99.0),
                    max_ms: ms.iter().copied().fold(0.0, f64::max),
                    first_error: t.first_error.clone(),
                }
            })
            .collect();
        let errors_after_sigterm = merged.values().map(|t| t.after_sigterm).sum();
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        anyhow::Ok(LoadReport {
            clients: a.clients,
            seconds,
            ops,
            acknowledged_points: present.len() as u64,
            missing,
            acknowledged_deletes: deleted.len() as u64,
            resurrected,
            server_rss_mib: match (rss_start, rss_end, rss_max) {
                (Some(s), Some(e), Some(m)) => Some((mib(s), mib(e), mib(m))),
                _ => None,
            },
            shutdown_seconds: shutdown,
            errors_after_sigterm,
        })
    })?;
    drop(spawned);
    Ok(report)
}

/// `vicinity bench load`: prints the table, writes the JSON, and fails if
/// an acknowledged write was lost or a deleted point came back.
pub fn run(a: LoadArgs) -> Result<()> {
    let r = load(&a)?;
    println!(
        "{} clients, {:.1} s, {} ({})",
        r.clients,
        r.seconds,
        a.target
            .as_deref()
            .unwrap_or("vicinity serve, started for the run"),
        a.protocol
    );
    println!(
        "{:<9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "op", "ok", "per s", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for o in &r.ops {
        println!(
            "{:<9} {:>9} {:>9.1} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            format!("{:?}", o.op).to_lowercase(),
            o.ok,
            o.per_second,
            o.errors,
            o.p50_ms,
            o.p95_ms,
            o.p99_ms,
            o.max_ms
        );
        if let Some(e) = &o.first_error {
            println!("          first error: {e}");
        }
    }
    println!(
        "acknowledged points {} (missing {}), acknowledged deletes {} (still there {})",
        r.acknowledged_points, r.missing, r.acknowledged_deletes, r.resurrected
    );
    if let Some(s) = r.shutdown_seconds {
        println!(
            "SIGTERM under load: the server exited in {s:.2} s; {} requests refused as it went; \
             the checks above ran against it restarted on its folder",
            r.errors_after_sigterm
        );
    }
    if let Some((s, e, m)) = r.server_rss_mib {
        println!(
            "server memory: {s:.0} MiB at the start, {e:.0} MiB at the end, {m:.0} MiB at most"
        );
    }
    if let Some(path) = &a.json {
        std::fs::write(path, serde_json::to_vec_pretty(&r)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    ensure!(
        r.missing == 0 && r.resurrected == 0,
        "{} acknowledged points missing, {} deleted points still there",
        r.missing,
        r.resurrected
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vicinity_server::{BackgroundServer, ServerConfig, State};

    fn args(target: String) -> LoadArgs {
        LoadArgs {
            target: Some(target),
            protocol: "grpc".into(),
            api_key: None,
            server_pid: None,
            clients: 4,
            duration: 1.5,
            points: 600,
            dim: 16,
            collection: "load".into(),
            mix: "search=30,filtered=10,upsert=30,payload=10,delete=15,scroll=5".into(),
            upsert_batch: 4,
            ef: 32,
            json: None,
            sigterm_after: None,
            server_binary: None,
        }
    }

    /// A short run over each protocol: a correctness check (every
    /// acknowledged write there, every acknowledged delete gone, no
    /// errors), not a timing one.
    #[test]
    fn acknowledged_writes_survive_concurrent_load() {
        let config = ServerConfig {
            grpc_port: 0,
            http_port: 0,
            ..ServerConfig::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let db = vicinity::Database::open(dir.path()).unwrap();
        let server = BackgroundServer::start(config, State::with_database(db)).unwrap();
        for url in [
            format!("grpc://{}", server.grpc_addr()),
            format!("http://{}", server.http_addr()),
        ] {
            let r = load(&args(url.clone())).unwrap();
            for o in &r.ops {
                assert_eq!(o.errors, 0, "{url} {:?}: {:?}", o.op, o.first_error);
            }
            let done: Vec<Op> = r.ops.iter().filter(|o| o.ok > 0).map(|o| o.op).collect();
            assert_eq!(done, OPS.to_vec(), "{url}: every operation of the mix ran");
            assert!(
                r.acknowledged_points > 0 && r.acknowledged_deletes > 0,
                "{url}"
            );
            assert_eq!((r.missing, r.resurrected), (0, 0), "{url}");
        }
        server.stop().unwrap();
    }

    #[test]
    fn mixes() {
        assert_eq!(
            parse_mix("search=1, upsert=2").unwrap(),
            vec![(Op::Search, 1), (Op::Upsert, 2)]
        );
        assert!(parse_mix("search=0").is_err());
        assert!(parse_mix("jump=1").is_err());
        assert!(parse_mix("search").is_err());
    }
}
