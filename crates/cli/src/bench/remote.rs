//! `bench run --target grpc://HOST:PORT`: the same measurements against a
//! server speaking Qdrant's gRPC protocol (ours, Qdrant, Qdrant Cloud),
//! through the generated client of `vicinity-server` (its REST twin is
//! [`super::rest`]).
//!
//! The build uploads the dataset (create the collection, index the payload
//! schema, upsert in batches with `wait`), then waits until the collection
//! reports green; searches are `Points/Search` with `hnsw_ef`. Latencies
//! include the round trip and the client's encoding.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use indicatif::ProgressBar;
use serde_json::Value;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use vicinity::{Distance, FieldType};
use vicinity_server::grpc::convert::value::payload_to_proto;
use vicinity_server::pb;
use vicinity_server::pb::collections_client::CollectionsClient;
use vicinity_server::pb::points_client::PointsClient;

use super::dataset::Dataset;
use super::target::{BuildConfig, BuildReport, Target};

/// Adds the `api-key` header when there is one.
#[derive(Clone)]
pub struct ApiKey(Option<MetadataValue<Ascii>>);

impl Interceptor for ApiKey {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(k) = &self.0 {
            req.metadata_mut().insert("api-key", k.clone());
        }
        Ok(req)
    }
}

/// A gRPC channel that sends the API key.
pub(crate) type Svc = InterceptedService<Channel, ApiKey>;

/// How to trust a TLS server beyond the system's roots.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// A PEM certificate (a private CA or a self-signed server) to trust.
    pub ca: Option<std::path::PathBuf>,
    /// The name to check the certificate against, when the URL's host is
    /// not it (an IP address, say).
    pub domain: Option<String>,
}

/// The points and collections clients of a Qdrant gRPC endpoint:
/// `grpc://HOST:PORT` in plain text, `grpcs://` over TLS (the system's
/// roots, plus `tls.ca`), with the `api-key` header when there is one and
/// no cap on message sizes. Connects before it returns.
pub(crate) async fn connect_clients(
    url: &str,
    api_key: Option<String>,
    tls: &TlsOptions,
) -> Result<(PointsClient<Svc>, CollectionsClient<Svc>)> {
    let http = if let Some(rest) = url.strip_prefix("grpc://") {
        format!("http://{rest}")
    } else if let Some(rest) = url.strip_prefix("grpcs://") {
        format!("https://{rest}")
    } else {
        bail!("{url:?}: expected grpc://HOST:PORT or grpcs://HOST:PORT");
    };
    let mut endpoint =
        Endpoint::from_shared(http.clone())?.connect_timeout(Duration::from_secs(10));
    if http.starts_with("https://") {
        let mut config = ClientTlsConfig::new().with_native_roots();
        if let Some(ca) = &tls.ca {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
        if let Some(domain) = &tls.domain {
            config = config.domain_name(domain.clone());
        }
        endpoint = endpoint.tls_config(config)?;
    } else {
        ensure!(
            tls.ca.is_none() && tls.domain.is_none(),
            "--tls-ca and --tls-domain need a grpcs:// or https:// target"
        );
    }
    let key = api_key
        .map(|k| k.parse::<MetadataValue<Ascii>>())
        .transpose()
        .context("the API key is not a valid header value")?;
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let auth = ApiKey(key);
    Ok((
        PointsClient::with_interceptor(channel.clone(), auth.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX),
        CollectionsClient::with_interceptor(channel, auth)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX),
    ))
}

/// A server under measurement.
pub struct Remote {
    url: String,
    collection: String,
    batch_size: usize,
    upload_parallel: usize,
    runtime: tokio::runtime::Runtime,
    points: PointsClient<Svc>,
    collections: CollectionsClient<Svc>,
    filters: Vec<pb::Filter>,
}

