//! Collection requests and `CollectionInfo`.

use std::collections::BTreeMap;
use tonic::Status;

use vicinity::{
    CollectionConfig, Datatype, Distance, HnswConfig, Modifier, SparseIndexParams,
    SparseVectorParams, VectorParams,
};

use crate::pb;
use crate::state::CollectionMeta;
use crate::status::{invalid, unsupported};

/// A wire distance as an engine distance; the zero value is refused.
pub fn distance_from_proto(d: i32) -> Result<Distance, Status> {
    match pb::Distance::try_from(d) {
        Ok(pb::Distance::Cosine) => Ok(Distance::Cosine),
        Ok(pb::Distance::Euclid) => Ok(Distance::Euclid),
        Ok(pb::Distance::Dot) => Ok(Distance::Dot),
        Ok(pb::Distance::Manhattan) => Ok(Distance::Manhattan),
        Ok(pb::Distance::UnknownDistance) | Err(_) => Err(invalid(format!(
            "Unknown distance {d}: expected Cosine, Euclid, Dot or Manhattan"
        ))),
    }
}

/// An engine distance on the wire.
pub fn distance_to_proto(d: Distance) -> i32 {
    (match d {
        Distance::Cosine => pb::Distance::Cosine,
        Distance::Euclid => pb::Distance::Euclid,
        Distance::Dot => pb::Distance::Dot,
        Distance::Manhattan => pb::Distance::Manhattan,
    }) as i32
}

fn usize_of(v: u64, what: &str) -> Result<usize, Status> {
    usize::try_from(v).map_err(|_| invalid(format!("{what} {v} is too large")))
}

/// Applies a wire HNSW diff to engine settings.
pub fn apply_hnsw_diff(base: HnswConfig, d: &pb::HnswConfigDiff) -> Result<HnswConfig, Status> {
    let mut h = base;
    if let Some(m) = d.m {
        h.m = usize_of(m, "m")?;
    }
    if let Some(ef) = d.ef_construct {
        h.ef_construct = usize_of(ef, "ef_construct")?;
    }
    if let Some(t) = d.full_scan_threshold {
        h.full_scan_threshold = usize_of(t, "full_scan_threshold")?;
    }
    Ok(h)
}

/// A wire datatype (`Default` reads as unset); the `turbo` types are
/// refused as not served, naming `what`.
fn datatype_from_proto(d: Option<i32>, what: &str) -> Result<Option<Datatype>, Status> {
    match d.map(pb::Datatype::try_from) {
        None | Some(Ok(pb::Datatype::Default)) => Ok(None),
        Some(Ok(pb::Datatype::Float32)) => Ok(Some(Datatype::Float32)),
        Some(Ok(pb::Datatype::Float16)) => Ok(Some(Datatype::Float16)),
        Some(Ok(pb::Datatype::Uint8)) => Ok(Some(Datatype::Uint8)),
        Some(Ok(t)) => Err(unsupported(format!(
            "{what} {}",
            t.as_str_name().to_lowercase()
        ))),
        Some(Err(_)) => Err(invalid("Unknown datatype")),
    }
}

fn vector_params(p: pb::VectorParams) -> Result<VectorParams, Status> {
    let distance = distance_from_proto(p.distance)?;
    let datatype = datatype_from_proto(p.datatype, "vector datatype")?;
    // MaxSim is the one comparator (the enum's only value)
    let multivector = p
        .multivector_config
        .map(|_| vicinity::MultiVectorConfig::MAX_SIM);
    let quantization = p
        .quantization_config
        .map(quantization_from_proto)
        .transpose()?;
    let mut v = VectorParams::new(usize_of(p.size, "size")?, distance);
    v.quantization_config = quantization;
    v.multivector_config = multivector;
    if let Some(h) = &p.hnsw_config {
        v.hnsw_config = Some(apply_hnsw_diff(HnswConfig::default(), h)?);
    }
    v.on_disk = p.on_disk;
    v.datatype = datatype;
    Ok(v)
}

