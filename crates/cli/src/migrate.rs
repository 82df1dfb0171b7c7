//! `vicinity migrate`: copies collections between a Vicinity folder and
//! any server that speaks Qdrant's gRPC protocol (a Qdrant cluster, Qdrant
//! Cloud, `vicinity serve`), in either direction.
//!
//! A folder is served on a free local port for the duration of the run
//! (the same server as `vicinity serve`), so both sides are gRPC endpoints
//! and one code path copies every way. Per collection: its configuration
//! (vectors, HNSW, optimizer and WAL settings, quantization, metadata:
//! what `GetCollectionInfo` reports), then its points in id order (scroll
//! pages of `--batch-size`, each upserted with `wait` while the next page
//! is read, at most `--in-flight` at once, so memory stays flat), then its
//! payload indexes and aliases. At the end it compares exact counts and a
//! random sample of points (vectors and payloads) on both sides.
//!
//! Resumable: after every acknowledged batch the scroll offset up to which
//! everything is copied goes into the state file (written atomically). A
//! run that finds a state file for the same source and target continues
//! from there; upserts are idempotent, so the batches in flight when a run
//! died are sent again, without duplicates or gaps. The file is removed
//! when the migration has been verified.

use std::collections::{BTreeMap, VecDeque};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use vicinity_server::pb;
use vicinity_server::pb::collections_client::CollectionsClient;
use vicinity_server::pb::points_client::PointsClient;
use vicinity_server::{BackgroundServer, ServerConfig, State};

use crate::bench::remote::{Svc, TlsOptions, connect_clients};
use crate::rng::Rng;

/// Options of `vicinity migrate`.
#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    /// Where the data is: a Vicinity folder, or a Qdrant gRPC endpoint
    /// (`grpc://HOST:6334`, `grpcs://` for TLS).
    #[arg(long)]
    pub from: String,
    /// Where it goes: a Vicinity folder (created if missing), or a Qdrant
    /// gRPC endpoint.
    #[arg(long)]
    pub to: String,
    /// A collection to copy (repeatable); all of them by default.
    #[arg(long = "collection")]
    pub collections: Vec<String>,
    /// The source endpoint's API key.
    #[arg(long, env = "VICINITY_FROM_API_KEY", hide_env_values = true)]
    pub from_api_key: Option<String>,
    /// The target endpoint's API key.
    #[arg(long, env = "VICINITY_TO_API_KEY", hide_env_values = true)]
    pub to_api_key: Option<String>,
    /// A PEM certificate to trust for `grpcs://` endpoints, besides the
    /// system's roots.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Points per scroll page and upsert request.
    #[arg(long, default_value_t = 256)]
    pub batch_size: u32,
    /// Upsert requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub in_flight: usize,
    /// Delete and recreate target collections that hold points (else such
    /// a target is refused).
    #[arg(long)]
    pub overwrite: bool,
    /// The progress file that makes the run resumable.
    #[arg(long, default_value = "vicinity-migrate.state.json")]
    pub state: PathBuf,
    /// Points compared on both sides at the end.
    #[arg(long, default_value_t = 100)]
    pub sample: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Stop (as if killed) after this many acknowledged batches: for the
    /// resumption tests.
    #[arg(long, hide = true)]
    pub stop_after_batches: Option<usize>,
}

/// What `vicinity migrate` did, per collection.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Points in the source.
    pub source_count: u64,
    /// Points in the target afterwards.
    pub target_count: u64,
    /// Points compared, and those that differ (by id).
    pub sampled: usize,
    /// Ids of sampled points that differ or are missing on the target.
    pub differing: Vec<String>,
}

/// The state file: how far each collection got.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct Progress {
    format: String,
    from: String,
    to: String,
    collections: BTreeMap<String, CollectionProgress>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
struct CollectionProgress {
    /// The scroll offset to continue from (`None` at the start).
    offset: Option<IdJson>,
    /// Points acknowledged by the target so far.
    copied: u64,
    /// All points copied (indexes and aliases may still be due).
    points_done: bool,
}

/// A point id in the state file: a number or a UUID string.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
enum IdJson {
    Num(u64),
    Uuid(String),
}

