//! The request layer both protocols share: a request, once decoded from
//! protobuf or JSON, becomes one of these engine-level operations, and the
//! same code runs it whichever port it came in on. A point written over
//! gRPC is read over REST because both end here, on the same [`State`].
//!
//! Errors are `tonic::Status` values (a code and Qdrant's message); the REST
//! side maps their codes to HTTP statuses in one match.
//!
//! [`State`]: crate::State

use std::collections::{BTreeMap, BTreeSet};

use tonic::Status;
use vicinity::{
    Collection, Database, Filter, JsonPath, Payload, PointId, PointStruct, PointsSelector,
    ScoredPoint, ScrollRequest, SearchRequest, UpdateMode, UpdateOperation, UpdateResult, Vectors,
};

use crate::status::from_engine;

/// One write, converted and validated, ready for one engine call.
#[derive(Debug)]
pub enum WriteOp {
    /// Insert or replace whole points; with a filter (`update_filter`)
    /// or a mode other than upsert, only those they allow.
    Upsert(Vec<PointStruct>, Option<Filter>, UpdateMode),
    /// Delete points.
    Delete(PointsSelector),
    /// Merge keys into payloads (at `key`, if given).
    SetPayload(PointsSelector, Payload, Option<JsonPath>),
    /// Replace payloads.
    OverwritePayload(PointsSelector, Payload),
    /// Remove payload keys.
    DeletePayload(PointsSelector, Vec<JsonPath>),
    /// Empty payloads.
    ClearPayload(PointsSelector),
    /// Replace some vectors of existing points (of those that pass the
    /// filter, if one is given: `update_filter`).
    UpdateVectors(Vec<(PointId, Vectors)>, Option<Filter>),
    /// Remove named vectors from points.
    DeleteVectors(PointsSelector, Vec<String>),
    /// An engine write as it is (payload index creation and removal).
    Engine(UpdateOperation),
}

impl WriteOp {
    /// Runs the write on a collection; `wait` asks a durable collection to
    /// fsync its log before answering.
    pub fn apply(self, c: &Collection, wait: bool) -> vicinity::Result<UpdateResult> {
        let op = match self {
            WriteOp::Upsert(points, None, UpdateMode::Upsert) => UpdateOperation::Upsert(points),
            WriteOp::Upsert(points, filter, mode) => UpdateOperation::UpsertWhere {
                points,
                filter,
                mode,
            },
            WriteOp::Delete(s) => UpdateOperation::Delete(s),
            WriteOp::SetPayload(points, payload, key) => UpdateOperation::SetPayload {
                points,
                payload,
                key,
            },
            WriteOp::OverwritePayload(points, payload) => {
                UpdateOperation::OverwritePayload { points, payload }
            }
            WriteOp::DeletePayload(points, keys) => UpdateOperation::DeletePayload { points, keys },
            WriteOp::ClearPayload(s) => UpdateOperation::ClearPayload(s),
            WriteOp::UpdateVectors(points, None) => UpdateOperation::UpdateVectors(points),
            WriteOp::UpdateVectors(points, Some(filter)) => {
                UpdateOperation::UpdateVectorsWhere { points, filter }
            }
            WriteOp::Engine(op) => op,
            WriteOp::DeleteVectors(s, names) => {
                let ids = match s {
                    PointsSelector::Ids(ids) => ids,
                    PointsSelector::Filter(f) => {
                        let req = ScrollRequest {
                            limit: usize::MAX / 2,
                            filter: Some(f),
                            ..ScrollRequest::default()
                        };
                        c.scroll(&req)?.points.into_iter().map(|r| r.id).collect()
                    }
                };
                UpdateOperation::DeleteVectors { ids, names }
            }
        };
        c.update(op, wait)
    }
}

/// A read the engine can run: a plain search, or a universal query (which
/// also serves recommend and discover).
#[derive(Debug)]
pub enum QueryPlan {
    /// Nearest to a vector.
    Vector(SearchRequest),
    /// A universal query.
    Query(vicinity::QueryRequest),
}

impl QueryPlan {
    /// The read as strict mode checks it.
    pub fn as_read(&self) -> crate::strict::Read<'_> {
        match self {
            QueryPlan::Vector(req) => crate::strict::Read::Search(req),
            QueryPlan::Query(req) => crate::strict::Read::Query(req),
        }
    }

    /// Runs the read on collection `c` of `db` (a universal query may look
    /// examples up in another collection).
    pub fn run(self, db: &Database, c: &Collection) -> vicinity::Result<Vec<ScoredPoint>> {
        match self {
            QueryPlan::Vector(req) => c.search(&req),
            QueryPlan::Query(req) => db.query(c.name(), &req),
        }
    }
}

/// One alias change of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AliasAction {
    /// Make `alias` a name of `collection`.
    Create {
        /// The collection's own name.
        collection: String,
        /// The new alias.
        alias: String,
    },
    /// Rename an alias.
    Rename {
        /// The alias now.
        old: String,
        /// Its new name.
        new: String,
    },
    /// Remove an alias (an unknown one is not an error, as in Qdrant).
    Delete {
        /// The alias.
        alias: String,
    },
}

/// Plays a batch of alias actions on a copy of the aliases first, so that a
/// batch with a bad action is refused whole. (The engine applies one action
/// at a time; a concurrent alias change between this check and the real
/// run can still fail the batch half-way.)
fn dry_run(db: &Database, actions: &[AliasAction]) -> Result<(), Status> {
    use vicinity::Error;
    let collections: BTreeSet<String> = db.list_collections().into_iter().collect();
    let mut aliases: BTreeMap<String, String> = db.list_aliases().into_iter().collect();
    let free = |name: &str| -> Result<(), Status> {
        vicinity::validate_collection_name(name).map_err(from_engine)?;
        if collections.contains(name) {
            return Err(from_engine(Error::CollectionExists { name: name.into() }));
        }
        Ok(())
    };
    for action in actions {
        match action {
            AliasAction::Create { collection, alias } => {
                if !collections.contains(collection) {
                    return Err(from_engine(Error::CollectionNotFound {
                        name: collection.clone(),
                    }));
                }
                free(alias)?;
                aliases.insert(alias.clone(), collection.clone());
            }
            AliasAction::Rename { old, new } => {
                free(new)?;
                let real = aliases.remove(old).ok_or_else(|| {
                    Status::not_found(format!("Not found: Alias `{old}` doesn't exist!"))
                })?;
                aliases.insert(new.clone(), real);
            }
            AliasAction::Delete { alias } => {
                aliases.remove(alias);
            }
        }
    }
    Ok(())
}

/// Applies a batch of alias actions, refused whole if one is bad.
pub fn change_aliases(db: &Database, actions: Vec<AliasAction>) -> Result<(), Status> {
    dry_run(db, &actions)?;
    for action in actions {
        match action {
            AliasAction::Create { collection, alias } => db.create_alias(&collection, &alias),
            AliasAction::Rename { old, new } => db.rename_alias(&old, &new),
            AliasAction::Delete { alias } => db.delete_alias(&alias).map(|_| ()),
        }
        .map_err(from_engine)?;
    }
    Ok(())
}
