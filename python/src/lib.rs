//! `vicinity_db._native`: the Python package's native module.
//!
//! - `Server`: the server of `vicinity serve` (Qdrant's REST API and gRPC
//!   protocol) on threads of its own inside the Python process
//!   ([`vicinity_server::BackgroundServer`]).
//! - `Database` and `Collection`: the engine with a numpy API. Vectors come
//!   in as C-contiguous `float32` arrays, read in place; searches of a
//!   matrix of queries run in parallel; every engine call releases the GIL.
//! - `cli`: the `vicinity` command (the same code as the Rust binary).
//!
//! Payloads and filters cross as JSON (Python's `json` module on one side,
//! serde on the other), which keeps integers and floats apart as Qdrant
//! does. The Python side (`vicinity_db/__init__.py`) adds the official
//! client, context managers and the pytest plugin.

#![forbid(unsafe_code)]

use std::sync::Arc;

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;
use serde_json::Value;
use vicinity::{
    CollectionConfig, CollectionStatus, Distance, ErrorKind, FieldIndexParams, FieldType, Filter,
    HnswConfig, JsonPath, Payload, PayloadSelector, PointId, PointStruct, ScoredPoint,
    SearchRequest, VectorParams, VectorSelector, Vectors, WithSelectors,
};
use vicinity_server::{ApiKeys, BackgroundServer, ServerConfig, State};

create_exception!(
    _native,
    VicinityError,
    PyException,
    "An error of the Vicinity engine or server, with Qdrant's message."
);
create_exception!(
    _native,
    BadInputError,
    VicinityError,
    "The request is malformed or does not fit the collection."
);
create_exception!(
    _native,
    NotFoundError,
    VicinityError,
    "A collection or point does not exist."
);
create_exception!(
    _native,
    AlreadyExistsError,
    VicinityError,
    "A collection of that name exists already."
);

/// The Python exception of an engine error, with its message.
fn err(e: vicinity::Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::BadInput => BadInputError::new_err(msg),
        ErrorKind::NotFound => NotFoundError::new_err(msg),
        ErrorKind::AlreadyExists => AlreadyExistsError::new_err(msg),
        _ => VicinityError::new_err(msg),
    }
}

fn bad(msg: impl Into<String>) -> PyErr {
    BadInputError::new_err(msg.into())
}

// ---------------------------------------------------------------------------
// the server
// ---------------------------------------------------------------------------

/// The server of `vicinity serve` inside this process: Qdrant's REST API
/// and gRPC protocol on `host`, on free ports unless given, over an
/// in-memory database or the folder `path`.
#[pyclass(module = "vicinity_db._native")]
struct Server {
    inner: parking_lot::Mutex<Option<BackgroundServer>>,
    host: String,
    http_port: u16,
    grpc_port: u16,
}

#[pymethods]
impl Server {
    #[new]
    // one Rust argument per Python keyword argument of `Server(...)`
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (path=None, *, host="127.0.0.1", http_port=0, grpc_port=0, api_key=None, read_only_api_key=None, jwt_rbac=false))]
    fn new(
        py: Python<'_>,
        path: Option<std::path::PathBuf>,
        host: &str,
        http_port: u16,
        grpc_port: u16,
        api_key: Option<String>,
        read_only_api_key: Option<String>,
        jwt_rbac: bool,
    ) -> PyResult<Self> {
        let ip: std::net::IpAddr = host
            .parse()
            .map_err(|_| bad(format!("host {host:?} is not an IP address")))?;
        let config = ServerConfig {
            host: ip,
            grpc_port,
            http_port,
            keys: ApiKeys {
                api_key,
                read_only_api_key,
                jwt_rbac,
            },
            ..ServerConfig::default()
        };
        let server = py.detach(move || -> PyResult<BackgroundServer> {
            let db = match &path {
                Some(p) => vicinity::Database::open(p).map_err(err)?,
                None => vicinity::Database::new(),
            };
            BackgroundServer::start(config, State::with_database(db))
                .map_err(|e| VicinityError::new_err(e.to_string()))
        })?;
        Ok(Server {
            host: server.http_addr().ip().to_string(),
            http_port: server.http_addr().port(),
            grpc_port: server.grpc_addr().port(),
            inner: parking_lot::Mutex::new(Some(server)),
        })
    }

    /// The address both ports listen on.
    #[getter]
    fn host(&self) -> &str {
        &self.host
    }

    /// The REST port (Qdrant's 6333).
    #[getter]
    fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The gRPC port (Qdrant's 6334).
    #[getter]
    fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// Whether the server still serves.
    #[getter]
    fn running(&self) -> bool {
        self.inner.lock().is_some()
    }

    /// Deletes every collection and alias: a clean state for the next
    /// test, without a restart.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        let guard = self.inner.lock();
        let server = guard
            .as_ref()
            .ok_or_else(|| VicinityError::new_err("the server is stopped"))?;
        py.detach(|| server.reset());
        Ok(())
    }

    /// Stops serving (requests in flight finish) and flushes a folder's
    /// database. Stopping twice does nothing.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let server = self.inner.lock().take();
        match server {
            Some(s) => py
                .detach(move || s.stop())
                .map_err(|e| VicinityError::new_err(e.to_string())),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// the engine
// ---------------------------------------------------------------------------

/// JSON of a Python value: dicts, lists and scalars as they are; a pydantic
/// model (`qdrant_client.models.Filter`, say) as its JSON dump.
fn to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    let py = obj.py();
    let obj = if obj.hasattr("model_dump")? {
        let kwargs = PyDict::new(py);
        kwargs.set_item("mode", "json")?;
        kwargs.set_item("exclude_none", true)?;
        obj.call_method("model_dump", (), Some(&kwargs))?
    } else {
        obj.clone()
    };
    let text: String = py
        .import("json")?
        .call_method1("dumps", (obj,))?
        .extract()?;
    serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))
}