impl Remote {
    /// Connects to `url`: `grpc://HOST:PORT` in plain text, `grpcs://`
    /// over TLS (the system's roots, plus `tls.ca`).
    pub fn connect(
        url: &str,
        collection: &str,
        api_key: Option<String>,
        (batch_size, upload_parallel): (usize, usize),
        tls: &TlsOptions,
    ) -> Result<Remote> {
        ensure!(
            batch_size > 0 && upload_parallel > 0,
            "--batch-size and --upload-parallel must be positive"
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let (points, collections) = runtime.block_on(connect_clients(url, api_key, tls))?;
        Ok(Remote {
            url: url.to_string(),
            collection: collection.to_string(),
            batch_size,
            upload_parallel,
            points,
            collections,
            runtime,
            filters: Vec::new(),
        })
    }

    fn search_request(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<usize>,
        exact: bool,
    ) -> pb::SearchPoints {
        pb::SearchPoints {
            collection_name: self.collection.clone(),
            vector: query.to_vec(),
            limit: k as u64,
            filter: filter.map(|i| self.filters[i].clone()),
            params: Some(pb::SearchParams {
                hnsw_ef: Some(ef as u64),
                exact: Some(exact),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// Waits for one upload of `set` and counts its points.
pub(super) async fn join_one(
    set: &mut tokio::task::JoinSet<Result<usize>>,
    progress: &ProgressBar,
) -> Result<()> {
    if let Some(done) = set.join_next().await {
        progress.inc(done?? as u64);
    }
    Ok(())
}

/// Sends every request with `threads` workers in flight, each taking the
/// next request until none is left, through `send` on its own copy of
/// `client`; counts them on `progress` and returns the wall seconds (what
/// `Target::search_all` measures over either protocol).
pub(super) fn send_all<C, R, F, Fut>(
    runtime: &tokio::runtime::Runtime,
    requests: Vec<R>,
    threads: usize,
    progress: &ProgressBar,
    client: C,
    send: F,
) -> Result<f64>
where
    C: Clone + Send + 'static,
    R: Clone + Send + Sync + 'static,
    F: Fn(C, R) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..threads.max(1) {
            let (requests, next, progress) = (requests.clone(), next.clone(), progress.clone());
            let (client, send) = (client.clone(), send.clone());
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(r) = requests.get(i) else { break };
                    send(client.clone(), r.clone()).await?;
                    progress.inc(1);
                }
                anyhow::Ok(())
            });
        }
        while let Some(r) = tasks.join_next().await {
            r??;
        }
        anyhow::Ok(())
    })?;
    Ok(start.elapsed().as_secs_f64())
}

fn ids_of(reply: pb::SearchResponse) -> Vec<u32> {
    reply
        .result
        .into_iter()
        .map(|p| match p.id.and_then(|i| i.point_id_options) {
            Some(pb::point_id::PointIdOptions::Num(n)) => u32::try_from(n).unwrap_or(u32::MAX),
            _ => u32::MAX,
        })
        .collect()
}

fn distance_to_proto(d: Distance) -> pb::Distance {
    match d {
        Distance::Cosine => pb::Distance::Cosine,
        Distance::Dot => pb::Distance::Dot,
        Distance::Euclid => pb::Distance::Euclid,
        Distance::Manhattan => pb::Distance::Manhattan,
    }
}

fn field_type_to_proto(t: FieldType) -> Result<pb::FieldType> {
    Ok(match t {
        FieldType::Keyword => pb::FieldType::Keyword,
        FieldType::Integer => pb::FieldType::Integer,
        FieldType::Float => pb::FieldType::Float,
        FieldType::Bool => pb::FieldType::Bool,
        FieldType::Datetime => pb::FieldType::Datetime,
        FieldType::Uuid => pb::FieldType::Uuid,
        FieldType::Geo => pb::FieldType::Geo,
        FieldType::Text => pb::FieldType::Text,
    })
}