/// A sparse vector space's wire parameters (the `turbo` weight types are
/// refused as not served).
pub fn sparse_params_from_proto(p: pb::SparseVectorParams) -> Result<SparseVectorParams, Status> {
    let index = p
        .index
        .map(|i| {
            let datatype = datatype_from_proto(i.datatype, "sparse vector datatype")?;
            Ok::<_, Status>(SparseIndexParams {
                full_scan_threshold: i.full_scan_threshold.map(|n| n as usize),
                on_disk: i.on_disk,
                datatype,
            })
        })
        .transpose()?;
    let modifier = match p.modifier.map(pb::Modifier::try_from) {
        None => None,
        Some(Ok(pb::Modifier::None)) => Some(Modifier::None),
        Some(Ok(pb::Modifier::Idf)) => Some(Modifier::Idf),
        Some(Err(_)) => return Err(invalid("Unknown modifier")),
    };
    Ok(SparseVectorParams { index, modifier })
}

/// A datatype on the wire.
fn datatype_to_proto(d: Datatype) -> i32 {
    (match d {
        Datatype::Float32 => pb::Datatype::Float32,
        Datatype::Float16 => pb::Datatype::Float16,
        Datatype::Uint8 => pb::Datatype::Uint8,
    }) as i32
}

/// A sparse vector space's parameters on the wire.
pub fn sparse_params_to_proto(p: &SparseVectorParams) -> pb::SparseVectorParams {
    pb::SparseVectorParams {
        index: p.index.as_ref().map(|i| pb::SparseIndexConfig {
            full_scan_threshold: i.full_scan_threshold.map(|n| n as u64),
            on_disk: i.on_disk,
            datatype: i.datatype.map(datatype_to_proto),
            memory: None,
        }),
        modifier: p.modifier.map(|m| match m {
            Modifier::None => pb::Modifier::None as i32,
            Modifier::Idf => pb::Modifier::Idf as i32,
        }),
    }
}

/// A `CreateCollection` as the collection's name, its engine configuration
/// and what the server keeps to echo in `CollectionInfo`.
pub fn create_from_proto(
    r: pb::CreateCollection,
) -> Result<(String, CollectionConfig, CollectionMeta), Status> {
    let quantization = r
        .quantization_config
        .map(quantization_from_proto)
        .transpose()?;
    let sparse = r
        .sparse_vectors_config
        .map(|s| {
            s.map
                .into_iter()
                .map(|(name, p)| Ok((name, sparse_params_from_proto(p)?)))
                .collect::<Result<BTreeMap<_, _>, Status>>()
        })
        .transpose()?
        .unwrap_or_default();
    if r.sharding_method == Some(pb::ShardingMethod::Custom as i32) {
        return Err(unsupported("custom sharding"));
    }
    let vectors = match r.vectors_config.and_then(|v| v.config) {
        Some(pb::vectors_config::Config::Params(p)) => {
            vec![(vicinity::DEFAULT_VECTOR.to_string(), vector_params(p)?)]
        }
        Some(pb::vectors_config::Config::ParamsMap(m)) => {
            let mut v = m
                .map
                .into_iter()
                .map(|(k, p)| Ok((k, vector_params(p)?)))
                .collect::<Result<Vec<_>, Status>>()?;
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        }
        None => Vec::new(),
    };
    let hnsw = match &r.hnsw_config {
        Some(d) => apply_hnsw_diff(HnswConfig::default(), d)?,
        None => HnswConfig::default(),
    };
    let mut config = CollectionConfig::named(vectors).with_hnsw(hnsw);
    config.quantization_config = quantization;
    config.sparse_vectors = sparse;
    let mut meta = CollectionMeta::new();
    if let Some(h) = r.hnsw_config {
        meta.hnsw_extra = h;
    }
    if let Some(o) = r.optimizers_config {
        merge_optimizers(&mut meta.optimizers, o);
    }
    if let Some(w) = r.wal_config {
        merge_wal(&mut meta.wal, w);
    }
    if let Some(b) = r.on_disk_payload {
        meta.on_disk_payload = b;
    }
    if let Some(n) = r.shard_number {
        meta.shard_number = n.max(1);
    }
    meta.metadata = r.metadata;
    if let Some(diff) = r.strict_mode_config {
        let diff = crate::strict::StrictModeConfig::from_proto(diff);
        meta.strict_mode = meta.strict_mode.merged(&diff);
    }
    Ok((r.collection_name, config, meta))
}

