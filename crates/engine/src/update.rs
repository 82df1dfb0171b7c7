//! Every write goes through one path: validate, take the writer lock,
//! number the operation, append it to the write-ahead log (fsynced when
//! the caller waits), apply it in memory. Replaying the log on open runs
//! the same `apply`.
//!
//! Group commit: a `wait = true` write on a durable collection queues
//! itself, then takes the writer lock. Whoever holds the lock next logs
//! every queued write, fsyncs once for all of them, applies them in order
//! and hands each its result; a writer that finds its result ready returns
//! it. So concurrent small writes share one fsync instead of queueing one
//! fsync each, and every write is still synced before it is applied and
//! acknowledged.

use serde::{Deserialize, Serialize};
use vicinity_payload::{FieldIndex, FieldIndexParams, Filter, JsonPath, Payload, PointId};

use crate::segment::{NewRow, RowMeta, Segment};
use crate::{Collection, Error, PointSelector, PointStruct, Result, UpdateResult, Vectors};

/// Which points an operation applies to (owned, for the log).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointsSelector {
    /// These ids.
    Ids(Vec<PointId>),
    /// The points passing the filter when the operation applies.
    Filter(Filter),
}

impl From<PointSelector<'_>> for PointsSelector {
    fn from(s: PointSelector<'_>) -> Self {
        match s {
            PointSelector::Ids(ids) => PointsSelector::Ids(ids.to_vec()),
            PointSelector::Filter(f) => PointsSelector::Filter(f.clone()),
        }
    }
}

/// A write, as the log records it and as `UpdateBatch` sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateOperation {
    /// Insert or replace whole points.
    Upsert(Vec<PointStruct>),
    /// Delete points.
    Delete(PointsSelector),
    /// Set payload keys (inside `key` when given).
    SetPayload {
        /// The points.
        points: PointsSelector,
        /// The keys and values.
        payload: Payload,
        /// Where inside the payload.
        key: Option<JsonPath>,
    },
    /// Replace payloads.
    OverwritePayload {
        /// The points.
        points: PointsSelector,
        /// The new payload.
        payload: Payload,
    },
    /// Remove payload keys.
    DeletePayload {
        /// The points.
        points: PointsSelector,
        /// The paths to remove.
        keys: Vec<JsonPath>,
    },
    /// Empty payloads.
    ClearPayload(PointsSelector),
    /// Replace some vectors of existing points.
    UpdateVectors(Vec<(PointId, Vectors)>),
    /// Remove vectors of these names from existing points.
    DeleteVectors {
        /// The points.
        ids: Vec<PointId>,
        /// The vector names.
        names: Vec<String>,
    },
    /// Create (or replace) a payload index.
    CreateFieldIndex {
        /// The key.
        key: JsonPath,
        /// Its type and options.
        params: FieldIndexParams,
    },
    /// Drop a payload index.
    DeleteFieldIndex(JsonPath),
}

/// Vector names to set (`Some`) or remove (`None`) on one point.
type VectorChanges<'a> = Vec<(&'a str, Option<&'a [f32]>)>;

impl Collection {
    /// Applies one write: validated first (a bad request writes nothing),
    /// then logged (and, with `wait`, fsynced before it is applied and
    /// acknowledged) for durable collections, then applied. Reads that
    /// start after this returns see it.
    pub fn update(&self, op: UpdateOperation, wait: bool) -> Result<UpdateResult> {
        self.validate_op(&op)?;
        if wait && self.is_durable() {
            return self.group_commit(op);
        }
        let mut guard = self.writer.lock();
        let w = &mut *guard;
        let seq = w.next_seq;
        if let Some(wal) = w.wal.as_mut() {
            let body = serde_json::to_vec(&op)
                .map_err(|e| Error::BadRequest(format!("cannot encode the operation: {e}")))?;
            wal.append(seq, &body)?;
            w.logged_bytes += body.len() as u64;
            if wait {
                wal.sync()?;
            }
        }
        w.next_seq += 1;
        let applied = self.apply(&op, seq);
        if let Some(kept) = w.catch_up.as_mut() {
            kept.push((op, seq));
        }
        drop(guard);
        self.index_in_background();
        applied.map(|()| Self::done(seq))
    }

