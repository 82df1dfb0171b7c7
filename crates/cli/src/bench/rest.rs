//! `bench run --target http://HOST:PORT`: the same measurements against a
//! server speaking Qdrant's REST API (port 6333: ours, Qdrant, Qdrant
//! Cloud), so the two protocols can be compared on one dataset.
//!
//! The requests are the ones Qdrant's clients send: `PUT /collections/{c}`,
//! `PUT .../index`, `PUT .../points?wait=true` in batches, `GET` the
//! collection until it reports green, then `POST .../points/search` with
//! `params.hnsw_ef` (the REST twin of the gRPC target's `Points/Search`).
//! Connections are kept alive and reused (one per request in flight), so a
//! latency is one HTTP/1.1 round trip plus JSON on both ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use hyper::Method;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::{Value, json};
use vicinity::Distance;
use vicinity_server::http_client::{HttpClient, Tls, Url};

use super::dataset::Dataset;
use super::remote::{TlsOptions, join_one, send_all};
use super::target::{BuildConfig, BuildReport, Target};

/// A REST server under measurement.
pub struct RestRemote {
    url: String,
    collection: String,
    batch_size: usize,
    upload_parallel: usize,
    runtime: tokio::runtime::Runtime,
    http: Arc<HttpClient>,
    filters: Vec<Value>,
}

impl RestRemote {
    /// Connects to `url`: `http://HOST:PORT` in plain text, `https://`
    /// over TLS (the system's roots, plus `tls.ca`).
    pub fn connect(
        url: &str,
        collection: &str,
        api_key: Option<String>,
        (batch_size, upload_parallel): (usize, usize),
        tls: &TlsOptions,
    ) -> Result<RestRemote> {
        ensure!(
            batch_size > 0 && upload_parallel > 0,
            "--batch-size and --upload-parallel must be positive"
        );
        let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            bail!("--target {url:?}: expected http://HOST:PORT or https://HOST:PORT");
        };
        let authority = rest.trim_end_matches('/');
        ensure!(
            !authority.is_empty() && !authority.contains('/'),
            "--target {url:?}: expected http://HOST:PORT (no path)"
        );
        match authority.rsplit_once(':') {
            Some((_, port)) if port.parse::<u16>().is_ok() => {}
            _ => bail!("--target {url:?}: the port is missing (6333 is Qdrant's REST port)"),
        }
        ensure!(
            secure || (tls.ca.is_none() && tls.domain.is_none()),
            "--tls-ca and --tls-domain need a grpcs:// or https:// target"
        );
        let tls = Tls {
            ca: tls.ca.clone(),
            domain: tls.domain.clone(),
        };
        let http = Arc::new(HttpClient::new(
            &Url::parse(url)?,
            api_key.as_deref(),
            &tls,
        )?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        // One round trip now, so that a wrong address fails here.
        runtime
            .block_on(http.call(Method::GET, "/", None))
            .with_context(|| format!("connecting to {url}"))?
            .result("GET /")?;
        Ok(RestRemote {
            url: url.to_string(),
            collection: collection.to_string(),
            batch_size,
            upload_parallel,
            runtime,
            http,
            filters: Vec::new(),
        })
    }

    fn path(&self, tail: &str) -> String {
        format!("/collections/{}{tail}", self.collection)
    }