/// A Python object of a JSON value (through Python's `json` module).
fn from_json<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (v.to_string(),))
}

fn filter_of(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Filter>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => Filter::from_json(to_json(o)?)
            .map(Some)
            .map_err(|e| bad(format!("Wrong input: bad filter: {e}"))),
    }
}

/// Point ids from a numpy integer array, or a sequence of ints and UUID
/// strings.
fn ids_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<PointId>> {
    if let Ok(a) = obj.extract::<PyReadonlyArray1<'_, u64>>() {
        return Ok(a.as_array().iter().map(|&i| PointId::Num(i)).collect());
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray1<'_, i64>>() {
        return a
            .as_array()
            .iter()
            .map(|&i| {
                u64::try_from(i)
                    .map(PointId::Num)
                    .map_err(|_| bad(format!("point id {i} is negative")))
            })
            .collect();
    }
    let mut ids = Vec::new();
    for item in obj.try_iter()? {
        ids.push(id_of(&item?)?);
    }
    Ok(ids)
}

fn id_of(item: &Bound<'_, PyAny>) -> PyResult<PointId> {
    if let Ok(n) = item.extract::<u64>() {
        return Ok(PointId::Num(n));
    }
    if let Ok(s) = item.extract::<String>() {
        return s
            .parse()
            .map_err(|_| bad(format!("point id {s:?} is neither an integer nor a UUID")));
    }
    // uuid.UUID objects, and anything else that prints as a UUID
    let text: String = item.str()?.extract()?;
    text.parse().map_err(|_| {
        bad(format!(
            "point id {text:?} is neither an unsigned integer nor a UUID"
        ))
    })
}

fn id_to_py<'py>(py: Python<'py>, id: &PointId) -> PyResult<Bound<'py, PyAny>> {
    Ok(match id {
        PointId::Num(n) => n.into_pyobject(py)?.into_any(),
        PointId::Uuid(u) => u.to_string().into_pyobject(py)?.into_any(),
    })
}

fn distance_of(name: &str) -> PyResult<Distance> {
    match name.to_ascii_lowercase().as_str() {
        "cosine" | "cos" | "angular" => Ok(Distance::Cosine),
        "dot" | "ip" => Ok(Distance::Dot),
        "euclid" | "euclidean" | "l2" => Ok(Distance::Euclid),
        "manhattan" | "l1" => Ok(Distance::Manhattan),
        _ => Err(bad(format!(
            "unknown distance {name:?}: Cosine, Dot, Euclid or Manhattan"
        ))),
    }
}

/// Vicinity's engine in this process: collections in memory, or in the
/// folder `path` (durable: every acknowledged write survives a crash; one
/// process at a time).
#[pyclass(module = "vicinity_db._native")]
struct Database {
    db: parking_lot::RwLock<Option<Arc<vicinity::Database>>>,
}

impl Database {
    fn get(&self) -> PyResult<Arc<vicinity::Database>> {
        self.db
            .read()
            .clone()
            .ok_or_else(|| VicinityError::new_err("the database is closed"))
    }
}