    /// A `wait = true` write through the group commit (see the module
    /// docs).
    fn group_commit(&self, op: UpdateOperation) -> Result<UpdateResult> {
        let done = std::sync::Arc::new(parking_lot::Mutex::new(None));
        self.commits.lock().push(crate::collection::Pending {
            op,
            done: std::sync::Arc::clone(&done),
        });
        let mut w = self.writer.lock();
        if let Some(result) = done.lock().take() {
            return result;
        }
        // Ours is still queued, so we lead: take the whole queue.
        let batch = std::mem::take(&mut *self.commits.lock());
        let mut logged = Vec::with_capacity(batch.len());
        for p in batch {
            let seq = w.next_seq;
            let appended = match (w.wal.as_mut(), serde_json::to_vec(&p.op)) {
                (Some(wal), Ok(body)) => {
                    let r = wal.append(seq, &body).map_err(Error::from);
                    w.logged_bytes += body.len() as u64;
                    r
                }
                (None, Ok(_)) => Ok(()),
                (_, Err(e)) => Err(Error::BadRequest(format!(
                    "cannot encode the operation: {e}"
                ))),
            };
            match appended {
                Ok(()) => {
                    w.next_seq += 1;
                    logged.push((p, seq));
                }
                Err(e) => *p.done.lock() = Some(Err(e)),
            }
        }
        let synced = match w.wal.as_mut() {
            Some(wal) => wal.sync().map_err(|e| e.to_string()),
            None => Ok(()),
        };
        for (p, seq) in logged {
            let result = match &synced {
                Ok(()) => {
                    let r = self.apply(&p.op, seq).map(|()| Self::done(seq));
                    if let Some(kept) = w.catch_up.as_mut() {
                        kept.push((p.op, seq));
                    }
                    r
                }
                Err(reason) => Err(Error::Storage(vicinity_storage::StorageError::Io {
                    path: "wal".into(),
                    source: std::io::Error::other(format!("fsync failed: {reason}")),
                })),
            };
            *p.done.lock() = Some(result);
        }
        drop(w);
        self.index_in_background();
        let result = done.lock().take();
        result.expect("the leader's own write is in its batch")
    }

    pub(crate) fn validate_op(&self, op: &UpdateOperation) -> Result<()> {
        match op {
            UpdateOperation::Upsert(points) => points
                .iter()
                .try_for_each(|p| self.validate_vectors(&p.vectors)),
            UpdateOperation::UpdateVectors(points) => points
                .iter()
                .try_for_each(|(_, v)| self.validate_vectors(v)),
            UpdateOperation::DeleteVectors { names, .. } => names.iter().try_for_each(|name| {
                if self.config().vectors.contains_key(name) {
                    Ok(())
                } else {
                    Err(Error::UnknownVector { name: name.clone() })
                }
            }),
            _ => Ok(()),
        }
    }

    /// Applies a (validated or logged) operation numbered `seq` to the
    /// current segment. The caller holds the writer lock.
    pub(crate) fn apply(&self, op: &UpdateOperation, seq: u64) -> Result<()> {
        apply_to(&self.segment(), self.pool.as_deref(), op, seq)
    }

    /// Inserts points, or replaces them whole (vectors and payload) when
    /// their ids exist. The batch is validated before anything is written:
    /// one bad point rejects the whole batch. When an id appears twice, the
    /// last one wins. Durable collections fsync the log before returning.
    pub fn upsert(&self, points: Vec<PointStruct>) -> Result<UpdateResult> {
        self.update(UpdateOperation::Upsert(points), true)
    }