impl Target for Remote {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn build(
        &mut self,
        ds: &Dataset,
        cfg: &BuildConfig,
        progress: &ProgressBar,
    ) -> Result<BuildReport> {
        let name = self.collection.clone();
        let mut collections = self.collections.clone();
        let mut points = self.points.clone();
        let batch_size = self.batch_size;
        let parallel = self.upload_parallel;
        progress.set_length(ds.n_base() as u64);
        let seconds = self.runtime.block_on(async {
            // A collection of that name from an earlier run goes first.
            let _ = collections
                .delete(pb::DeleteCollection {
                    collection_name: name.clone(),
                    timeout: None,
                })
                .await;
            collections
                .create(pb::CreateCollection {
                    collection_name: name.clone(),
                    vectors_config: Some(pb::VectorsConfig {
                        config: Some(pb::vectors_config::Config::Params(pb::VectorParams {
                            size: ds.dim as u64,
                            distance: distance_to_proto(ds.distance) as i32,
                            ..Default::default()
                        })),
                    }),
                    hnsw_config: Some(pb::HnswConfigDiff {
                        m: Some(cfg.m as u64),
                        ef_construct: Some(cfg.ef_construct as u64),
                        full_scan_threshold: Some(cfg.full_scan_threshold as u64),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await
                .context("creating the collection")?;
            let start = Instant::now();
            if cfg.payload_index && ds.payloads.is_some() {
                for (key, t) in &ds.payload_schema {
                    points
                        .create_field_index(pb::CreateFieldIndexCollection {
                            collection_name: name.clone(),
                            wait: Some(true),
                            field_name: key.clone(),
                            field_type: Some(field_type_to_proto(*t)? as i32),
                            ..Default::default()
                        })
                        .await
                        .with_context(|| format!("indexing {key}"))?;
                }
            }
            // Up to `parallel` batches in flight, as Qdrant's clients upload.
            let mut in_flight = tokio::task::JoinSet::new();
            for first in (0..ds.n_base()).step_by(batch_size) {
                let last = (first + batch_size).min(ds.n_base());
                let batch = (first..last)
                    .map(|i| pb::PointStruct {
                        id: Some(pb::PointId {
                            point_id_options: Some(pb::point_id::PointIdOptions::Num(i as u64)),
                        }),
                        payload: payload_to_proto(ds.payloads.as_ref().map(|p| p[i].clone())),
                        vectors: Some(pb::Vectors {
                            vectors_options: Some(pb::vectors::VectorsOptions::Vector(
                                pb::Vector {
                                    vector: Some(pb::vector::Vector::Dense(pb::DenseVector {
                                        data: ds.base_row(i).to_vec(),
                                    })),
                                    ..Default::default()
                                },
                            )),
                        }),
                    })
                    .collect();
                if in_flight.len() >= parallel {
                    join_one(&mut in_flight, progress).await?;
                }
                let mut client = points.clone();
                let request = pb::UpsertPoints {
                    collection_name: name.clone(),
                    wait: Some(true),
                    points: batch,
                    ..Default::default()
                };
                in_flight.spawn(async move {
                    client
                        .upsert(request)
                        .await
                        .with_context(|| format!("upserting points {first}..{last}"))?;
                    anyhow::Ok(last - first)
                });
            }
            while !in_flight.is_empty() {
                join_one(&mut in_flight, progress).await?;
            }
            // Servers that index in the background report green when done.
            loop {
                let info = collections
                    .get(pb::GetCollectionInfoRequest {
                        collection_name: name.clone(),
                    })
                    .await?
                    .into_inner()
                    .result
                    .context("no collection info")?;
                if info.status == pb::CollectionStatus::Green as i32 {
                    break;
                }
                ensure!(
                    info.status != pb::CollectionStatus::Red as i32,
                    "the server reports the collection red"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            anyhow::Ok(start.elapsed().as_secs_f64())
        })?;
        Ok(BuildReport {
            seconds,
            note: "upload (batches with wait=true) until the collection reports green; \
                   a server's disk and memory are not visible through the protocol"
                .into(),
            ..BuildReport::default()
        })
    }

    fn set_filters(&mut self, filters: &[Value]) -> Result<()> {
        self.filters = filters
            .iter()
            .map(|f| filter_to_proto(f).with_context(|| format!("filter {f}")))
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<usize>,
        exact: bool,
    ) -> Result<Vec<u32>> {
        let req = self.search_request(query, k, ef, filter, exact);
        let mut client = self.points.clone();
        let reply = self
            .runtime
            .block_on(client.search(req))
            .context("search")?;
        Ok(ids_of(reply.into_inner()))
    }

    fn search_all(
        &self,
        ds: &Dataset,
        k: usize,
        ef: usize,
        filter: Option<usize>,
        threads: usize,
        progress: &ProgressBar,
    ) -> Result<f64> {
        let requests: Vec<pb::SearchPoints> = (0..ds.n_query())
            .map(|i| self.search_request(ds.query(i), k, ef, filter, false))
            .collect();
        send_all(
            &self.runtime,
            requests,
            threads,
            progress,
            self.points.clone(),
            |mut client: PointsClient<Svc>, r| async move {
                client.search(r).await?;
                Ok(())
            },
        )
    }
}

/// Qdrant's REST JSON filter in its gRPC form: `must`, `should`,
/// `must_not`, nested filters, `has_id`, and field conditions with `match`
/// (`value`, `any`, `except`, `text`) and numeric `range` (what benchmark
/// filters use). Other conditions are refused by name.
pub fn filter_to_proto(f: &Value) -> Result<pb::Filter> {
    let obj = f.as_object().context("a filter is a JSON object")?;
    let list = |key: &str| -> Result<Vec<pb::Condition>> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(condition_to_proto).collect(),
            Some(one) => Ok(vec![condition_to_proto(one)?]),
        }
    };
    for key in obj.keys() {
        ensure!(
            matches!(key.as_str(), "must" | "should" | "must_not"),
            "filter clause {key:?} is not supported over gRPC by bench run"
        );
    }
    Ok(pb::Filter {
        must: list("must")?,
        should: list("should")?,
        must_not: list("must_not")?,
        min_should: None,
    })
}

fn condition_to_proto(c: &Value) -> Result<pb::Condition> {
    use pb::condition::ConditionOneOf;
    let obj = c.as_object().context("a condition is a JSON object")?;
    let one_of = if obj.contains_key("must")
        || obj.contains_key("should")
        || obj.contains_key("must_not")
    {
        ConditionOneOf::Filter(filter_to_proto(c)?)
    } else if let Some(ids) = obj.get("has_id") {
        let ids = ids
            .as_array()
            .context("has_id is a list")?
            .iter()
            .map(|id| {
                let opt = match id {
                    Value::Number(n) => {
                        pb::point_id::PointIdOptions::Num(n.as_u64().context("a numeric id")?)
                    }
                    Value::String(s) => pb::point_id::PointIdOptions::Uuid(s.clone()),
                    _ => bail!("an id is a number or a UUID"),
                };
                Ok(pb::PointId {
                    point_id_options: Some(opt),
                })
            })
            .collect::<Result<_>>()?;
        ConditionOneOf::HasId(pb::HasIdCondition { has_id: ids })
    } else {
        let key = obj
            .get("key")
            .and_then(Value::as_str)
            .context("a field condition needs a key")?
            .to_string();
        let mut field = pb::FieldCondition {
            key,
            ..Default::default()
        };
        if let Some(m) = obj.get("match") {
            field.r#match = Some(match_to_proto(m)?);
        } else if let Some(r) = obj.get("range") {
            let num = |k: &str| r.get(k).and_then(Value::as_f64);
            field.range = Some(pb::Range {
                lt: num("lt"),
                gt: num("gt"),
                gte: num("gte"),
                lte: num("lte"),
            });
        } else {
            bail!("condition {c} is not supported over gRPC by bench run (match, range, has_id)");
        }
        ConditionOneOf::Field(field)
    };
    Ok(pb::Condition {
        condition_one_of: Some(one_of),
    })
}

fn match_to_proto(m: &Value) -> Result<pb::Match> {
    use pb::r#match::MatchValue;
    let strings = |a: &Value| -> Option<Vec<String>> {
        a.as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let ints =
        |a: &Value| -> Option<Vec<i64>> { a.as_array()?.iter().map(Value::as_i64).collect() };
    let value = if let Some(v) = m.get("value") {
        match v {
            Value::String(s) => MatchValue::Keyword(s.clone()),
            Value::Bool(b) => MatchValue::Boolean(*b),
            Value::Number(n) => MatchValue::Integer(n.as_i64().context("match value: an integer")?),
            _ => bail!("match value {v} is not supported"),
        }
    } else if let Some(any) = m.get("any") {
        if let Some(s) = strings(any) {
            MatchValue::Keywords(pb::RepeatedStrings { strings: s })
        } else {
            MatchValue::Integers(pb::RepeatedIntegers {
                integers: ints(any).context("match any: strings or integers")?,
            })
        }
    } else if let Some(ex) = m.get("except") {
        if let Some(s) = strings(ex) {
            MatchValue::ExceptKeywords(pb::RepeatedStrings { strings: s })
        } else {
            MatchValue::ExceptIntegers(pb::RepeatedIntegers {
                integers: ints(ex).context("match except: strings or integers")?,
            })
        }
    } else if let Some(t) = m.get("text").and_then(Value::as_str) {
        MatchValue::Text(t.to_string())
    } else {
        bail!("match {m} is not supported over gRPC by bench run");
    };
    Ok(pb::Match {
        match_value: Some(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The proto filter, converted back by the server's own conversion,
    /// equals the JSON it came from (as the engine parses both).
    #[test]
    fn filters_round_trip_through_the_server_conversion() {
        let cases = [
            json!({"must": [{"key": "category", "match": {"value": "cat-01"}}]}),
            json!({"must": [{"key": "price", "range": {"lt": 20.44, "gte": 1.0}}]}),
            json!({"should": [{"key": "brand", "match": {"any": ["a", "b"]}}],
                   "must_not": [{"key": "n", "match": {"except": [1, 2]}}]}),
            json!({"must": [{"has_id": [1, 2, 3]}, {"must": [{"key": "ok", "match": {"value": true}}]}]}),
        ];
        for case in cases {
            let proto = filter_to_proto(&case).unwrap();
            let back = vicinity_server::grpc::convert::filter::filter_from_proto(proto).unwrap();
            let want = vicinity::Filter::from_json(case.clone()).unwrap();
            assert_eq!(back, want, "{case}");
        }
        assert!(filter_to_proto(&json!({"must": [{"key": "g", "geo_radius": {}}]})).is_err());
    }
}