#[pymethods]
impl Database {
    #[new]
    #[pyo3(signature = (path=None))]
    fn new(py: Python<'_>, path: Option<std::path::PathBuf>) -> PyResult<Self> {
        let db = py.detach(|| match &path {
            Some(p) => vicinity::Database::open(p),
            None => Ok(vicinity::Database::new()),
        });
        Ok(Database {
            db: parking_lot::RwLock::new(Some(Arc::new(db.map_err(err)?))),
        })
    }

    /// Creates a collection of `dim`-dimensional vectors.
    #[pyo3(signature = (name, dim, distance="Cosine", *, m=None, ef_construct=None, full_scan_threshold=None, on_disk=false))]
    #[allow(clippy::too_many_arguments)]
    fn create_collection(
        &self,
        py: Python<'_>,
        name: &str,
        dim: usize,
        distance: &str,
        m: Option<usize>,
        ef_construct: Option<usize>,
        full_scan_threshold: Option<usize>,
        on_disk: bool,
    ) -> PyResult<Collection> {
        let mut hnsw = HnswConfig::default();
        if let Some(m) = m {
            hnsw.m = m;
        }
        if let Some(e) = ef_construct {
            hnsw.ef_construct = e;
        }
        if let Some(t) = full_scan_threshold {
            hnsw.full_scan_threshold = t;
        }
        let params = VectorParams::new(dim, distance_of(distance)?).with_on_disk(on_disk);
        let config = CollectionConfig::named([(vicinity::DEFAULT_VECTOR, params)]).with_hnsw(hnsw);
        let db = self.get()?;
        let c = py
            .detach(|| db.create_collection(name, config))
            .map_err(err)?;
        Ok(Collection { c })
    }

    /// The collection `name` (or alias).
    fn collection(&self, name: &str) -> PyResult<Collection> {
        let c = self.get()?.collection(name).map_err(err)?;
        Ok(Collection { c })
    }

    /// Whether a collection (or alias) of that name exists.
    fn collection_exists(&self, name: &str) -> PyResult<bool> {
        Ok(self.get()?.collection_exists(name))
    }

    /// The names of the collections.
    fn list_collections(&self) -> PyResult<Vec<String>> {
        Ok(self.get()?.list_collections())
    }

    /// Deletes a collection; whether it existed.
    fn delete_collection(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        let db = self.get()?;
        Ok(py.detach(|| db.delete_collection(name)))
    }

    /// Makes every acknowledged write durable now (a folder's database).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.get()?;
        py.detach(|| db.flush()).map_err(err)
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Closes the database at the end of a `with` block.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    /// Flushes, checkpoints (so the next open reads files instead of
    /// replaying the log) and lets the folder go. Collections taken from
    /// this database keep working in memory until they are dropped.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db.write().take();
        if let Some(db) = db {
            py.detach(|| {
                db.flush()?;
                db.checkpoint_all()
            })
            .map_err(err)?;
        }
        Ok(())
    }
}

/// One collection: points with one vector each and a JSON payload.
#[pyclass(module = "vicinity_db._native")]
struct Collection {
    c: Arc<vicinity::Collection>,
}

/// `obj` as a C-contiguous float32 numpy array: itself when it is one
/// already (no copy), else numpy's conversion (lists, float64 arrays).
fn f32_array<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", "float32")?;
    py.import("numpy")?
        .call_method("ascontiguousarray", (obj,), Some(&kwargs))
}

/// Rows of a 2-D float32 array, checked against the collection's
/// dimension.
fn rows<'a>(arr: &'a PyReadonlyArray2<'_, f32>, dim: usize) -> PyResult<&'a [f32]> {
    let shape = arr.as_array().shape().to_vec();
    if shape[1] != dim {
        return Err(bad(format!(
            "Wrong input: Vector dimension error: expected dim: {dim}, got {}",
            shape[1]
        )));
    }
    arr.as_slice()
        .map_err(|_| bad("vectors must be a C-contiguous array"))
}

impl Collection {
    fn dim(&self) -> usize {
        self.c.config().vectors[vicinity::DEFAULT_VECTOR].size
    }
}

#[pymethods]
impl Collection {
    /// The collection's name.
    #[getter]
    fn name(&self) -> String {
        self.c.name().to_string()
    }

    /// The vectors' dimension.
    #[getter(dim)]
    fn dim_py(&self) -> usize {
        self.dim()
    }