/// Merges the set fields of an optimizer diff.
pub fn merge_optimizers(base: &mut pb::OptimizersConfigDiff, d: pb::OptimizersConfigDiff) {
    macro_rules! take {
        ($($f:ident),*) => { $( if d.$f.is_some() { base.$f = d.$f; } )* };
    }
    take!(
        deleted_threshold,
        vacuum_min_vector_number,
        default_segment_number,
        max_segment_size,
        memmap_threshold,
        indexing_threshold,
        flush_interval_sec,
        deprecated_max_optimization_threads,
        max_optimization_threads,
        prevent_unoptimized
    );
}

/// Merges the set fields of a WAL diff.
pub fn merge_wal(base: &mut pb::WalConfigDiff, d: pb::WalConfigDiff) {
    if d.wal_capacity_mb.is_some() {
        base.wal_capacity_mb = d.wal_capacity_mb;
    }
    if d.wal_segments_ahead.is_some() {
        base.wal_segments_ahead = d.wal_segments_ahead;
    }
    if d.wal_retain_closed.is_some() {
        base.wal_retain_closed = d.wal_retain_closed;
    }
}

fn hnsw_to_proto(h: &HnswConfig, extra: &pb::HnswConfigDiff) -> pb::HnswConfigDiff {
    pb::HnswConfigDiff {
        m: Some(h.m as u64),
        ef_construct: Some(h.ef_construct as u64),
        full_scan_threshold: Some(h.full_scan_threshold as u64),
        max_indexing_threads: Some(extra.max_indexing_threads.unwrap_or(0)),
        on_disk: Some(extra.on_disk.unwrap_or(false)),
        payload_m: extra.payload_m,
        inline_storage: None,
        memory: None,
    }
}

fn vector_params_to_proto(p: &VectorParams) -> pb::VectorParams {
    pb::VectorParams {
        size: p.size as u64,
        distance: distance_to_proto(p.distance),
        hnsw_config: p
            .hnsw_config
            .as_ref()
            .map(|h| hnsw_to_proto(h, &pb::HnswConfigDiff::default())),
        on_disk: Some(p.on_disk.unwrap_or(false)),
        quantization_config: p.quantization_config.as_ref().map(quantization_to_proto),
        multivector_config: p.multivector_config.map(|_| pb::MultiVectorConfig {
            comparator: pb::MultiVectorComparator::MaxSim as i32,
        }),
        datatype: p.datatype.map(datatype_to_proto),
        ..Default::default()
    }
}

