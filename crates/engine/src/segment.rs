//! A segment: the rows of a collection, their vectors by name with one HNSW
//! graph each, and the table that maps point ids to rows.
//!
//! Rows are write-once: an upsert, even of an existing id, appends a new
//! row and retires the old one; so readers search vectors and graphs with no
//! lock while one writer appends. The point table (ids, payloads,
//! versions) sits behind a `RwLock` that searches take only to turn their
//! best rows into points.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;
use serde_json::{Map, Value};
use vicinity_index::{AtomicBitSet, HnswGraph, PointFilter, ScoredOffset, VectorStore};
use vicinity_payload::{Filter, Payload, PointView};
use vicinity_storage::PointOffset;

use crate::{CollectionConfig, Error, PointId, Result, Vectors};

/// One named vector space of a segment.
pub(crate) struct VectorColumn {
    pub(crate) name: String,
    pub(crate) store: VectorStore,
    pub(crate) graph: HnswGraph,
    /// Rows with no live vector of this name: retired rows, deleted points
    /// and points without this vector.
    pub(crate) absent: AtomicBitSet,
}

/// Per-row metadata.
pub(crate) struct RowMeta {
    pub(crate) id: PointId,
    pub(crate) version: u64,
    pub(crate) payload: Payload,
}

/// The id map and per-row metadata, guarded together.
#[derive(Default)]
pub(crate) struct PointTable {
    /// Live ids and their current row, in scroll order.
    pub(crate) ids: BTreeMap<PointId, PointOffset>,
    /// Metadata of every published row, live or retired.
    pub(crate) rows: Vec<RowMeta>,
}

/// A live row as a filter sees it.
pub(crate) struct RowView<'a> {
    pub(crate) segment: &'a Segment,
    pub(crate) row: PointOffset,
    pub(crate) meta: &'a RowMeta,
}

impl PointView for RowView<'_> {
    fn payload(&self) -> &Map<String, Value> {
        self.meta.payload.as_map()
    }
    fn id(&self) -> Option<PointId> {
        Some(self.meta.id)
    }
    fn has_vector(&self, name: &str) -> bool {
        self.segment
            .columns
            .iter()
            .position(|c| c.name == name)
            .is_some_and(|c| self.segment.has_vector(c, self.row))
    }
}

impl PointTable {
    /// Whether the live point in `row` passes `filter` (`false` for rows
    /// that are not live).
    pub(crate) fn passes(&self, segment: &Segment, row: PointOffset, filter: &Filter) -> bool {
        self.live(row)
            .is_some_and(|meta| filter.check(&RowView { segment, row, meta }))
    }

    /// The live points passing `filter` (all live points for `None`), in
    /// id order.
    pub(crate) fn matching<'t>(
        &'t self,
        segment: &'t Segment,
        filter: Option<&'t Filter>,
    ) -> impl Iterator<Item = (PointId, PointOffset)> + 't {
        self.ids.iter().filter_map(move |(&id, &row)| {
            let ok = filter.is_none_or(|f| {
                f.check(&RowView {
                    segment,
                    row,
                    meta: &self.rows[row.index()],
                })
            });
            ok.then_some((id, row))
        })
    }

    /// The live row's metadata, if `offset` is live.
    pub(crate) fn live(&self, offset: PointOffset) -> Option<&RowMeta> {
        let meta = self.rows.get(offset.index())?;
        (self.ids.get(&meta.id) == Some(&offset)).then_some(meta)
    }
}

/// A row to append: the vectors by column index and the metadata.
pub(crate) struct NewRow<'a> {
    pub(crate) vectors: Vec<Option<&'a [f32]>>,
    /// Whether the vectors are copies of stored (already preprocessed)
    /// rows, to be stored bit for bit.
    pub(crate) preprocessed: bool,
    pub(crate) meta: RowMeta,
}

/// The rows of a collection.
pub(crate) struct Segment {
    pub(crate) columns: Vec<VectorColumn>,
    pub(crate) table: RwLock<PointTable>,
    /// Rows `< published` are in the table; searches ignore later rows,
    /// which are still being written.
    published: AtomicUsize,
}

/// Rows a search of one column may return: published and holding a live
/// vector. One check per visited node.
pub(crate) struct Searchable<'a> {
    absent: &'a AtomicBitSet,
    published: u32,
}

impl PointFilter for Searchable<'_> {
    #[inline]
    fn check(&self, offset: PointOffset) -> bool {
        offset.0 < self.published && !self.absent.contains(offset)
    }
}