    /// Live points.
    fn __len__(&self) -> usize {
        self.c.count()
    }

    /// Inserts or replaces points: `ids` (ints, UUID strings, or a numpy
    /// integer array), `vectors` an array of shape `(len(ids), dim)` (read
    /// in place when it is C-contiguous float32, else converted once), `payloads` a list of dicts (or None) of the same
    /// length. `wait`: return after the log is fsynced (else after it is
    /// written).
    #[pyo3(signature = (ids, vectors, payloads=None, *, wait=true))]
    fn upsert(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        vectors: &Bound<'_, PyAny>,
        payloads: Option<&Bound<'_, PyAny>>,
        wait: bool,
    ) -> PyResult<()> {
        let ids = ids_of(ids)?;
        let dim = self.dim();
        let vectors = f32_array(vectors)?;
        let vectors: PyReadonlyArray2<'_, f32> = vectors
            .extract()
            .map_err(|_| bad("vectors must be a 2-D array of shape (len(ids), dim)"))?;
        let data = rows(&vectors, dim)?;
        if data.len() != ids.len() * dim {
            return Err(bad(format!(
                "{} ids and {} vectors",
                ids.len(),
                data.len() / dim.max(1)
            )));
        }
        let payloads: Vec<Option<Payload>> = match payloads {
            None => Vec::new(),
            Some(p) if p.is_none() => Vec::new(),
            Some(p) => {
                let Value::Array(list) = to_json(p)? else {
                    return Err(bad("payloads must be a list of dicts"));
                };
                if list.len() != ids.len() {
                    return Err(bad(format!(
                        "{} ids and {} payloads",
                        ids.len(),
                        list.len()
                    )));
                }
                list.into_iter()
                    .map(|v| match v {
                        Value::Null => Ok(None),
                        v => Payload::try_from(v)
                            .map(Some)
                            .map_err(|e| bad(format!("Wrong input: {e}"))),
                    })
                    .collect::<PyResult<_>>()?
            }
        };
        let c = &self.c;
        py.detach(|| {
            // each payload moves into its point (none given: no payloads)
            let payloads = payloads.into_iter().chain(std::iter::repeat(None));
            let points = ids
                .into_iter()
                .zip(data.chunks_exact(dim.max(1)))
                .zip(payloads)
                .map(|((id, row), payload)| PointStruct {
                    id,
                    vectors: Vectors::Single(row.to_vec()),
                    payload,
                })
                .collect();
            c.update(vicinity::UpdateOperation::Upsert(points), wait)
        })
        .map_err(err)?;
        Ok(())
    }