/// A wire quantization config as the engine's: scalar `int8`, binary (every
/// encoding) and product quantization are served; turbo quantization is
/// refused as not served yet.
pub fn quantization_from_proto(
    q: pb::QuantizationConfig,
) -> Result<vicinity::QuantizationConfig, Status> {
    use pb::quantization_config::Quantization as Q;
    match q.quantization {
        Some(Q::Scalar(s)) => match pb::QuantizationType::try_from(s.r#type) {
            Ok(pb::QuantizationType::Int8) => Ok(vicinity::QuantizationConfig::Scalar(
                vicinity::ScalarQuantization {
                    kind: vicinity::ScalarType::Int8,
                    quantile: s.quantile,
                    always_ram: s.always_ram,
                },
            )),
            _ => Err(invalid("Unknown quantization type")),
        },
        Some(Q::Product(p)) => {
            use vicinity::CompressionRatio as C;
            let compression = match pb::CompressionRatio::try_from(p.compression) {
                Ok(pb::CompressionRatio::X4) => C::X4,
                Ok(pb::CompressionRatio::X8) => C::X8,
                Ok(pb::CompressionRatio::X16) => C::X16,
                Ok(pb::CompressionRatio::X32) => C::X32,
                Ok(pb::CompressionRatio::X64) => C::X64,
                Err(_) => return Err(invalid("Unknown compression ratio")),
            };
            Ok(vicinity::QuantizationConfig::Product(
                vicinity::ProductQuantization {
                    compression,
                    always_ram: p.always_ram,
                },
            ))
        }
        Some(Q::Binary(b)) => {
            use vicinity::BinaryEncoding as E;
            let encoding = match b.encoding.map(pb::BinaryQuantizationEncoding::try_from) {
                None => None,
                Some(Ok(pb::BinaryQuantizationEncoding::OneBit)) => Some(E::OneBit),
                Some(Ok(pb::BinaryQuantizationEncoding::TwoBits)) => Some(E::TwoBits),
                Some(Ok(pb::BinaryQuantizationEncoding::OneAndHalfBits)) => Some(E::OneAndHalfBits),
                Some(Err(_)) => return Err(invalid("Unknown binary quantization encoding")),
            };
            use pb::binary_quantization_query_encoding::{Setting, Variant};
            let query_encoding = match b.query_encoding.and_then(|q| q.variant) {
                None => None,
                Some(Variant::Setting(s)) => match Setting::try_from(s) {
                    Ok(Setting::Default) => Some(vicinity::BinaryQueryEncoding::Default),
                    Ok(Setting::Binary) => Some(vicinity::BinaryQueryEncoding::Binary),
                    Ok(Setting::Scalar4Bits) => Some(vicinity::BinaryQueryEncoding::Scalar4bits),
                    Ok(Setting::Scalar8Bits) => Some(vicinity::BinaryQueryEncoding::Scalar8bits),
                    Err(_) => return Err(invalid("Unknown binary quantization query encoding")),
                },
            };
            Ok(vicinity::QuantizationConfig::Binary(
                vicinity::BinaryQuantization {
                    always_ram: b.always_ram,
                    encoding,
                    query_encoding,
                },
            ))
        }
        Some(Q::Turboquant(_)) => Err(unsupported("turbo quantization")),
        None => Err(invalid("Unable to convert quantization config")),
    }
}

/// A wire quantization change: `Disabled` is `None`, the others as
/// [`quantization_from_proto`] reads them.
pub fn quantization_diff_from_proto(
    q: pb::QuantizationConfigDiff,
) -> Result<Option<vicinity::QuantizationConfig>, Status> {
    use pb::quantization_config::Quantization as Q;
    use pb::quantization_config_diff::Quantization as D;
    let quantization = match q.quantization {
        Some(D::Disabled(_)) => return Ok(None),
        Some(D::Scalar(s)) => Q::Scalar(s),
        Some(D::Product(p)) => Q::Product(p),
        Some(D::Binary(b)) => Q::Binary(b),
        Some(D::Turboquant(t)) => Q::Turboquant(t),
        None => return Err(invalid("Unable to convert quantization config")),
    };
    quantization_from_proto(pb::QuantizationConfig {
        quantization: Some(quantization),
    })
    .map(Some)
}