fn id_to_json(id: &pb::PointId) -> Option<IdJson> {
    match &id.point_id_options {
        Some(pb::point_id::PointIdOptions::Num(n)) => Some(IdJson::Num(*n)),
        Some(pb::point_id::PointIdOptions::Uuid(u)) => Some(IdJson::Uuid(u.clone())),
        None => None,
    }
}

fn id_from_json(id: &IdJson) -> pb::PointId {
    pb::PointId {
        point_id_options: Some(match id {
            IdJson::Num(n) => pb::point_id::PointIdOptions::Num(*n),
            IdJson::Uuid(u) => pb::point_id::PointIdOptions::Uuid(u.clone()),
        }),
    }
}

fn id_text(id: &Option<pb::PointId>) -> String {
    match id.as_ref().and_then(id_to_json) {
        Some(IdJson::Num(n)) => n.to_string(),
        Some(IdJson::Uuid(u)) => u,
        None => "(none)".into(),
    }
}

impl Progress {
    fn load(path: &Path, from: &str, to: &str) -> Result<Progress> {
        let fresh = Progress {
            format: "vicinity-migrate-1".into(),
            from: from.into(),
            to: to.into(),
            collections: BTreeMap::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let p: Progress = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a migration state file", path.display()))?;
        ensure!(
            p.format == fresh.format && p.from == from && p.to == to,
            "{} records a migration from {} to {}; remove it to start another",
            path.display(),
            p.from,
            p.to
        );
        Ok(p)
    }

    /// Writes the file whole and renames it into place, so that a kill
    /// leaves the old state or the new one.
    fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    }
}

/// Opens the database in folder `dir` (creating it if `create`, else it
/// must exist) and serves it on free local ports for the run.
pub(crate) async fn serve_folder(dir: &Path, create: bool) -> Result<BackgroundServer> {
    ensure!(
        create || dir.is_dir(),
        "{}: no such folder (the source must exist)",
        dir.display()
    );
    let db = tokio::task::spawn_blocking({
        let dir = dir.to_path_buf();
        move || vicinity::Database::open(&dir)
    })
    .await?
    .with_context(|| format!("opening {}", dir.display()))?;
    let config = ServerConfig {
        grpc_port: 0,
        http_port: 0,
        ..ServerConfig::default()
    };
    let server = tokio::task::spawn_blocking(move || {
        BackgroundServer::start(config, State::with_database(db))
    })
    .await??;
    Ok(server)
}

/// One side of the migration: a gRPC endpoint, with the local server that
/// serves it when it is a folder.
struct Side {
    name: String,
    points: PointsClient<Svc>,
    collections: CollectionsClient<Svc>,
    local: Option<BackgroundServer>,
}

impl Side {
    async fn open(
        spec: &str,
        api_key: Option<String>,
        tls: &TlsOptions,
        create: bool,
    ) -> Result<Side> {
        let (url, local) = if spec.starts_with("grpc://") || spec.starts_with("grpcs://") {
            (spec.to_string(), None)
        } else if spec.contains("://") {
            bail!("{spec:?}: expected a folder or grpc://HOST:PORT (grpcs:// for TLS)");
        } else {
            let server = serve_folder(Path::new(spec), create).await?;
            (format!("grpc://{}", server.grpc_addr()), Some(server))
        };
        let key = if local.is_some() { None } else { api_key };
        let (points, collections) = connect_clients(&url, key, tls).await?;
        Ok(Side {
            name: spec.to_string(),
            points,
            collections,
            local,
        })
    }

    async fn list(&self) -> Result<Vec<String>> {
        let r = self
            .collections
            .clone()
            .list(pb::ListCollectionsRequest {})
            .await
            .with_context(|| format!("listing the collections of {}", self.name))?;
        Ok(r.into_inner()
            .collections
            .into_iter()
            .map(|c| c.name)
            .collect())
    }

    async fn info(&self, name: &str) -> Result<Option<pb::CollectionInfo>> {
        let r = self
            .collections
            .clone()
            .get(pb::GetCollectionInfoRequest {
                collection_name: name.into(),
            })
            .await;
        match r {
            Ok(r) => Ok(r.into_inner().result),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(s).with_context(|| format!("collection {name} on {}", self.name)),
        }
    }

