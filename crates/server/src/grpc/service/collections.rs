//! `qdrant.Collections`.

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::grpc::convert::collection::{
    create_from_proto, info_to_proto, merge_optimizers, quantization_diff_from_proto,
};
use crate::grpc::service::{blocking, secs};
use crate::ops::{AliasAction, change_aliases};
use crate::pb::{self, alias_operations::Action};
use crate::state::State;
use crate::status::{from_engine, invalid, unsupported};
use crate::strict::StrictModeConfig;

/// `qdrant.Collections`: create, inspect, update, delete collections and
/// their aliases.
#[derive(Clone)]
pub struct CollectionsService {
    state: Arc<State>,
}

impl CollectionsService {
    /// The service over shared state.
    pub fn new(state: Arc<State>) -> Self {
        CollectionsService { state }
    }
}

fn done(t: Instant, result: bool) -> Response<pb::CollectionOperationResponse> {
    Response::new(pb::CollectionOperationResponse {
        result,
        time: secs(t),
    })
}

fn aliases_reply(t: Instant, aliases: Vec<(String, String)>) -> Response<pb::ListAliasesResponse> {
    Response::new(pb::ListAliasesResponse {
        aliases: aliases
            .into_iter()
            .map(|(alias_name, collection_name)| pb::AliasDescription {
                alias_name,
                collection_name,
            })
            .collect(),
        time: secs(t),
    })
}

#[tonic::async_trait]
impl pb::collections_server::Collections for CollectionsService {
    async fn get(
        &self,
        request: Request<pb::GetCollectionInfoRequest>,
    ) -> Result<Response<pb::GetCollectionInfoResponse>, Status> {
        let t = Instant::now();
        let name = request.into_inner().collection_name;
        let state = self.state.clone();
        let info = blocking(move || {
            let c = state.collection(&name)?;
            Ok(info_to_proto(&c.info(), &state.meta_of(&c)))
        })
        .await?;
        Ok(Response::new(pb::GetCollectionInfoResponse {
            result: Some(info),
            time: secs(t),
        }))
    }

    async fn list(
        &self,
        request: Request<pb::ListCollectionsRequest>,
    ) -> Result<Response<pb::ListCollectionsResponse>, Status> {
        let t = Instant::now();
        let access = request.extensions().get::<crate::auth::Access>();
        let collections = self
            .state
            .db
            .list_collections()
            .into_iter()
            .filter(|name| crate::auth::visible(access, name))
            .map(|name| pb::CollectionDescription { name })
            .collect();
        Ok(Response::new(pb::ListCollectionsResponse {
            collections,
            time: secs(t),
        }))
    }

    async fn create(
        &self,
        request: Request<pb::CreateCollection>,
    ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
        let t = Instant::now();
        let (name, config, meta) = create_from_proto(request.into_inner())?;
        let state = self.state.clone();
        blocking(move || state.create_collection(&name, config, meta)).await?;
        Ok(done(t, true))
    }

    async fn update(
        &self,
        request: Request<pb::UpdateCollection>,
    ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let c = self.state.collection(&r.collection_name)?;
        if r.hnsw_config.is_some() {
            return Err(unsupported(
                "changing the HNSW parameters of an existing collection",
            ));
        }
        // per vector, only the quantization can change
        use pb::vectors_config_diff::Config;
        let diffs = match r.vectors_config.and_then(|v| v.config) {
            None => Vec::new(),
            Some(Config::Params(p)) => vec![(vicinity::DEFAULT_VECTOR.to_string(), p)],
            Some(Config::ParamsMap(m)) => m.map.into_iter().collect(),
        };
        let mut vectors = std::collections::BTreeMap::new();
        for (name, diff) in diffs {
            if diff.hnsw_config.is_some() || diff.on_disk.is_some() {
                return Err(unsupported(
                    "changing the HNSW or on_disk parameters of an existing vector",
                ));
            }
            if let Some(q) = diff.quantization_config {
                vectors.insert(name, quantization_diff_from_proto(q)?);
            }
        }
        let collection = r
            .quantization_config
            .map(quantization_diff_from_proto)
            .transpose()?;
        if collection.is_some() || !vectors.is_empty() {
            let c = Arc::clone(&c);
            blocking(move || {
                c.update_quantization(collection, &vectors)
                    .map_err(from_engine)
            })
            .await?;
        }
        if r.sparse_vectors_config
            .as_ref()
            .is_some_and(|s| !s.map.is_empty())
        {
            return Err(unsupported(
                "changing the sparse vector parameters of an existing collection",
            ));
        }
        if let Some(diff) = r.strict_mode_config {
            let diff = StrictModeConfig::from_proto(diff);
            let merged = StrictModeConfig::of(&c).merged(&diff);
            self.state.strict.set(&c, merged)?;
        }
        self.state.add_metadata(&c, r.metadata)?;
        let mut metas = self.state.meta.write();
        let meta = metas.entry(c.name().to_string()).or_default();
        if let Some(o) = r.optimizers_config {
            merge_optimizers(&mut meta.optimizers, o);
        }
        if let Some(b) = r.params.and_then(|p| p.on_disk_payload) {
            meta.on_disk_payload = b;
        }
        Ok(done(t, true))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteCollection>,
    ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
        let t = Instant::now();
        let name = request.into_inner().collection_name;
        let state = self.state.clone();
        let existed = blocking(move || {
            let existed = state.db.delete_collection(&name);
            state.meta.write().remove(&name);
            Ok(existed)
        })
        .await?;
        Ok(done(t, existed))
    }