/// The engine's quantization config on the wire.
pub fn quantization_to_proto(q: &vicinity::QuantizationConfig) -> pb::QuantizationConfig {
    use pb::quantization_config::Quantization as Q;
    match q {
        vicinity::QuantizationConfig::Scalar(s) => pb::QuantizationConfig {
            quantization: Some(Q::Scalar(pb::ScalarQuantization {
                r#type: pb::QuantizationType::Int8 as i32,
                quantile: s.quantile,
                always_ram: s.always_ram,
                memory: None,
            })),
        },
        vicinity::QuantizationConfig::Binary(b) => {
            use pb::binary_quantization_query_encoding::{Setting, Variant};
            pb::QuantizationConfig {
                quantization: Some(Q::Binary(pb::BinaryQuantization {
                    always_ram: b.always_ram,
                    encoding: b.encoding.map(|e| {
                        (match e {
                            vicinity::BinaryEncoding::OneBit => {
                                pb::BinaryQuantizationEncoding::OneBit
                            }
                            vicinity::BinaryEncoding::TwoBits => {
                                pb::BinaryQuantizationEncoding::TwoBits
                            }
                            vicinity::BinaryEncoding::OneAndHalfBits => {
                                pb::BinaryQuantizationEncoding::OneAndHalfBits
                            }
                        }) as i32
                    }),
                    query_encoding: b
                        .query_encoding
                        .map(|q| pb::BinaryQuantizationQueryEncoding {
                            variant: Some(Variant::Setting(match q {
                                vicinity::BinaryQueryEncoding::Default => Setting::Default,
                                vicinity::BinaryQueryEncoding::Binary => Setting::Binary,
                                vicinity::BinaryQueryEncoding::Scalar4bits => Setting::Scalar4Bits,
                                vicinity::BinaryQueryEncoding::Scalar8bits => Setting::Scalar8Bits,
                            } as i32)),
                        }),
                    memory: None,
                })),
            }
        }
        vicinity::QuantizationConfig::Product(p) => pb::QuantizationConfig {
            quantization: Some(Q::Product(pb::ProductQuantization {
                compression: match p.compression {
                    vicinity::CompressionRatio::X4 => pb::CompressionRatio::X4,
                    vicinity::CompressionRatio::X8 => pb::CompressionRatio::X8,
                    vicinity::CompressionRatio::X16 => pb::CompressionRatio::X16,
                    vicinity::CompressionRatio::X32 => pb::CompressionRatio::X32,
                    vicinity::CompressionRatio::X64 => pb::CompressionRatio::X64,
                } as i32,
                always_ram: p.always_ram,
                memory: None,
            })),
        },
    }
}

