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

use crate::segment::{NewRow, RowMeta, Segment, StoredVectors};
use crate::{
    Collection, Error, PointSelector, PointStruct, Result, SparseVector, UpdateResult, VectorRef,
    Vectors,
};

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
    /// A conditional upsert (Qdrant's `update_filter` and `update_mode`):
    /// the points that `mode` and `filter` leave out are skipped, judged
    /// against the collection when the operation applies.
    UpsertWhere {
        /// The points.
        points: Vec<PointStruct>,
        /// Existing points are replaced only if they pass it.
        filter: Option<Filter>,
        /// Which points may be inserted and which replaced.
        mode: UpdateMode,
    },
    /// A conditional vector update (Qdrant's `update_filter`): points
    /// that exist and fail the filter are skipped.
    UpdateVectorsWhere {
        /// The points and their new vectors.
        points: Vec<(PointId, Vectors)>,
        /// The condition.
        filter: Filter,
    },
}

/// Which points a conditional upsert may write (Qdrant's `update_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    /// Insert new points; replace existing ones (that pass the filter).
    #[default]
    Upsert,
    /// Insert new points only; existing ones are left as they are.
    InsertOnly,
    /// Replace existing points (that pass the filter) only; new ids are
    /// not inserted.
    UpdateOnly,
}