    /// Deletes points by id (ids that do not exist are ignored) or by
    /// filter.
    pub fn delete<'a>(&self, points: impl Into<PointSelector<'a>>) -> Result<UpdateResult> {
        self.update(UpdateOperation::Delete(points.into().into()), true)
    }

    /// Sets the keys of `payload` on each selected point, keeping its other
    /// keys; with `key`, inside the object(s) that path reaches. Ids that do
    /// not exist: the others are updated, then `NotFound`, as in Qdrant.
    pub fn set_payload<'a>(
        &self,
        points: impl Into<PointSelector<'a>>,
        payload: &Payload,
        key: Option<&JsonPath>,
    ) -> Result<UpdateResult> {
        let op = UpdateOperation::SetPayload {
            points: points.into().into(),
            payload: payload.clone(),
            key: key.cloned(),
        };
        self.update(op, true)
    }

    /// Replaces each selected point's payload with `payload`.
    pub fn overwrite_payload<'a>(
        &self,
        points: impl Into<PointSelector<'a>>,
        payload: &Payload,
    ) -> Result<UpdateResult> {
        let op = UpdateOperation::OverwritePayload {
            points: points.into().into(),
            payload: payload.clone(),
        };
        self.update(op, true)
    }

    /// Removes the values these paths reach from each selected point's
    /// payload.
    pub fn delete_payload<'a>(
        &self,
        points: impl Into<PointSelector<'a>>,
        keys: &[JsonPath],
    ) -> Result<UpdateResult> {
        let op = UpdateOperation::DeletePayload {
            points: points.into().into(),
            keys: keys.to_vec(),
        };
        self.update(op, true)
    }

    /// Empties each selected point's payload.
    pub fn clear_payload<'a>(&self, points: impl Into<PointSelector<'a>>) -> Result<UpdateResult> {
        self.update(UpdateOperation::ClearPayload(points.into().into()), true)
    }

    /// Replaces the given vectors of existing points, keeping their other
    /// vectors and their payload.
    pub fn update_vectors(&self, points: &[(PointId, Vectors)]) -> Result<UpdateResult> {
        self.update(UpdateOperation::UpdateVectors(points.to_vec()), true)
    }

    /// Removes vectors of these names from existing points.
    pub fn delete_vectors(&self, ids: &[PointId], names: &[String]) -> Result<UpdateResult> {
        let op = UpdateOperation::DeleteVectors {
            ids: ids.to_vec(),
            names: names.to_vec(),
        };
        self.update(op, true)
    }

    /// Creates (or replaces) a payload index on `key` and indexes every
    /// point. Indexes make filters on the key faster; `order_by` needs an
    /// integer, float or datetime index and `facet` a keyword, integer,
    /// bool or uuid one.
    pub fn create_field_index(
        &self,
        key: &JsonPath,
        params: FieldIndexParams,
    ) -> Result<UpdateResult> {
        self.update(
            UpdateOperation::CreateFieldIndex {
                key: key.clone(),
                params,
            },
            true,
        )
    }

    /// Drops the payload index on `key`, if any.
    pub fn delete_field_index(&self, key: &JsonPath) -> Result<UpdateResult> {
        self.update(UpdateOperation::DeleteFieldIndex(key.clone()), true)
    }
}

/// Applies a (validated or logged) operation numbered `seq` to `segment`,
/// parallel work on `pool`: the same code for a live write, a log replay
/// and the catch-up of a vacuumed copy (see the `vacuum` module), so all
/// three reach the same state. The caller holds the writer lock.
pub(crate) fn apply_to(
    segment: &Segment,
    pool: Option<&rayon::ThreadPool>,
    op: &UpdateOperation,
    seq: u64,
) -> Result<()> {
    match op {
        UpdateOperation::Upsert(points) => {
            let rows = points
                .iter()
                .map(|p| NewRow {
                    vectors: segment
                        .columns
                        .iter()
                        .map(|c| p.vectors.get(&c.name))
                        .collect(),
                    preprocessed: false,
                    meta: RowMeta {
                        id: p.id,
                        version: seq,
                        payload: p.payload.clone().unwrap_or_default(),
                    },
                })
                .collect();
            in_pool(pool, || segment.append(rows))
        }
        UpdateOperation::Delete(points) => {
            let ids = selected(segment, points);
            segment.delete(&ids);
            Ok(())
        }
        UpdateOperation::SetPayload {
            points,
            payload,
            key,
        } => update_payloads(segment, points, seq, |p| match key {
            Some(path) => p.merge_at(path, payload),
            None => p.merge(payload),
        }),
        UpdateOperation::OverwritePayload { points, payload } => {
            update_payloads(segment, points, seq, |p| *p = payload.clone())
        }
        UpdateOperation::DeletePayload { points, keys } => {
            update_payloads(segment, points, seq, |p| {
                for k in keys {
                    p.remove(k);
                }
            })
        }
        UpdateOperation::ClearPayload(points) => {
            update_payloads(segment, points, seq, |p| *p = Payload::new())
        }
        UpdateOperation::UpdateVectors(points) => {
            let changes: Vec<_> = points
                .iter()
                .map(|(id, v)| (*id, v.iter().map(|(n, x)| (n, Some(x))).collect()))
                .collect();
            rewrite_vectors(segment, pool, &changes, seq)
        }
        UpdateOperation::DeleteVectors { ids, names } => {
            let changes: Vec<_> = ids
                .iter()
                .map(|id| (*id, names.iter().map(|n| (n.as_str(), None)).collect()))
                .collect();
            rewrite_vectors(segment, pool, &changes, seq)
        }
        UpdateOperation::CreateFieldIndex { key, params } => {
            let mut table = segment.table.write();
            let mut index = FieldIndex::new(key.clone(), params.clone());
            for &row in table.ids.values() {
                index.add(row.0, table.rows[row.index()].payload.as_map());
            }
            table.indexes.insert(key.to_string(), index);
            Ok(())
        }
        UpdateOperation::DeleteFieldIndex(key) => {
            segment.table.write().indexes.remove(&key.to_string());
            Ok(())
        }
    }
}