    fn search_body(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<usize>,
        exact: bool,
    ) -> Vec<u8> {
        let mut body = json!({
            "vector": query,
            "limit": k,
            "params": {"hnsw_ef": ef, "exact": exact},
        });
        if let Some(f) = filter {
            body["filter"] = self.filters[f].clone();
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

fn distance_name(d: Distance) -> &'static str {
    match d {
        Distance::Cosine => "Cosine",
        Distance::Dot => "Dot",
        Distance::Euclid => "Euclid",
        Distance::Manhattan => "Manhattan",
    }
}

/// The ids of a search result, best first (numeric ids; anything else is
/// `u32::MAX`, which never matches the ground truth).
fn ids_of(result: &Value) -> Result<Vec<u32>> {
    let hits = result.as_array().context("a search result is a list")?;
    Ok(hits
        .iter()
        .map(|h| {
            h["id"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(u32::MAX)
        })
        .collect())
}

/// One point as the REST upsert takes it.
#[derive(Serialize)]
struct PointOut<'a> {
    id: usize,
    vector: &'a [f32],
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a vicinity::Payload>,
}

impl Target for RestRemote {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn build(
        &mut self,
        ds: &Dataset,
        cfg: &BuildConfig,
        progress: &ProgressBar,
    ) -> Result<BuildReport> {
        let http = self.http.clone();
        let path = self.path("");
        let batch_size = self.batch_size;
        let parallel = self.upload_parallel;
        progress.set_length(ds.n_base() as u64);
        let seconds = self.runtime.block_on(async {
            // A collection of that name from an earlier run goes first.
            http.call(Method::DELETE, &path, None).await?;
            let create = json!({
                "vectors": {"size": ds.dim, "distance": distance_name(ds.distance)},
                "hnsw_config": {
                    "m": cfg.m,
                    "ef_construct": cfg.ef_construct,
                    "full_scan_threshold": cfg.full_scan_threshold,
                },
            });
            http.json(Method::PUT, &path, Some(&create))
                .await
                .context("creating the collection")?;
            let start = Instant::now();
            if cfg.payload_index && ds.payloads.is_some() {
                for (key, t) in &ds.payload_schema {
                    let body = json!({"field_name": key, "field_schema": t});
                    http.json(Method::PUT, &format!("{path}/index?wait=true"), Some(&body))
                        .await
                        .with_context(|| format!("indexing {key}"))?;
                }
            }
            // Up to `parallel` batches in flight, as Qdrant's clients upload.
            let mut in_flight = tokio::task::JoinSet::new();
            for first in (0..ds.n_base()).step_by(batch_size) {
                let last = (first + batch_size).min(ds.n_base());
                let points: Vec<PointOut> = (first..last)
                    .map(|i| PointOut {
                        id: i,
                        vector: ds.base_row(i),
                        payload: ds.payloads.as_ref().map(|p| &p[i]),
                    })
                    .collect();
                let body = serde_json::to_vec(&json!({ "points": points }))?;
                while in_flight.len() >= parallel {
                    join_one(&mut in_flight, progress).await?;
                }
                let (http, path) = (http.clone(), format!("{path}/points?wait=true"));
                in_flight.spawn(async move {
                    http.call(Method::PUT, &path, Some(body))
                        .await?
                        .result(&format!("upserting points {first}..{last}"))?;
                    anyhow::Ok(last - first)
                });
            }
            while !in_flight.is_empty() {
                join_one(&mut in_flight, progress).await?;
            }
            // Servers that index in the background report green when done.
            loop {
                let info = http
                    .call(Method::GET, &path, None)
                    .await?
                    .result("collection info")?;
                match info["status"].as_str() {
                    Some("green") => break,
                    Some("red") => bail!("the server reports the collection red"),
                    _ => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            anyhow::Ok(start.elapsed().as_secs_f64())
        })?;
        Ok(BuildReport {
            seconds,
            note: "upload over REST (batches with wait=true) until the collection reports \
                   green; a server's disk and memory are not visible through the protocol"
                .into(),
            ..BuildReport::default()
        })
    }

    fn set_filters(&mut self, filters: &[Value]) -> Result<()> {
        // REST takes Qdrant's JSON filters as they are; the server judges them.
        self.filters = filters.to_vec();
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
        let body = self.search_body(query, k, ef, filter, exact);
        let result = self
            .runtime
            .block_on(
                self.http
                    .call(Method::POST, &self.path("/points/search"), Some(body)),
            )?
            .result("search")?;
        ids_of(&result)
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
        let bodies: Vec<Vec<u8>> = (0..ds.n_query())
            .map(|i| self.search_body(ds.query(i), k, ef, filter, false))
            .collect();
        let path = Arc::new(self.path("/points/search"));
        send_all(
            &self.runtime,
            bodies,
            threads,
            progress,
            self.http.clone(),
            move |http: Arc<HttpClient>, body| {
                let path = path.clone();
                async move {
                    http.call(Method::POST, &path, Some(body))
                        .await?
                        .result("search")?;
                    Ok(())
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let tls = TlsOptions::default();
        for bad in [
            "grpc://h:1",
            "http://",
            "http://h",
            "http://h:1/x",
            "ftp://h:1",
        ] {
            let e = RestRemote::connect(bad, "c", None, (1, 1), &tls);
            assert!(e.is_err(), "{bad}");
        }
        let e = RestRemote::connect("http://h:1", "c", None, (0, 1), &tls);
        assert!(format!("{:#}", e.err().unwrap()).contains("positive"));
    }

    #[test]
    fn search_results_become_ids() {
        let r = json!([{"id": 7, "score": 0.5}, {"id": "a-uuid", "score": 0.1}]);
        assert_eq!(ids_of(&r).unwrap(), vec![7, u32::MAX]);
        assert!(ids_of(&json!({"points": []})).is_err());
    }
}
