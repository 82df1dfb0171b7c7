//! Queries that reach into a second collection, as Qdrant's do:
//! `lookup_from` (example ids whose vectors come from another collection)
//! and `with_lookup` (per group, the point of another collection whose id
//! is the group id). A [`Collection`] sees only itself, so these run
//! through the [`Database`].

use std::collections::HashMap;
use std::sync::Arc;

use vicinity_payload::PointId;

use crate::query::{GroupId, PointGroup, Prefetch, Query, QueryGroupsRequest, QueryRequest};
use crate::{
    Collection, Database, Error, PayloadSelector, Result, ScoredPoint, VectorInput, WithSelectors,
};

/// Where a query's example ids are looked up: Qdrant's `LookupLocation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupFrom {
    /// The collection (or alias) holding the examples.
    pub collection: String,
    /// Its vector name (`None`: the query's `using`). The vectors must
    /// have the dimension of the searched vector.
    pub vector: Option<String>,
}

impl LookupFrom {
    /// Examples from `collection`, under the query's own vector name.
    pub fn new(collection: impl Into<String>) -> Self {
        LookupFrom {
            collection: collection.into(),
            vector: None,
        }
    }
}

/// For grouped queries: fetch, per group, the point whose id is the group
/// id (a UUID string or a non-negative integer) from a collection.
#[derive(Clone, Debug, PartialEq)]
pub struct WithLookup {
    /// The collection (or alias) to look the group ids up in.
    pub collection: String,
    /// What each looked-up point carries.
    pub with: WithSelectors,
}

impl WithLookup {
    /// Lookups in `collection` with Qdrant's defaults: the payload, no
    /// vectors.
    pub fn new(collection: impl Into<String>) -> Self {
        WithLookup {
            collection: collection.into(),
            with: WithSelectors {
                payload: PayloadSelector::All,
                ..WithSelectors::default()
            },
        }
    }
}

impl GroupId {
    /// The point id a group id names, as Qdrant converts it: a
    /// non-negative integer, or a string that is a UUID in canonical form
    /// (lower-case, hyphenated: Qdrant matches the looked-up point back by
    /// that spelling). Other group ids have no lookup.
    pub fn point_id(&self) -> Option<PointId> {
        match self {
            GroupId::Integer(i) => u64::try_from(*i).ok().map(PointId::Num),
            GroupId::Keyword(s) => {
                let u = uuid::Uuid::try_parse(s).ok()?;
                (u.hyphenated().to_string() == *s).then_some(PointId::Uuid(u))
            }
        }
    }
}

/// An example point without the vector asked for, in Qdrant's words.
pub(crate) fn missing_vector(id: &PointId, name: &str) -> Error {
    Error::BadRequest(format!(
        "Referenced point {id} does not have vector '{name}'"
    ))
}

/// Every vector input of a query, to resolve ids in place.
fn inputs_mut(q: &mut Query) -> Vec<&mut VectorInput> {
    match q {
        Query::Nearest(v) | Query::NearestMmr { nearest: v, .. } => vec![v],
        Query::Recommend {
            positive, negative, ..
        } => positive.iter_mut().chain(negative.iter_mut()).collect(),
        Query::Discover { target, context } => std::iter::once(target)
            .chain(
                context
                    .iter_mut()
                    .flat_map(|p| [&mut p.positive, &mut p.negative]),
            )
            .collect(),
        Query::Context(context) => context
            .iter_mut()
            .flat_map(|p| [&mut p.positive, &mut p.negative])
            .collect(),
        Query::RelevanceFeedback {
            target, feedback, ..
        } => std::iter::once(target)
            .chain(feedback.iter_mut().map(|f| &mut f.example))
            .collect(),
        Query::OrderBy(_)
        | Query::Fusion(_)
        | Query::Formula(_)
        | Query::Text { .. }
        | Query::Sample => Vec::new(),
    }
}

impl Collection {
    /// The stored (preprocessed) vector `name` of point `id`, as a query
    /// input (a multivector as its matrix).
    fn stored_vector(&self, id: &PointId, name: &str) -> Result<VectorInput> {
        let seg = self.segment();
        let (idx, column) = seg.column(name)?;
        let table = seg.table.read();
        let row = *table.ids.get(id).ok_or(Error::PointNotFound { id: *id })?;
        if !seg.has_vector(idx, row) {
            return Err(missing_vector(id, name));
        }
        Ok(match column.vector(row) {
            Some(crate::Vector::Multi(m)) => VectorInput::Multi(m),
            Some(crate::Vector::Dense(v)) => VectorInput::Vector(v),
            _ => return Err(missing_vector(id, name)),
        })
    }