/// Vector names to set (`Some`) or remove (`None`) on one point.
type VectorChanges<'a> = Vec<(&'a str, Option<VectorRef<'a>>)>;

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
            UpdateOperation::UpsertWhere { points, .. } => points
                .iter()
                .try_for_each(|p| self.validate_vectors(&p.vectors)),
            UpdateOperation::UpdateVectors(points)
            | UpdateOperation::UpdateVectorsWhere { points, .. } => points
                .iter()
                .try_for_each(|(_, v)| self.validate_vectors(v)),
            UpdateOperation::DeleteVectors { names, .. } => names.iter().try_for_each(|name| {
                if self.has_vector_name(name) {
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
        UpdateOperation::Upsert(points) => upsert_rows(segment, pool, points.iter(), seq),
        UpdateOperation::UpsertWhere {
            points,
            filter,
            mode,
        } => {
            let ids = points.iter().map(|p| p.id);
            let keep = kept_by_condition(segment, ids, filter.as_ref(), *mode);
            let kept = points.iter().zip(keep).filter_map(|(p, k)| k.then_some(p));
            upsert_rows(segment, pool, kept, seq)
        }
        UpdateOperation::Delete(points) => {
            let ids = selected(segment, points);
            segment.delete(&ids);
            Ok(())
        }
        UpdateOperation::UpdateVectorsWhere { points, filter } => {
            let ids = points.iter().map(|(id, _)| *id);
            let keep = kept_by_condition(segment, ids, Some(filter), UpdateMode::Upsert);
            let changes: Vec<_> = points
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|((id, v), _)| (*id, v.iter().map(|(n, x)| (n, Some(x))).collect()))
                .collect();
            rewrite_vectors(segment, pool, &changes, seq)
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

/// Appends `points` as new rows (retiring the rows their ids had).
fn upsert_rows<'a>(
    segment: &Segment,
    pool: Option<&rayon::ThreadPool>,
    points: impl Iterator<Item = &'a PointStruct>,
    seq: u64,
) -> Result<()> {
    let points: Vec<&PointStruct> = points.collect();
    // multivectors go in encoded (validated and preprocessed here)
    let encoded = points
        .iter()
        .map(|p| {
            segment
                .columns
                .iter()
                .map(|c| match p.vectors.get(&c.name) {
                    Some(v) if c.store.is_multi() => c.encode(v).map(Some),
                    _ => Ok(None),
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let rows = points
        .iter()
        .zip(&encoded)
        .map(|(p, encoded)| NewRow {
            vectors: segment
                .columns
                .iter()
                .zip(encoded)
                .map(|(c, e)| e.as_deref().or_else(|| p.vectors.dense(&c.name)))
                .collect(),
            sparse: segment
                .sparse
                .iter()
                .map(|c| {
                    p.vectors
                        .sparse(&c.name)
                        .map(|v| (&v.indices[..], &v.values[..]))
                })
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

/// For each id, whether a conditional write goes ahead, as Qdrant decides:
/// an id that exists is written if `mode` allows replacing and it passes
/// `filter` (no filter: every point passes); one that does not exist is
/// written if `mode` allows inserting.
fn kept_by_condition(
    segment: &Segment,
    ids: impl Iterator<Item = PointId>,
    filter: Option<&Filter>,
    mode: UpdateMode,
) -> Vec<bool> {
    let table = segment.table.read();
    let plan = filter.map(|f| table.plan(segment, f));
    ids.map(|id| match table.ids.get(&id) {
        Some(&row) => mode != UpdateMode::InsertOnly && plan.as_ref().is_none_or(|p| p.check(row)),
        None => mode != UpdateMode::UpdateOnly,
    })
    .collect()
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
    let mut owned: Vec<(RowMeta, StoredVectors)> = Vec::with_capacity(changes.len());
    {
        let table = segment.table.read();
        for (id, change) in changes {
            let row = *table.ids.get(id).ok_or(Error::PointNotFound { id: *id })?;
            let mut vectors = segment.stored_vectors(row);
            let changed = |name: &str| change.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            for (col, slot) in segment.columns.iter().zip(&mut vectors.dense) {
                if let Some(new) = changed(&col.name) {
                    *slot = new.map(|v| col.encode(v)).transpose()?;
                }
            }
            for (col, slot) in segment.sparse.iter().zip(&mut vectors.sparse) {
                if let Some(new) = changed(&col.name) {
                    *slot = new.and_then(VectorRef::as_sparse).map(SparseVector::sorted);
                }
            }
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
pub(crate) fn in_pool<R: Send>(
    pool: Option<&rayon::ThreadPool>,
    f: impl FnOnce() -> R + Send,
) -> R {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{CollectionConfig, Database, Distance, PayloadSelector, VectorSelector};

    fn point(id: u64, v: i64, x: f32) -> PointStruct {
        let payload = Payload::try_from(json!({"v": v})).unwrap();
        PointStruct::new(id, vec![x, 1.0], payload)
    }

    /// Each id's `v` and first coordinate.
    fn state(c: &Collection) -> Vec<(u64, i64, f32)> {
        let ids: Vec<PointId> = (0..10).map(PointId::Num).collect();
        let with = crate::WithSelectors {
            payload: PayloadSelector::All,
            vectors: VectorSelector::All,
        };
        let mut out: Vec<_> = c
            .get(&ids, &with)
            .unwrap()
            .into_iter()
            .map(|r| {
                let PointId::Num(id) = r.id else {
                    unreachable!()
                };
                let v = r.payload.unwrap().as_map()["v"].as_i64().unwrap();
                let x = r
                    .vectors
                    .unwrap()
                    .iter()
                    .next()
                    .unwrap()
                    .1
                    .as_dense()
                    .unwrap()[0];
                (id, v, x)
            })
            .collect();
        out.sort_by_key(|p| p.0);
        out
    }

    #[test]
    fn conditional_writes_skip_what_the_filter_and_mode_leave_out() {
        let dir = tempfile::tempdir().unwrap();
        let config = CollectionConfig::single(2, Distance::Euclid);
        let at_least_3: Filter =
            serde_json::from_value(json!({"must": [{"key": "v", "range": {"gte": 3}}]})).unwrap();
        let expected = {
            let db = Database::open(dir.path()).unwrap();
            let c = db.create_collection("c", config).unwrap();
            c.upsert(vec![point(1, 1, 0.1), point(2, 5, 0.2)]).unwrap();
            let upsert_where = |points, filter: Option<&Filter>, mode| {
                c.update(
                    UpdateOperation::UpsertWhere {
                        points,
                        filter: filter.cloned(),
                        mode,
                    },
                    true,
                )
                .unwrap()
            };
            // 1 fails the filter and stays; 2 passes and is replaced; 3 is new
            let points = vec![point(1, 7, 1.1), point(2, 8, 1.2), point(3, 9, 1.3)];
            upsert_where(points, Some(&at_least_3), UpdateMode::Upsert);
            assert_eq!(
                state(&c),
                [(1, 1, 0.1), (2, 8, 1.2), (3, 9, 1.3)],
                "upsert with a filter"
            );
            // existing ids are left alone, new ones go in
            upsert_where(
                vec![point(1, 0, 2.1), point(4, 4, 2.4)],
                None,
                UpdateMode::InsertOnly,
            );
            assert_eq!(state(&c)[0], (1, 1, 0.1));
            assert_eq!(state(&c)[3], (4, 4, 2.4));
            // existing ids that pass are replaced, new ones are not inserted
            upsert_where(
                vec![point(3, 3, 3.3), point(4, 0, 3.4), point(5, 5, 3.5)],
                Some(&at_least_3),
                UpdateMode::UpdateOnly,
            );
            assert_eq!(
                state(&c),
                [(1, 1, 0.1), (2, 8, 1.2), (3, 3, 3.3), (4, 0, 3.4)],
                "update only"
            );
            // vectors: only points passing the filter change
            let v = |x: f32| Vectors::from(vec![x, 1.0]);
            c.update(
                UpdateOperation::UpdateVectorsWhere {
                    points: vec![(PointId::Num(1), v(4.1)), (PointId::Num(2), v(4.2))],
                    filter: at_least_3.clone(),
                },
                true,
            )
            .unwrap();
            let s = state(&c);
            assert_eq!((s[0], s[1]), ((1, 1, 0.1), (2, 8, 4.2)));
            s
        };
        // the log replays to the same state
        let db = Database::open(dir.path()).unwrap();
        assert_eq!(state(&db.collection("c").unwrap()), expected);
    }
}