    /// The `limit` nearest points to each query: a 1-D array gives
    /// `(ids, scores)` of the hits, best first; a 2-D array of queries
    /// gives arrays of shape `(n, limit)`, padded with id -1 and score NaN
    /// where fewer points match (ids come back as Python objects if a UUID
    /// or an id above 2**63 is among them). Queries of a matrix run in
    /// parallel. `filter`: Qdrant's filter as a dict or a
    /// `qdrant_client.models.Filter`; `ef`: the HNSW beam width; `exact`:
    /// score every point.
    #[pyo3(signature = (query, limit=10, *, filter=None, ef=None, exact=false, score_threshold=None))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
        limit: usize,
        filter: Option<&Bound<'py, PyAny>>,
        ef: Option<usize>,
        exact: bool,
        score_threshold: Option<f32>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let filter = filter_of(filter)?;
        let dim = self.dim();
        let request = |v: &[f32]| {
            let mut r = SearchRequest::new(v.to_vec(), limit);
            r.filter = filter.clone();
            r.params.hnsw_ef = ef;
            r.params.exact = exact;
            r.score_threshold = score_threshold;
            r
        };
        let c = &self.c;
        // a contiguous float32 array as it is; anything else converted once
        let query = match query.extract::<PyReadonlyArray1<'_, f32>>() {
            Ok(one) if one.is_c_contiguous() => query.clone(),
            _ => f32_array(query)?,
        };
        if let Ok(one) = query.extract::<PyReadonlyArray1<'_, f32>>() {
            let v = one
                .as_slice()
                .map_err(|_| bad("the query must be a contiguous array"))?;
            if v.len() != dim {
                return Err(bad(format!(
                    "Wrong input: Vector dimension error: expected dim: {dim}, got {}",
                    v.len()
                )));
            }
            let req = request(v);
            let hits = py.detach(|| c.search(&req)).map_err(err)?;
            return one_hit_arrays(py, &hits);
        }
        let many: PyReadonlyArray2<'_, f32> = query
            .extract()
            .map_err(|_| bad("the query must be an array of shape (dim,) or (n, dim)"))?;
        let data = rows(&many, dim)?;
        let n = data.len() / dim.max(1);
        let results: Vec<Vec<ScoredPoint>> = py
            .detach(|| {
                (0..n)
                    .into_par_iter()
                    .map(|i| c.search(&request(&data[i * dim..(i + 1) * dim])))
                    .collect::<vicinity::Result<Vec<_>>>()
            })
            .map_err(err)?;
        hit_arrays(py, &results, limit)
    }

    /// Points by id, in the order asked (missing ids are left out): dicts
    /// with `id`, `payload` and, with `with_vectors`, `vector`.
    #[pyo3(signature = (ids, *, with_payload=true, with_vectors=false))]
    fn retrieve<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
        with_payload: bool,
        with_vectors: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let ids = ids_of(ids)?;
        let with = WithSelectors {
            payload: if with_payload {
                PayloadSelector::All
            } else {
                PayloadSelector::None
            },
            vectors: if with_vectors {
                VectorSelector::All
            } else {
                VectorSelector::None
            },
        };
        let c = &self.c;
        let records = py.detach(|| c.get(&ids, &with)).map_err(err)?;
        let out = PyList::empty(py);
        for r in records {
            let d = PyDict::new(py);
            d.set_item("id", id_to_py(py, &r.id)?)?;
            if with_payload {
                let p = r.payload.unwrap_or_default().into_value();
                d.set_item("payload", from_json(py, &p)?)?;
            }
            if with_vectors {
                let v = match r.vectors {
                    Some(Vectors::Single(v)) => Some(v),
                    Some(Vectors::Named(mut m)) => {
                        m.remove(vicinity::DEFAULT_VECTOR).and_then(|v| match v {
                            vicinity::Vector::Dense(d) => Some(d),
                            // this API reads the unnamed dense vector only
                            vicinity::Vector::Sparse(_) | vicinity::Vector::Multi(_) => None,
                        })
                    }
                    None => None,
                };
                match v {
                    Some(v) => d.set_item("vector", v.into_pyarray(py))?,
                    None => d.set_item("vector", py.None())?,
                }
            }
            out.append(d)?;
        }
        Ok(out)
    }

    /// Deletes points by id, or those passing `filter`.
    #[pyo3(signature = (ids=None, *, filter=None))]
    fn delete(
        &self,
        py: Python<'_>,
        ids: Option<&Bound<'_, PyAny>>,
        filter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let filter = filter_of(filter)?;
        let c = &self.c;
        match (ids, filter) {
            (Some(ids), None) => {
                let ids = ids_of(ids)?;
                py.detach(|| c.delete(&ids[..])).map_err(err)?;
            }
            (None, Some(f)) => {
                py.detach(|| c.delete(&f)).map_err(err)?;
            }
            _ => return Err(bad("delete takes ids or a filter, not both")),
        }
        Ok(())
    }

    /// Points passing `filter` (all live points without one).
    #[pyo3(signature = (filter=None))]
    fn count(&self, py: Python<'_>, filter: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let filter = filter_of(filter)?;
        let c = &self.c;
        Ok(py.detach(|| match &filter {
            Some(f) => c.count_where(f),
            None => c.count(),
        }))
    }

    /// Indexes a payload key (`keyword`, `integer`, `float`, `bool`,
    /// `datetime`, `uuid`, `geo` or `text`), so that filters on it are
    /// answered from the index.
    fn create_payload_index(&self, py: Python<'_>, field: &str, schema: &str) -> PyResult<()> {
        let key: JsonPath = field
            .parse()
            .map_err(|e| bad(format!("Wrong input: bad key {field:?}: {e}")))?;
        let t: FieldType = serde_json::from_value(Value::String(schema.to_ascii_lowercase()))
            .map_err(|_| bad(format!("unknown payload index type {schema:?}")))?;
        let c = &self.c;
        py.detach(|| c.create_field_index(&key, FieldIndexParams::new(t)))
            .map_err(err)?;
        Ok(())
    }

    /// Waits until every point is in the HNSW graph (writes return before
    /// that; searches are exact over what waits, so this changes speed,
    /// not answers).
    fn finish_indexing(&self, py: Python<'_>) {
        let c = &self.c;
        py.detach(|| c.finish_indexing());
    }

    /// Compacts deleted rows and renumbers rows for locality now.
    fn optimize(&self, py: Python<'_>) -> PyResult<()> {
        let c = &self.c;
        py.detach(|| c.optimize()).map_err(err)
    }

    /// Figures: `status` (`green` or `yellow`), `points_count`,
    /// `indexed_vectors_count`, `memory_bytes`.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.c;
        let info = py.detach(|| c.info());
        let d = PyDict::new(py);
        let status = match info.status {
            CollectionStatus::Green => "green",
            CollectionStatus::Yellow => "yellow",
        };
        d.set_item("status", status)?;
        d.set_item("points_count", info.points_count)?;
        d.set_item("indexed_vectors_count", info.indexed_vectors_count)?;
        d.set_item("memory_bytes", info.memory_bytes)?;
        Ok(d)
    }
}