    /// Sets each group's `lookup` to this collection's point whose id is
    /// the group id, if there is one.
    pub(crate) fn fill_lookups(
        &self,
        groups: &mut [PointGroup],
        with: &WithSelectors,
    ) -> Result<()> {
        let ids: Vec<PointId> = groups.iter().filter_map(|g| g.id.point_id()).collect();
        let found: HashMap<PointId, crate::Record> = self
            .get(&ids, with)?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        for g in groups {
            g.lookup = g.id.point_id().and_then(|id| found.get(&id).cloned());
        }
        Ok(())
    }
}

impl Database {
    /// [`Collection::query`] on the named collection (or alias), with
    /// `lookup_from` at any level resolved: example ids are taken from the
    /// lookup collection's vector (`LookupFrom::vector`, else `using`).
    /// Ids from another collection are not excluded from the results;
    /// ids looked up in the searched collection itself are, as in Qdrant.
    /// A missing lookup collection or example id is `NotFound`; a vector
    /// of the wrong dimension is bad input.
    pub fn query(&self, collection: &str, req: &QueryRequest) -> Result<Vec<ScoredPoint>> {
        let c = self.collection(collection)?;
        let req = self.resolve_lookups(&c, req)?;
        c.query(&req)
    }

    /// [`Collection::query_groups`] on the named collection (or alias),
    /// with `lookup_from` resolved as in [`Database::query`] and
    /// `with_lookup` taken from any collection: each group whose id names
    /// a point there (see [`GroupId::point_id`]) carries that point.
    pub fn query_groups(
        &self,
        collection: &str,
        req: &QueryGroupsRequest,
    ) -> Result<Vec<PointGroup>> {
        let c = self.collection(collection)?;
        let mut req = req.clone();
        req.query = self.resolve_lookups(&c, &req.query)?;
        let lookup = match req.with_lookup.take() {
            Some(l) => {
                let target = self.collection(&l.collection)?;
                target.validate_selectors(&l.with)?;
                Some((target, l.with))
            }
            None => None,
        };
        let mut groups = c.query_groups(&req)?;
        if let Some((target, with)) = lookup {
            target.fill_lookups(&mut groups, &with)?;
        }
        Ok(groups)
    }

    /// The request with every level's `lookup_from` in another collection
    /// replaced by the examples' vectors.
    fn resolve_lookups(&self, c: &Arc<Collection>, req: &QueryRequest) -> Result<QueryRequest> {
        let mut req = req.clone();
        self.resolve_level(c, &mut req.query, &req.using, &mut req.lookup_from)?;
        for p in &mut req.prefetch {
            self.resolve_prefetch(c, p)?;
        }
        Ok(req)
    }

    fn resolve_prefetch(&self, c: &Arc<Collection>, p: &mut Prefetch) -> Result<()> {
        self.resolve_level(c, &mut p.query, &p.using, &mut p.lookup_from)?;
        for sub in &mut p.prefetch {
            self.resolve_prefetch(c, sub)?;
        }
        Ok(())
    }

    /// Resolves one level. As Qdrant, the lookup collection is only
    /// consulted when the level has example ids.
    fn resolve_level(
        &self,
        c: &Arc<Collection>,
        query: &mut Option<Query>,
        using: &str,
        lookup_from: &mut Option<LookupFrom>,
    ) -> Result<()> {
        let Some(l) = lookup_from.as_mut() else {
            return Ok(());
        };
        let Some(q) = query.as_mut() else {
            return Ok(());
        };
        let mut inputs = inputs_mut(q);
        if !inputs.iter().any(|i| matches!(i, VectorInput::Id(_))) {
            return Ok(());
        }
        let source = self.collection(&l.collection)?;
        if Arc::ptr_eq(&source, c) {
            // The searched collection itself (perhaps by an alias): the
            // collection resolves the ids and leaves them out of the results.
            l.collection = c.name().to_string();
            return Ok(());
        }
        let name = l.vector.clone().unwrap_or_else(|| using.to_string());
        for input in &mut inputs {
            if let VectorInput::Id(id) = **input {
                **input = source.stored_vector(&id, &name)?;
            }
        }
        *lookup_from = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_name_points_as_qdrant_converts_them() {
        assert_eq!(GroupId::Integer(7).point_id(), Some(PointId::Num(7)));
        assert_eq!(GroupId::Integer(-1).point_id(), None);
        let u = "550e8400-e29b-41d4-a716-446655440000";
        assert_eq!(
            GroupId::Keyword(u.into()).point_id(),
            Some(PointId::Uuid(uuid::Uuid::parse_str(u).unwrap()))
        );
        // other spellings of a UUID, and plain words, have no lookup
        assert_eq!(GroupId::Keyword(u.to_uppercase()).point_id(), None);
        assert_eq!(GroupId::Keyword(u.replace('-', "")).point_id(), None);
        assert_eq!(GroupId::Keyword("acme".into()).point_id(), None);
        assert_eq!(GroupId::Keyword("7".into()).point_id(), None);
    }
}