    async fn update_aliases(
        &self,
        request: Request<pb::ChangeAliases>,
    ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
        let t = Instant::now();
        let actions = request
            .into_inner()
            .actions
            .into_iter()
            .map(|a| match a.action {
                Some(Action::CreateAlias(a)) => Ok(AliasAction::Create {
                    collection: a.collection_name,
                    alias: a.alias_name,
                }),
                Some(Action::RenameAlias(a)) => Ok(AliasAction::Rename {
                    old: a.old_alias_name,
                    new: a.new_alias_name,
                }),
                Some(Action::DeleteAlias(a)) => Ok(AliasAction::Delete {
                    alias: a.alias_name,
                }),
                None => Err(invalid("alias action is empty")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        change_aliases(&self.state.db, actions)?;
        Ok(done(t, true))
    }

    async fn list_collection_aliases(
        &self,
        request: Request<pb::ListCollectionAliasesRequest>,
    ) -> Result<Response<pb::ListAliasesResponse>, Status> {
        let t = Instant::now();
        let name = request.into_inner().collection_name;
        let aliases = self
            .state
            .db
            .collection_aliases(&name)
            .map_err(from_engine)?
            .into_iter()
            .map(|a| (a, name.clone()))
            .collect();
        Ok(aliases_reply(t, aliases))
    }

    async fn list_aliases(
        &self,
        request: Request<pb::ListAliasesRequest>,
    ) -> Result<Response<pb::ListAliasesResponse>, Status> {
        let t = Instant::now();
        let access = request.extensions().get::<crate::auth::Access>();
        let mut aliases = self.state.db.list_aliases();
        aliases.retain(|(_, collection)| crate::auth::visible(access, collection));
        Ok(aliases_reply(t, aliases))
    }

    async fn collection_cluster_info(
        &self,
        request: Request<pb::CollectionClusterInfoRequest>,
    ) -> Result<Response<pb::CollectionClusterInfoResponse>, Status> {
        let t = Instant::now();
        let c = self
            .state
            .collection(&request.into_inner().collection_name)?;
        // One node, one local shard.
        Ok(Response::new(pb::CollectionClusterInfoResponse {
            peer_id: 0,
            shard_count: 1,
            local_shards: vec![pb::LocalShardInfo {
                shard_id: 0,
                points_count: c.count() as u64,
                state: pb::ReplicaState::Active as i32,
                shard_key: None,
            }],
            remote_shards: Vec::new(),
            shard_transfers: Vec::new(),
            resharding_operations: Vec::new(),
            time: secs(t),
        }))
    }

    async fn collection_exists(
        &self,
        request: Request<pb::CollectionExistsRequest>,
    ) -> Result<Response<pb::CollectionExistsResponse>, Status> {
        let t = Instant::now();
        let exists = self
            .state
            .db
            .collection_exists(&request.into_inner().collection_name);
        Ok(Response::new(pb::CollectionExistsResponse {
            result: Some(pb::CollectionExists { exists }),
            time: secs(t),
        }))
    }
}