    async fn count(&self, name: &str) -> Result<u64> {
        let r = self
            .points
            .clone()
            .count(pb::CountPoints {
                collection_name: name.into(),
                exact: Some(true),
                ..Default::default()
            })
            .await
            .with_context(|| format!("counting {name} on {}", self.name))?;
        Ok(r.into_inner().result.map_or(0, |c| c.count))
    }

    async fn scroll(
        &self,
        name: &str,
        offset: Option<pb::PointId>,
        limit: u32,
    ) -> Result<(Vec<pb::RetrievedPoint>, Option<pb::PointId>)> {
        let r = self
            .points
            .clone()
            .scroll(pb::ScrollPoints {
                collection_name: name.into(),
                offset,
                limit: Some(limit),
                with_payload: Some(everything_payload()),
                with_vectors: Some(everything_vectors()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("reading {name} from {}", self.name))?
            .into_inner();
        Ok((r.result, r.next_page_offset))
    }

    async fn get(&self, name: &str, ids: Vec<pb::PointId>) -> Result<Vec<pb::RetrievedPoint>> {
        let r = self
            .points
            .clone()
            .get(pb::GetPoints {
                collection_name: name.into(),
                ids,
                with_payload: Some(everything_payload()),
                with_vectors: Some(everything_vectors()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("reading sample points of {name} from {}", self.name))?;
        Ok(r.into_inner().result)
    }

    async fn aliases(&self, name: &str) -> Result<Vec<String>> {
        let r = self
            .collections
            .clone()
            .list_collection_aliases(pb::ListCollectionAliasesRequest {
                collection_name: name.into(),
            })
            .await
            .with_context(|| format!("aliases of {name} on {}", self.name))?;
        Ok(r.into_inner()
            .aliases
            .into_iter()
            .map(|a| a.alias_name)
            .collect())
    }

    /// Stops the local server, flushing and checkpointing its folder.
    fn close(mut self) -> Result<()> {
        if let Some(s) = self.local.take() {
            s.stop().context("closing the folder")?;
        }
        Ok(())
    }
}

fn everything_payload() -> pb::WithPayloadSelector {
    pb::WithPayloadSelector {
        selector_options: Some(pb::with_payload_selector::SelectorOptions::Enable(true)),
    }
}

fn everything_vectors() -> pb::WithVectorsSelector {
    pb::WithVectorsSelector {
        selector_options: Some(pb::with_vectors_selector::SelectorOptions::Enable(true)),
    }
}

/// The vector as an upsert sends it, from the form a read returns.
fn vector_in(v: pb::VectorOutput) -> pb::Vector {
    use pb::vector::Vector as In;
    use pb::vector_output::Vector as Out;
    pb::Vector {
        data: v.data,
        indices: v.indices,
        vectors_count: v.vectors_count,
        vector: v.vector.map(|o| match o {
            Out::Dense(d) => In::Dense(d),
            Out::Sparse(s) => In::Sparse(s),
            Out::MultiDense(m) => In::MultiDense(m),
        }),
    }
}

/// A read point as an upsert sends it.
fn point_in(p: pb::RetrievedPoint) -> pb::PointStruct {
    use pb::vectors::VectorsOptions as In;
    use pb::vectors_output::VectorsOptions as Out;
    pb::PointStruct {
        id: p.id,
        payload: p.payload,
        vectors: p
            .vectors
            .and_then(|v| v.vectors_options)
            .map(|o| pb::Vectors {
                vectors_options: Some(match o {
                    Out::Vector(v) => In::Vector(vector_in(v)),
                    Out::Vectors(n) => In::Vectors(pb::NamedVectors {
                        vectors: n
                            .vectors
                            .into_iter()
                            .map(|(k, v)| (k, vector_in(v)))
                            .collect(),
                    }),
                }),
            }),
    }
}

/// A vector in one form whichever fields the server filled: dense
/// values, sparse, or multi-dense (the legacy `data` / `indices` /
/// `vectors_count` fields when the oneof is missing).
#[derive(Debug, PartialEq)]
enum Canon {
    Dense(Vec<f32>),
    Sparse(pb::SparseVector),
    Multi(pb::MultiDenseVector),
    Legacy(Vec<f32>, Option<pb::SparseIndices>, Option<u32>),
}

fn canon(v: &pb::Vector) -> Canon {
    use pb::vector::Vector as V;
    match &v.vector {
        Some(V::Dense(d)) => Canon::Dense(d.data.clone()),
        Some(V::Sparse(s)) => Canon::Sparse(s.clone()),
        Some(V::MultiDense(m)) => Canon::Multi(m.clone()),
        _ if v.indices.is_none() && v.vectors_count.is_none() => Canon::Dense(v.data.clone()),
        _ => Canon::Legacy(v.data.clone(), v.indices.clone(), v.vectors_count),
    }
}

/// Whether two points hold the same payload and vectors. Cosine vectors
/// are normalised again on the target, which may move the last bit, so
/// dense values compare within 1e-6; everything else exactly.
fn same_point(a: &pb::PointStruct, b: &pb::PointStruct) -> bool {
    let named = |p: &pb::PointStruct| -> BTreeMap<String, Canon> {
        match p.vectors.as_ref().and_then(|v| v.vectors_options.as_ref()) {
            Some(pb::vectors::VectorsOptions::Vector(v)) => [(String::new(), canon(v))].into(),
            Some(pb::vectors::VectorsOptions::Vectors(n)) => n
                .vectors
                .iter()
                .map(|(k, v)| (k.clone(), canon(v)))
                .collect(),
            None => BTreeMap::new(),
        }
    };
    let close = |x: &[f32], y: &[f32]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(p, q)| (p - q).abs() <= 1e-6 * p.abs().max(1.0))
    };
    let (va, vb) = (named(a), named(b));
    a.payload == b.payload
        && va.len() == vb.len()
        && va.iter().all(|(k, x)| match (x, vb.get(k)) {
            (Canon::Dense(x), Some(Canon::Dense(y))) => close(x, y),
            (x, Some(y)) => x == y,
            (_, None) => false,
        })
}

/// The request that makes a collection like `info` on the target.
fn create_request(name: &str, info: &pb::CollectionInfo) -> Result<pb::CreateCollection> {
    let config = info
        .config
        .clone()
        .with_context(|| format!("the source reports no configuration for {name}"))?;
    let params = config.params.unwrap_or_default();
    Ok(pb::CreateCollection {
        collection_name: name.into(),
        hnsw_config: config.hnsw_config,
        wal_config: config.wal_config,
        optimizers_config: config.optimizer_config,
        on_disk_payload: Some(params.on_disk_payload),
        vectors_config: params.vectors_config,
        quantization_config: config.quantization_config,
        sparse_vectors_config: params.sparse_vectors_config,
        metadata: config.metadata,
        // shard and replica settings are the target cluster's business
        ..Default::default()
    })
}

/// Copies one collection: configuration, points, indexes, aliases.
async fn copy_collection(
    a: &MigrateArgs,
    from: &Side,
    to: &Side,
    name: &str,
    progress: &mut Progress,
    batches: &mut usize,
) -> Result<Outcome> {
    let info = from
        .info(name)
        .await?
        .with_context(|| format!("no collection {name} on {}", from.name))?;
    let total = from.count(name).await?;
    let mut state = progress.collections.get(name).cloned();
    if state.is_none() {
        if to.info(name).await?.is_some() {
            // the exact count decides: points_count in the info is approximate
            let held = to.count(name).await?;
            if held > 0 {
                ensure!(
                    a.overwrite,
                    "{name} on {} holds {held} points: refusing to mix them with the source's \
                     (--overwrite deletes and recreates it)",
                    to.name
                );
            }
            to.collections
                .clone()
                .delete(pb::DeleteCollection {
                    collection_name: name.into(),
                    timeout: None,
                })
                .await
                .with_context(|| format!("deleting {name} on {}", to.name))?;
        }
        to.collections
            .clone()
            .create(create_request(name, &info)?)
            .await
            .with_context(|| format!("creating {name} on {}", to.name))?;
        let fresh = CollectionProgress::default();
        progress.collections.insert(name.into(), fresh.clone());
        progress.save(&a.state)?;
        state = Some(fresh);
    }
    let mut state = state.unwrap_or_default();

    // the points, in id order, `in_flight` batches at once
    let bar = bar(a.quiet, total, name);
    bar.set_position(state.copied);
    let mut sample: Vec<pb::PointId> = Vec::new();
    let mut seen = 0u64;
    let mut rng = Rng::new(0x5eed ^ total);
    let mut offset = state.offset.as_ref().map(id_from_json);
    let mut pending: VecDeque<(
        tokio::task::JoinHandle<Result<()>>,
        Option<pb::PointId>,
        u64,
    )> = VecDeque::new();
    let started = Instant::now();
    while !state.points_done {
        let (page, next) = from.scroll(name, offset.clone(), a.batch_size).await?;
        for p in &page {
            // a reservoir sample of the ids this run copies
            if let Some(id) = &p.id {
                seen += 1;
                if sample.len() < a.sample {
                    sample.push(id.clone());
                } else {
                    let j = rng.below(seen);
                    if (j as usize) < a.sample {
                        sample[j as usize] = id.clone();
                    }
                }
            }
        }
        let n = page.len() as u64;
        let request = pb::UpsertPoints {
            collection_name: name.into(),
            wait: Some(true),
            points: page.into_iter().map(point_in).collect(),
            ..Default::default()
        };
        let mut client = to.points.clone();
        let target = to.name.clone();
        let first = request.points.first().map(|p| id_text(&p.id));
        let task = tokio::spawn(async move {
            if !request.points.is_empty() {
                client.upsert(request).await.with_context(|| {
                    format!(
                        "writing points from id {} to {target}",
                        first.unwrap_or_default()
                    )
                })?;
            }
            Ok(())
        });
        pending.push_back((task, next.clone(), n));
        let last = next.is_none();
        while pending.len() >= a.in_flight.max(1) || (last && !pending.is_empty()) {
            let Some((task, next, n)) = pending.pop_front() else {
                break;
            };
            task.await??;
            // everything before `next` is on the target now
            state.copied += n;
            state.offset = next.as_ref().and_then(id_to_json);
            state.points_done = next.is_none();
            progress.collections.insert(name.into(), state.clone());
            progress.save(&a.state)?;
            bar.set_position(state.copied);
            *batches += 1;
            if a.stop_after_batches.is_some_and(|max| *batches >= max) {
                bar.abandon();
                // as if killed here: what is in flight may or may not land
                bail!("stopped after {batches} batches (--stop-after-batches)");
            }
        }
        offset = next;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    // indexes and aliases, after the points (as Qdrant's own migrate does)
    for (field, schema) in &info.payload_schema {
        let field_type = schema.data_type - 1; // PayloadSchemaType -> FieldType
        ensure!(
            field_type >= 0,
            "the source reports an index of unknown type on {field}"
        );
        to.points
            .clone()
            .create_field_index(pb::CreateFieldIndexCollection {
                collection_name: name.into(),
                wait: Some(true),
                field_name: field.clone(),
                field_type: Some(field_type),
                field_index_params: schema.params.clone(),
                ..Default::default()
            })
            .await
            .with_context(|| format!("indexing {field} of {name} on {}", to.name))?;
    }
    let mut actions = Vec::new();
    let there = to.aliases(name).await?;
    for alias in from.aliases(name).await? {
        if there.contains(&alias) {
            continue; // a resumed run made it already
        }
        actions.push(pb::AliasOperations {
            action: Some(pb::alias_operations::Action::CreateAlias(pb::CreateAlias {
                collection_name: name.into(),
                alias_name: alias,
            })),
        });
    }
    if !actions.is_empty() {
        to.collections
            .clone()
            .update_aliases(pb::ChangeAliases {
                actions,
                timeout: None,
            })
            .await
            .with_context(|| format!("aliases of {name} on {}", to.name))?;
    }

    // the check
    let target_count = to.count(name).await?;
    let mut differing = Vec::new();
    if !sample.is_empty() {
        let want = from.get(name, sample.clone()).await?;
        let got: BTreeMap<String, pb::PointStruct> = to
            .get(name, sample.clone())
            .await?
            .into_iter()
            .map(|p| (id_text(&p.id), point_in(p)))
            .collect();
        for p in want.into_iter().map(point_in) {
            let id = id_text(&p.id);
            if !got.get(&id).is_some_and(|q| same_point(&p, q)) {
                differing.push(id);
            }
        }
    }
    // strict mode last: its limits (batch size, rate, exact counts) are for
    // the target's clients, not for this copy
    let strict = info
        .config
        .as_ref()
        .and_then(|c| c.strict_mode_config.clone())
        .filter(|s| s.enabled == Some(true));
    if let Some(strict) = strict {
        to.collections
            .clone()
            .update(pb::UpdateCollection {
                collection_name: name.into(),
                strict_mode_config: Some(strict),
                ..Default::default()
            })
            .await
            .with_context(|| format!("strict mode of {name} on {}", to.name))?;
    }
    if !a.quiet {
        eprintln!(
            "{name}: {target_count} of {total} points on {} ({:.0} points/s), {} sampled, {} differ",
            to.name,
            state.copied as f64 / seconds.max(1e-9),
            sample.len(),
            differing.len()
        );
    }
    Ok(Outcome {
        source_count: total,
        target_count,
        sampled: sample.len(),
        differing,
    })
}

/// A progress bar on a terminal (points copied, rate, time left); hidden
/// when quiet or when standard error is not a terminal.
pub(crate) fn bar(quiet: bool, total: u64, name: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} points, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_prefix(name.to_string());
    pb
}

/// Runs a migration; the outcome per collection.
pub fn migrate(a: &MigrateArgs) -> Result<BTreeMap<String, Outcome>> {
    ensure!(a.batch_size > 0, "--batch-size must be positive");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let tls = TlsOptions {
            ca: a.tls_ca.clone(),
            domain: None,
        };
        let from = Side::open(&a.from, a.from_api_key.clone(), &tls, false).await?;
        let to = Side::open(&a.to, a.to_api_key.clone(), &tls, true).await?;
        let mut progress = Progress::load(&a.state, &a.from, &a.to)?;
        let names = if a.collections.is_empty() {
            from.list().await?
        } else {
            a.collections.clone()
        };
        let mut outcomes = BTreeMap::new();
        let mut batches = 0;
        let mut result = Ok(());
        for name in &names {
            match copy_collection(a, &from, &to, name, &mut progress, &mut batches).await {
                Ok(o) => {
                    outcomes.insert(name.clone(), o);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let closed = tokio::task::spawn_blocking(move || from.close().and(to.close())).await?;
        result?;
        closed?;
        let bad: Vec<String> = outcomes
            .iter()
            .filter(|(_, o)| o.source_count != o.target_count || !o.differing.is_empty())
            .map(|(n, o)| {
                format!(
                    "{n}: {} points in the source, {} in the target, {} of {} sampled differ ({})",
                    o.source_count,
                    o.target_count,
                    o.differing.len(),
                    o.sampled,
                    o.differing
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        if !bad.is_empty() {
            bail!("the target differs from the source:\n{}", bad.join("\n"));
        }
        // verified: nothing to resume
        if a.state.exists() {
            std::fs::remove_file(&a.state)
                .with_context(|| format!("removing {}", a.state.display()))?;
        }
        Ok(outcomes)
    })
}

/// `vicinity migrate`.
pub fn run(a: MigrateArgs) -> Result<()> {
    let outcomes = migrate(&a)?;
    let points: u64 = outcomes.values().map(|o| o.target_count).sum();
    println!(
        "migrated {} collection(s), {points} points, from {} to {}",
        outcomes.len(),
        a.from,
        a.to
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;
    use vicinity::{
        CollectionConfig, Database, Distance, FieldIndexParams, FieldType, PayloadSelector,
        PointId, PointStruct, Record, ScrollRequest, VectorParams, VectorSelector, Vectors,
        WithSelectors,
    };

    fn args(from: &str, to: &str, state: &Path) -> MigrateArgs {
        MigrateArgs {
            from: from.into(),
            to: to.into(),
            collections: Vec::new(),
            from_api_key: None,
            to_api_key: None,
            tls_ca: None,
            batch_size: 64,
            in_flight: 3,
            overwrite: false,
            state: state.to_path_buf(),
            sample: 50,
            quiet: true,
            stop_after_batches: None,
        }
    }

    /// A folder with a named-vector Dot/Euclid collection (numeric and
    /// UUID ids, payloads, an index) and a Cosine one with an alias.
    pub(crate) fn source(dir: &Path) {
        let db = Database::open(dir).unwrap();
        let named = CollectionConfig::named([
            ("a", VectorParams::new(3, Distance::Dot)),
            ("b", VectorParams::new(2, Distance::Euclid)),
        ]);
        let c = db.create_collection("named", named).unwrap();
        let points = (0..500u64)
            .map(|i| {
                let id = if i % 5 == 0 {
                    PointId::Uuid(uuid::Uuid::from_u128(i as u128 + 1))
                } else {
                    PointId::Num(i * 7)
                };
                let x = i as f32;
                let mut v = std::collections::BTreeMap::new();
                v.insert(
                    "a".to_string(),
                    vec![x.sin(), x.cos() * 1e-3, 1.0 / (x + 1.0)].into(),
                );
                if i % 3 != 0 {
                    v.insert("b".to_string(), vec![x, -x * 0.1].into());
                }
                let payload = json!({"brand": format!("b{}", i % 4), "n": i, "f": x / 3.0});
                PointStruct {
                    id,
                    vectors: Vectors::Named(v),
                    payload: Some(payload.try_into().unwrap()),
                }
            })
            .collect();
        c.upsert(points).unwrap();
        c.create_field_index(
            &"brand".parse().unwrap(),
            FieldIndexParams::new(FieldType::Keyword),
        )
        .unwrap();
        let cos = db
            .create_collection("cos", CollectionConfig::single(4, Distance::Cosine))
            .unwrap();
        cos.upsert(
            (1..=130u64)
                .map(|i| PointStruct::new(i, vec![i as f32, 1.0, -2.0, 0.5], Default::default()))
                .collect(),
        )
        .unwrap();
        db.create_alias("cos", "shop").unwrap();
        db.checkpoint_all().unwrap();
    }

    fn everything(db: &Database, name: &str) -> Vec<Record> {
        let c = db.collection(name).unwrap();
        let req = ScrollRequest {
            limit: 10_000,
            with: WithSelectors {
                payload: PayloadSelector::All,
                vectors: VectorSelector::All,
            },
            ..ScrollRequest::default()
        };
        c.scroll(&req).unwrap().points
    }

    /// Same points (vectors bit for bit but Cosine's), indexes, aliases.
    pub(crate) fn assert_same(a: &Path, b: &Path) {
        let (da, db) = (Database::open(a).unwrap(), Database::open(b).unwrap());
        assert_eq!(da.list_collections(), db.list_collections());
        for name in da.list_collections() {
            let (ca, cb) = (da.collection(&name).unwrap(), db.collection(&name).unwrap());
            let shape = |c: &vicinity::Collection| {
                c.config()
                    .vectors
                    .iter()
                    .map(|(k, v)| (k.clone(), v.size, v.distance, v.on_disk.unwrap_or(false)))
                    .collect::<Vec<_>>()
            };
            assert_eq!(shape(&ca), shape(&cb), "{name}");
            assert_eq!(
                ca.payload_schema().keys().collect::<Vec<_>>(),
                cb.payload_schema().keys().collect::<Vec<_>>()
            );
            assert_eq!(
                da.collection_aliases(&name).unwrap(),
                db.collection_aliases(&name).unwrap()
            );
            let (pa, pb) = (everything(&da, &name), everything(&db, &name));
            assert_eq!(pa.len(), pb.len(), "{name}");
            for (x, y) in pa.iter().zip(&pb) {
                assert_eq!(x.id, y.id);
                assert_eq!(x.payload, y.payload);
                if name == "cos" {
                    let (Some(Vectors::Single(u)), Some(Vectors::Single(v))) =
                        (&x.vectors, &y.vectors)
                    else {
                        panic!("{:?}", x.vectors)
                    };
                    assert!(u.iter().zip(v).all(|(p, q)| (p - q).abs() < 1e-6));
                } else {
                    assert_eq!(x.vectors, y.vectors, "bit for bit");
                }
            }
        }
    }

    #[test]
    fn folder_to_server_to_folder_keeps_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, state) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("s.json"),
        );
        source(&a);
        // strict mode that would refuse the copy's own batches were it set
        // before the points are in
        let strict = serde_json::json!({"enabled": true, "upsert_max_batchsize": 10});
        {
            let db = Database::open(&a).unwrap();
            let settings = serde_json::json!({ "strict_mode": strict.clone() });
            let c = db.collection("named").unwrap();
            c.set_settings(settings.as_object().unwrap().clone())
                .unwrap();
        }
        let config = ServerConfig {
            grpc_port: 0,
            http_port: 0,
            ..ServerConfig::default()
        };
        let server = BackgroundServer::start(config, State::new()).unwrap();
        let url = format!("grpc://{}", server.grpc_addr());
        let out = migrate(&args(a.to_str().unwrap(), &url, &state)).unwrap();
        assert_eq!(out["named"].target_count, 500);
        assert_eq!(out["named"].sampled, 50);
        assert!(out["named"].differing.is_empty());
        assert!(!state.exists(), "a verified run leaves no state");
        assert_eq!(
            server.state.db.collection_aliases("cos").unwrap(),
            vec!["shop"]
        );
        let named = server.state.db.collection("named").unwrap();
        assert_eq!(named.settings()["strict_mode"], strict);
        let out = migrate(&args(&url, b.to_str().unwrap(), &state)).unwrap();
        assert_eq!(out["cos"].target_count, 130);
        server.stop().unwrap();
        assert_same(&a, &b);
        let db = Database::open(&b).unwrap();
        assert_eq!(
            db.collection("named").unwrap().settings()["strict_mode"],
            strict
        );
    }

    #[test]
    fn an_interrupted_migration_resumes_without_duplicates_or_gaps() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, c, state) = (
            tmp.path().join("a"),
            tmp.path().join("c"),
            tmp.path().join("s.json"),
        );
        source(&a);
        let (from, to) = (a.to_str().unwrap(), c.to_str().unwrap());
        // "cos" (130 points) goes first: two batches of its three
        let mut first = args(from, to, &state);
        first.stop_after_batches = Some(2);
        let e = migrate(&first).unwrap_err();
        assert!(
            format!("{e:#}").contains("stopped after 2 batches"),
            "{e:#}"
        );
        let saved: Progress = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        assert_eq!(saved.collections["cos"].copied, 2 * 64, "{saved:?}");
        assert!(!saved.collections["cos"].points_done);
        // a second interruption: the rest of "cos", two batches of "named"
        first.stop_after_batches = Some(3);
        assert!(migrate(&first).is_err());
        let saved: Progress = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        assert!(saved.collections["cos"].points_done);
        assert_eq!(saved.collections["cos"].copied, 130);
        assert_eq!(saved.collections["named"].copied, 2 * 64);
        let out = migrate(&args(from, to, &state)).unwrap();
        assert_eq!(out["named"].target_count, 500);
        assert!(!state.exists());
        assert_same(&a, &c);
        // a target that holds points is refused, unless told to replace it
        let e = migrate(&args(from, to, &state)).unwrap_err();
        assert!(format!("{e:#}").contains("refusing"), "{e:#}");
        let mut again = args(from, to, &state);
        again.overwrite = true;
        migrate(&again).unwrap();
        assert_same(&a, &c);
    }

    #[test]
    fn a_state_file_of_another_migration_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("s.json");
        let p = Progress {
            format: "vicinity-migrate-1".into(),
            from: "x".into(),
            to: "y".into(),
            collections: BTreeMap::new(),
        };
        p.save(&state).unwrap();
        let e = Progress::load(&state, "x", "z").unwrap_err();
        assert!(e.to_string().contains("remove it"), "{e}");
        assert_eq!(Progress::load(&state, "x", "y").unwrap(), p);
    }
}