impl Segment {
    pub(crate) fn new(config: &CollectionConfig) -> Result<Self> {
        let columns = config
            .vectors
            .iter()
            .map(|(name, params)| {
                Ok(VectorColumn {
                    name: name.clone(),
                    store: VectorStore::new(params.size, params.distance)?,
                    graph: HnswGraph::new(config.hnsw_for(name))?,
                    absent: AtomicBitSet::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Segment {
            columns,
            table: RwLock::new(PointTable::default()),
            published: AtomicUsize::new(0),
        })
    }

    /// The column of a vector name.
    pub(crate) fn column(&self, name: &str) -> Result<(usize, &VectorColumn)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
            .ok_or_else(|| Error::UnknownVector {
                name: name.to_string(),
            })
    }

    /// The filter of rows a search of `column` may return.
    pub(crate) fn searchable<'a>(&self, column: &'a VectorColumn) -> Searchable<'a> {
        Searchable {
            absent: &column.absent,
            published: self.published.load(Ordering::Acquire) as u32,
        }
    }

    /// Rows appended so far (live and retired).
    pub(crate) fn row_count(&self) -> usize {
        self.published.load(Ordering::Acquire)
    }

    /// Appends rows and makes them live, retiring the rows their ids had.
    /// Vectors must already be validated. The caller is the collection's
    /// one writer. Graph insertion runs on the current rayon pool.
    pub(crate) fn append(&self, rows: Vec<NewRow<'_>>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // 1. Vectors, in lockstep so that every column shares the offsets.
        //    Capacity is reserved first, so no push fails half-way.
        for column in &self.columns {
            column
                .store
                .reserve(rows.len())
                .map_err(|e| Error::for_vector(&column.name, e))?;
        }
        let first = self.published.load(Ordering::Acquire);
        let mut present: Vec<Vec<PointOffset>> = vec![Vec::new(); self.columns.len()];
        for (i, row) in rows.iter().enumerate() {
            let offset = PointOffset((first + i) as u32);
            for (c, column) in self.columns.iter().enumerate() {
                let got = match row.vectors[c] {
                    Some(v) => {
                        present[c].push(offset);
                        if row.preprocessed {
                            column.store.push_preprocessed(v)
                        } else {
                            column.store.push(v)
                        }
                    }
                    None => {
                        column.absent.insert(offset);
                        column.store.push_absent()
                    }
                }
                .map_err(|e| Error::for_vector(&column.name, e))?;
                assert_eq!(got, offset, "vector columns out of step");
            }
        }
        // 2. Graphs: searches may walk the new nodes but do not return
        //    them until step 3 publishes them.
        for (column, nodes) in self.columns.iter().zip(&present) {
            column.graph.insert_many(&column.store, nodes);
        }
        // 3. The table: new rows live, old rows retired, then published.
        let mut table = self.table.write();
        for (i, row) in rows.into_iter().enumerate() {
            let offset = PointOffset((first + i) as u32);
            if let Some(old) = table.ids.insert(row.meta.id, offset) {
                self.retire(old);
            }
            table.rows.push(row.meta);
        }
        self.published.store(table.rows.len(), Ordering::Release);
        Ok(())
    }

    /// Hides a row from every search.
    fn retire(&self, offset: PointOffset) {
        for column in &self.columns {
            column.absent.insert(offset);
        }
    }

    /// Deletes points; returns how many existed.
    pub(crate) fn delete(&self, ids: &[PointId]) -> usize {
        let mut table = self.table.write();
        let mut n = 0;
        for id in ids {
            if let Some(old) = table.ids.remove(id) {
                self.retire(old);
                n += 1;
            }
        }
        n
    }

    /// The vectors stored in a row, by name, as a [`Vectors`] value shaped
    /// like the collection (a single unnamed vector, or named ones).
    pub(crate) fn vectors_of(&self, offset: PointOffset, select: impl Fn(&str) -> bool) -> Vectors {
        let single = self.columns.len() == 1 && self.columns[0].name.is_empty();
        if single {
            let c = &self.columns[0];
            let v = if select(&c.name) && !c.absent.contains(offset) {
                c.store.get(offset).map(<[f32]>::to_vec).unwrap_or_default()
            } else {
                Vec::new()
            };
            return Vectors::Single(v);
        }
        Vectors::Named(
            self.columns
                .iter()
                .filter(|c| select(&c.name) && !c.absent.contains(offset))
                .filter_map(|c| Some((c.name.clone(), c.store.get(offset)?.to_vec())))
                .collect(),
        )
    }

    /// Whether a row has a live vector in column `c`.
    pub(crate) fn has_vector(&self, c: usize, offset: PointOffset) -> bool {
        !self.columns[c].absent.contains(offset)
    }

    /// Hits of a column, best first, with the rows turned into live points
    /// under one short read lock; rows retired since the walk are dropped.
    pub(crate) fn resolve<T>(
        &self,
        hits: Vec<ScoredOffset>,
        mut make: impl FnMut(&RowMeta, ScoredOffset) -> T,
    ) -> Vec<T> {
        let table = self.table.read();
        hits.into_iter()
            .filter_map(|h| table.live(h.offset).map(|meta| make(meta, h)))
            .collect()
    }

    /// Bytes of memory held by vectors and graphs.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.columns
            .iter()
            .map(|c| c.store.reserved_bytes() + c.graph.memory_bytes() + c.absent.allocated_bytes())
            .sum()
    }
}