/// Everything the Python client validates in `GetCollectionInfo`: status
/// Green, optimizer ok, the HNSW, optimizer and WAL config echo filled with
/// Qdrant's defaults, and no enum at its zero value.
pub fn info_to_proto(info: &vicinity::CollectionInfo, meta: &CollectionMeta) -> pb::CollectionInfo {
    let vectors = &info.config.vectors;
    let vectors_config = if vectors.len() == 1 && vectors.contains_key(vicinity::DEFAULT_VECTOR) {
        pb::vectors_config::Config::Params(vector_params_to_proto(
            &vectors[vicinity::DEFAULT_VECTOR],
        ))
    } else {
        pb::vectors_config::Config::ParamsMap(pb::VectorParamsMap {
            map: vectors
                .iter()
                .map(|(k, p)| (k.clone(), vector_params_to_proto(p)))
                .collect(),
        })
    };
    pb::CollectionInfo {
        status: match info.status {
            vicinity::CollectionStatus::Green => pb::CollectionStatus::Green,
            vicinity::CollectionStatus::Yellow => pb::CollectionStatus::Yellow,
        } as i32,
        optimizer_status: Some(pb::OptimizerStatus {
            ok: true,
            error: String::new(),
        }),
        segments_count: info.segments_count as u64,
        config: Some(pb::CollectionConfig {
            params: Some(pb::CollectionParams {
                shard_number: meta.shard_number,
                on_disk_payload: meta.on_disk_payload,
                vectors_config: Some(pb::VectorsConfig {
                    config: Some(vectors_config),
                }),
                replication_factor: Some(1),
                write_consistency_factor: Some(1),
                read_fan_out_factor: None,
                sharding_method: None,
                sparse_vectors_config: (!info.config.sparse_vectors.is_empty()).then(|| {
                    pb::SparseVectorConfig {
                        map: info
                            .config
                            .sparse_vectors
                            .iter()
                            .map(|(k, p)| (k.clone(), sparse_params_to_proto(p)))
                            .collect(),
                    }
                }),
                read_fan_out_delay_ms: None,
                payload: None,
                id_tracker: None,
            }),
            hnsw_config: Some(hnsw_to_proto(&info.config.hnsw_config, &meta.hnsw_extra)),
            optimizer_config: Some(meta.optimizers),
            wal_config: Some(meta.wal),
            quantization_config: info
                .config
                .quantization_config
                .as_ref()
                .map(quantization_to_proto),
            strict_mode_config: Some(meta.strict_mode.to_proto()),
            metadata: meta.metadata.clone(),
        }),
        payload_schema: info
            .payload_schema
            .iter()
            .map(|(key, index)| {
                use vicinity::FieldType as T;
                let data_type = match index.params.field_type {
                    T::Keyword => pb::PayloadSchemaType::Keyword,
                    T::Integer => pb::PayloadSchemaType::Integer,
                    T::Float => pb::PayloadSchemaType::Float,
                    T::Geo => pb::PayloadSchemaType::Geo,
                    T::Text => pb::PayloadSchemaType::Text,
                    T::Bool => pb::PayloadSchemaType::Bool,
                    T::Datetime => pb::PayloadSchemaType::Datetime,
                    T::Uuid => pb::PayloadSchemaType::Uuid,
                };
                (
                    key.clone(),
                    pb::PayloadSchemaInfo {
                        data_type: data_type as i32,
                        params: None,
                        points: Some(index.points),
                    },
                )
            })
            .collect(),
        points_count: Some(info.points_count as u64),
        indexed_vectors_count: Some(info.indexed_vectors_count as u64),
        warnings: Vec::new(),
        update_queue: Some(pb::UpdateQueueInfo {
            length: 0,
            deferred_points: None,
        }),
        created_at: Some(meta.created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_single_and_named() {
        let single = pb::CreateCollection {
            collection_name: "c".into(),
            vectors_config: Some(pb::VectorsConfig {
                config: Some(pb::vectors_config::Config::Params(pb::VectorParams {
                    size: 4,
                    distance: pb::Distance::Dot as i32,
                    ..Default::default()
                })),
            }),
            hnsw_config: Some(pb::HnswConfigDiff {
                m: Some(8),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (name, config, _) = create_from_proto(single).unwrap();
        assert_eq!(name, "c");
        assert_eq!(config.vectors[""].size, 4);
        assert_eq!(config.vectors[""].distance, Distance::Dot);
        assert_eq!(config.hnsw_config.m, 8);
        assert_eq!(config.vectors[""].on_disk, None);
    }

    #[test]
    fn on_disk_reaches_the_engine_and_is_echoed() {
        let params = pb::VectorParams {
            size: 3,
            distance: pb::Distance::Cosine as i32,
            on_disk: Some(true),
            ..Default::default()
        };
        let v = vector_params(params).unwrap();
        assert_eq!(v.on_disk, Some(true));
        assert_eq!(vector_params_to_proto(&v).on_disk, Some(true));
        let plain = VectorParams::new(3, Distance::Cosine);
        assert_eq!(vector_params_to_proto(&plain).on_disk, Some(false));
    }

    #[test]
    fn unknown_distance_is_invalid() {
        assert_eq!(
            distance_from_proto(0).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            distance_from_proto(99).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }

    #[test]
    fn info_has_no_zero_enums() {
        let c = vicinity::Collection::new("c", CollectionConfig::single(3, Distance::Cosine), None)
            .unwrap();
        let info = info_to_proto(&c.info(), &CollectionMeta::new());
        assert_eq!(info.status, pb::CollectionStatus::Green as i32);
        let config = info.config.unwrap();
        let wal = config.wal_config.unwrap();
        assert!(wal.wal_capacity_mb.is_some() && wal.wal_segments_ahead.is_some());
        let opt = config.optimizer_config.unwrap();
        assert!(opt.deleted_threshold.is_some() && opt.flush_interval_sec.is_some());
        match config
            .params
            .unwrap()
            .vectors_config
            .unwrap()
            .config
            .unwrap()
        {
            pb::vectors_config::Config::Params(p) => {
                assert_eq!(p.distance, pb::Distance::Cosine as i32)
            }
            other => panic!("{other:?}"),
        }
    }
}