/// A numeric id that fits an int64 array.
fn id_i64(id: &PointId) -> Option<i64> {
    match id {
        PointId::Num(x) => i64::try_from(*x).ok(),
        PointId::Uuid(_) => None,
    }
}

/// A numpy object array of a (nested) list of ids.
fn object_array<'py>(list: Bound<'py, PyList>) -> PyResult<Bound<'py, PyAny>> {
    list.py()
        .import("numpy")?
        .call_method1("array", (list, "object"))
}

/// `(ids, scores)` of one query's hits as 1-D arrays (ids as Python
/// objects if one does not fit an int64).
fn one_hit_arrays<'py>(
    py: Python<'py>,
    hits: &[ScoredPoint],
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let scores: Vec<f32> = hits.iter().map(|h| h.score).collect();
    let numeric: Option<Vec<i64>> = hits.iter().map(|h| id_i64(&h.id)).collect();
    let ids = match numeric {
        Some(ids) => ids.into_pyarray(py).into_any(),
        None => {
            let list = PyList::empty(py);
            for h in hits {
                list.append(id_to_py(py, &h.id)?)?;
            }
            object_array(list)?
        }
    };
    Ok((ids, scores.into_pyarray(py).into_any()))
}

/// `(ids, scores)` arrays of shape `(results.len(), width)`: int64 ids and
/// float32 scores, padded with -1 and NaN; ids as Python objects (None
/// padding) when one does not fit an int64.
fn hit_arrays<'py>(
    py: Python<'py>,
    results: &[Vec<ScoredPoint>],
    width: usize,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let n = results.len();
    let mut scores = vec![f32::NAN; n * width];
    let mut ids = vec![-1i64; n * width];
    let mut numeric = true;
    for (i, hits) in results.iter().enumerate() {
        for (j, h) in hits.iter().take(width).enumerate() {
            scores[i * width + j] = h.score;
            match id_i64(&h.id) {
                Some(x) => ids[i * width + j] = x,
                None => numeric = false,
            }
        }
    }
    let scores = Array2::from_shape_vec((n, width), scores)
        .map_err(|e| VicinityError::new_err(e.to_string()))?
        .into_pyarray(py)
        .into_any();
    let ids = if numeric {
        Array2::from_shape_vec((n, width), ids)
            .map_err(|e| VicinityError::new_err(e.to_string()))?
            .into_pyarray(py)
            .into_any()
    } else {
        let rows = PyList::empty(py);
        for hits in results {
            let row = PyList::empty(py);
            for j in 0..width {
                match hits.get(j) {
                    Some(h) => row.append(id_to_py(py, &h.id)?)?,
                    None => row.append(py.None())?,
                }
            }
            rows.append(row)?;
        }
        object_array(rows)?
    };
    Ok((ids, scores))
}

// ---------------------------------------------------------------------------
// the command
// ---------------------------------------------------------------------------

/// Runs the `vicinity` command with `args` (the program name first), as
/// the Rust binary does; the GIL is released while it runs.
#[pyfunction]
fn cli(py: Python<'_>, args: Vec<String>) -> PyResult<()> {
    py.detach(|| vicinity_cli::main_from(args))
        .map_err(|e| VicinityError::new_err(format!("{e:#}")))
}

/// The version of the engine (the workspace's).
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Server>()?;
    m.add_class::<Database>()?;
    m.add_class::<Collection>()?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add("VicinityError", py.get_type::<VicinityError>())?;
    m.add("BadInputError", py.get_type::<BadInputError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("AlreadyExistsError", py.get_type::<AlreadyExistsError>())?;
    Ok(())
}