/// Rewrites points with some vectors changed: for each id, the names to
/// set (`Some`) or remove (`None`); other vectors and the payload are
/// kept. Every id must exist; nothing is written otherwise.
fn rewrite_vectors(
    segment: &Segment,
    pool: Option<&rayon::ThreadPool>,
    changes: &[(PointId, VectorChanges<'_>)],
    seq: u64,
) -> Result<()> {
    let mut owned: Vec<(RowMeta, Vec<Option<Vec<f32>>>)> = Vec::with_capacity(changes.len());
    {
        let table = segment.table.read();
        for (id, change) in changes {
            let row = *table.ids.get(id).ok_or(Error::PointNotFound { id: *id })?;
            let vectors = segment
                .columns
                .iter()
                .enumerate()
                .map(
                    |(c, col)| match change.iter().find(|(n, _)| *n == col.name) {
                        Some((_, new)) => new.map(|v| {
                            let mut v = v.to_vec();
                            col.store.distance().preprocess(&mut v);
                            v
                        }),
                        None if segment.has_vector(c, row) => {
                            col.store.get(row).map(<[f32]>::to_vec)
                        }
                        None => None,
                    },
                )
                .collect();
            let meta = RowMeta {
                id: *id,
                version: seq,
                payload: table.rows[row.index()].payload.clone(),
            };
            owned.push((meta, vectors));
        }
    }
    let rows = owned
        .iter()
        .map(|(meta, vectors)| NewRow::stored(meta, vectors))
        .collect();
    in_pool(pool, || segment.append(rows))
}

/// Runs `f` on `pool` if given, else here.
fn in_pool<R: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// The ids a selector picks now: ids as given, or the points passing a
/// filter.
fn selected(segment: &Segment, points: &PointsSelector) -> Vec<PointId> {
    match points {
        PointsSelector::Ids(ids) => ids.clone(),
        PointsSelector::Filter(f) => {
            let table = segment.table.read();
            table.matching(segment, Some(f)).map(|(id, _)| id).collect()
        }
    }
}

/// Applies `f` to the payload of each selected point under the table's
/// write lock, as Qdrant does: to every point that exists, and then an
/// error naming the first id that does not.
fn update_payloads(
    segment: &Segment,
    points: &PointsSelector,
    seq: u64,
    mut f: impl FnMut(&mut Payload),
) -> Result<()> {
    let ids = selected(segment, points);
    let mut missing = None;
    {
        let mut table = segment.table.write();
        for id in &ids {
            match table.ids.get(id).copied() {
                Some(row) => {
                    let mut payload = std::mem::take(&mut table.rows[row.index()].payload);
                    table.index_row(row, &payload, false);
                    f(&mut payload);
                    table.index_row(row, &payload, true);
                    let meta = &mut table.rows[row.index()];
                    meta.payload = payload;
                    meta.version = seq;
                }
                None => {
                    missing.get_or_insert(*id);
                }
            }
        }
    }
    match missing {
        Some(id) => Err(Error::PointNotFound { id }),
        None => Ok(()),
    }
}
