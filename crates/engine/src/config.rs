//! Collection configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vicinity_index::{Distance, HnswConfig};

use crate::{Error, Result};

/// The name of the default (unnamed) vector.
pub const DEFAULT_VECTOR: &str = "";

/// The largest vector dimension accepted (Qdrant's limit).
pub const MAX_DIMENSION: usize = 65_536;

/// One vector space of a collection: its dimension, distance and index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VectorParams {
    /// The dimension, 1 to 65,536.
    pub size: usize,
    /// How vectors are compared.
    pub distance: Distance,
    /// HNSW parameters for this vector; `None` takes the collection's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hnsw_config: Option<HnswConfig>,
    /// Qdrant's `on_disk`: `true` leaves the vectors of a durable
    /// collection in their file, paged in by the OS as searches touch
    /// them, instead of reading them into memory when it opens. In-memory
    /// collections ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<bool>,
    /// Quantization for this vector; `None` takes the collection's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization_config: Option<QuantizationConfig>,
    /// Set for a multivector space: each point holds a matrix of vectors
    /// of `size`, compared by MaxSim (see [`vicinity_index::multi`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multivector_config: Option<MultiVectorConfig>,
    /// How each value is stored: `float32` (the default), `float16` (2
    /// bytes) or `uint8` (1 byte; see [`vicinity_index::datatype`] for
    /// the conversions). Kept as given, to echo it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datatype: Option<Datatype>,
}

/// Qdrant's `multivector_config`: how a point's matrix is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiVectorConfig {
    /// The comparator; `max_sim`, the only one.
    pub comparator: MultiVectorComparator,
}

/// How two multivectors are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiVectorComparator {
    /// For each query vector, the best similarity over the point's
    /// vectors, summed over the query's vectors.
    MaxSim,
}

impl MultiVectorConfig {
    /// MaxSim, the one comparator.
    pub const MAX_SIM: MultiVectorConfig = MultiVectorConfig {
        comparator: MultiVectorComparator::MaxSim,
    };
}

/// Qdrant's `quantization_config`, in its JSON shape (`{"scalar": {"type":
/// "int8", "quantile": 0.99, "always_ram": true}}`). Searches walk the
/// graph over the codes and rescore the best candidates with the vectors
/// (see [`QuantizationSearchParams`](crate::QuantizationSearchParams)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantizationConfig {
    /// Each value as an 8-bit code.
    Scalar(ScalarQuantization),
    /// Each value as one bit, its sign, or as two or one and a half bits
    /// (`{"binary": {"always_ram": true, "encoding": "two_bits"}}`).
    Binary(BinaryQuantization),
    /// Chunks of values as the numbers of their nearest centroids
    /// (`{"product": {"compression": "x16"}}`).
    Product(ProductQuantization),
}

/// Product quantization's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductQuantization {
    /// How many times smaller than `float32` the codes are: chunks of 1,
    /// 2, 4, 8 or 16 values to a byte.
    pub compression: CompressionRatio,
    /// Qdrant's `always_ram`: codes stay in memory (ours always do; kept
    /// to echo it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_ram: Option<bool>,
}

/// Product quantization's compression ratio over `float32` vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressionRatio {
    /// One value to a byte.
    X4,
    /// Two values to a byte.
    X8,
    /// Four values to a byte.
    X16,
    /// Eight values to a byte.
    X32,
    /// Sixteen values to a byte.
    X64,
}

impl CompressionRatio {
    /// Values per byte of code.
    pub fn bucket(self) -> usize {
        match self {
            CompressionRatio::X4 => 1,
            CompressionRatio::X8 => 2,
            CompressionRatio::X16 => 4,
            CompressionRatio::X32 => 8,
            CompressionRatio::X64 => 16,
        }
    }
}

/// Binary quantization's parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BinaryQuantization {
    /// Qdrant's `always_ram`: codes stay in memory (ours always do; kept
    /// to echo it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_ram: Option<bool>,
    /// Bits per value: `one_bit` (the default), `two_bits` or
    /// `one_and_half_bits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<BinaryEncoding>,
    /// How queries are encoded: `default` or `binary` (as the codes are),
    /// `scalar8bits` or `scalar4bits` (each value at 8 or 4 bits against
    /// the codes' bits: slower, closer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_encoding: Option<BinaryQueryEncoding>,
}

/// Bits per value of binary codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryEncoding {
    /// One bit: the sign.
    OneBit,
    /// Two bits: below, within or above two thirds of a standard deviation
    /// around each dimension's mean.
    TwoBits,
    /// The first of the two bits for every value, and the second bits of
    /// each pair of values ORed.
    OneAndHalfBits,
}

/// How a query is encoded against binary codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryQueryEncoding {
    /// As the codes are.
    Default,
    /// As the codes are.
    Binary,
    /// Each value at 4 bits.
    Scalar4bits,
    /// Each value at 8 bits.
    Scalar8bits,
}

/// Scalar quantization's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalarQuantization {
    /// The code type: `int8`, the only one.
    #[serde(rename = "type")]
    pub kind: ScalarType,
    /// The share of values (0.5 to 1) whose range the codes cover; values
    /// outside it are clamped. `None`: the whole range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f32>,
    /// Qdrant's `always_ram`: codes stay in memory (ours always do; kept
    /// to echo it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_ram: Option<bool>,
}

/// The code type of scalar quantization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalarType {
    /// Signed 8-bit codes.
    Int8,
}

impl QuantizationConfig {
    /// Scalar `int8` quantization over the values' `quantile` range.
    pub fn scalar(quantile: Option<f32>) -> Self {
        QuantizationConfig::Scalar(ScalarQuantization {
            kind: ScalarType::Int8,
            quantile,
            always_ram: None,
        })
    }

    /// Whether searches rescore with the original vectors when the request
    /// does not say: as in Qdrant, not for scalar codes (their scores are
    /// returned as they are) nor product ones, and for binary ones.
    pub fn rescores_by_default(&self) -> bool {
        match self {
            QuantizationConfig::Scalar(_) | QuantizationConfig::Product(_) => false,
            // binary codes' scores are an ordering proxy
            QuantizationConfig::Binary(_) => true,
        }
    }

    /// Binary quantization (one bit per value).
    pub fn binary() -> Self {
        QuantizationConfig::Binary(BinaryQuantization::default())
    }

    fn validate(&self, at: &str) -> Result<()> {
        match self {
            QuantizationConfig::Scalar(s) => match s.quantile {
                Some(q) if !(0.5..=1.0).contains(&q) => Err(Error::BadRequest(format!(
                    "Validation error in JSON body: [{at}.scalar.quantile: value {q} invalid, must be from 0.5 to 1]"
                ))),
                _ => Ok(()),
            },
            QuantizationConfig::Binary(_) | QuantizationConfig::Product(_) => Ok(()),
        }
    }

    /// Product quantization at `compression`.
    pub fn product(compression: CompressionRatio) -> Self {
        QuantizationConfig::Product(ProductQuantization {
            compression,
            always_ram: None,
        })
    }
}

impl VectorParams {
    /// Parameters with the collection's HNSW settings.
    pub fn new(size: usize, distance: Distance) -> Self {
        VectorParams {
            size,
            distance,
            hnsw_config: None,
            on_disk: None,
            quantization_config: None,
            multivector_config: None,
            datatype: None,
        }
    }

    /// The same parameters with values stored as `datatype`.
    pub fn with_datatype(mut self, datatype: Datatype) -> Self {
        self.datatype = Some(datatype);
        self
    }

    /// How values are stored (`float32` unless set).
    pub fn datatype(&self) -> Datatype {
        self.datatype.unwrap_or_default()
    }

    /// The same parameters for a multivector space (MaxSim).
    pub fn with_multivector(mut self) -> Self {
        self.multivector_config = Some(MultiVectorConfig::MAX_SIM);
        self
    }

    /// Whether each point holds a matrix of vectors of this name.
    pub fn is_multi(&self) -> bool {
        self.multivector_config.is_some()
    }

    /// The same parameters with `on_disk` set.
    pub fn with_on_disk(mut self, on_disk: bool) -> Self {
        self.on_disk = Some(on_disk);
        self
    }

    /// The same parameters with their own HNSW settings.
    pub fn with_hnsw(mut self, hnsw: HnswConfig) -> Self {
        self.hnsw_config = Some(hnsw);
        self
    }
}

/// One sparse vector space: its inverted index and weighting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVectorParams {
    /// The inverted index's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<SparseIndexParams>,
    /// `idf`: query weights are multiplied by each index's inverse
    /// document frequency over the collection's live points (BM25's IDF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modifier: Option<Modifier>,
}

/// Settings of a sparse vector's inverted index.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseIndexParams {
    /// A filtered search whose filter passes fewer points than this scores
    /// them one by one instead of walking the posting lists (Qdrant's
    /// default: 5,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_scan_threshold: Option<usize>,
    /// Kept to echo it: the index is held in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<bool>,
    /// The weights' type in Qdrant's optimized index (`float16` rounds
    /// them, `uint8` quantizes each posting list). Kept to echo it: the
    /// weights are held as `float32`, as Qdrant's mutable index holds them
    /// (its scores are those until its optimizer rebuilds a segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datatype: Option<Datatype>,
}

/// How a sparse vector's query weights are modified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modifier {
    /// As given.
    None,
    /// Times the inverse document frequency.
    Idf,
}

pub use vicinity_index::Datatype;

/// Qdrant's default `full_scan_threshold` of a sparse index.
pub const DEFAULT_SPARSE_FULL_SCAN_THRESHOLD: usize = 5_000;

impl SparseVectorParams {
    /// Whether queries are weighted by IDF.
    pub fn idf(&self) -> bool {
        self.modifier == Some(Modifier::Idf)
    }

    /// The index's full-scan threshold.
    pub fn full_scan_threshold(&self) -> usize {
        self.index
            .as_ref()
            .and_then(|i| i.full_scan_threshold)
            .unwrap_or(DEFAULT_SPARSE_FULL_SCAN_THRESHOLD)
    }
}

/// A collection's configuration: its vector spaces, by name, and the
/// default HNSW settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionConfig {
    /// Vector spaces by name; the unnamed default vector is named `""`.
    pub vectors: BTreeMap<String, VectorParams>,
    /// HNSW settings for vectors that do not set their own.
    #[serde(default)]
    pub hnsw_config: HnswConfig,
    /// Quantization for vectors that do not set their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization_config: Option<QuantizationConfig>,
    /// Sparse vector spaces by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sparse_vectors: BTreeMap<String, SparseVectorParams>,
}

impl CollectionConfig {
    /// A collection with one unnamed vector.
    pub fn single(size: usize, distance: Distance) -> Self {
        Self::named([(DEFAULT_VECTOR, VectorParams::new(size, distance))])
    }

    /// A collection with named vectors.
    pub fn named<S: Into<String>>(vectors: impl IntoIterator<Item = (S, VectorParams)>) -> Self {
        CollectionConfig {
            vectors: vectors.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            hnsw_config: HnswConfig::default(),
            quantization_config: None,
            sparse_vectors: BTreeMap::new(),
        }
    }

    /// The same configuration with a sparse vector space.
    pub fn with_sparse(mut self, name: impl Into<String>, params: SparseVectorParams) -> Self {
        self.sparse_vectors.insert(name.into(), params);
        self
    }

    /// The same configuration with other default HNSW settings.
    pub fn with_hnsw(mut self, hnsw: HnswConfig) -> Self {
        self.hnsw_config = hnsw;
        self
    }

    /// The same configuration with quantization for every vector.
    pub fn with_quantization(mut self, quantization: QuantizationConfig) -> Self {
        self.quantization_config = Some(quantization);
        self
    }

    /// The quantization of one vector: its own, else the collection's.
    /// Multivectors are not quantized (their configuration is kept and
    /// echoed; searches score the `f32` vectors).
    pub fn quantization_for(&self, name: &str) -> Option<&QuantizationConfig> {
        if self.vectors.get(name).is_some_and(VectorParams::is_multi) {
            return None;
        }
        self.vectors
            .get(name)
            .and_then(|v| v.quantization_config.as_ref())
            .or(self.quantization_config.as_ref())
    }

    /// The HNSW settings of one vector.
    pub fn hnsw_for(&self, name: &str) -> HnswConfig {
        self.vectors
            .get(name)
            .and_then(|v| v.hnsw_config)
            .unwrap_or(self.hnsw_config)
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        if self.vectors.is_empty() && self.sparse_vectors.is_empty() {
            return Err(Error::BadRequest(
                "a collection needs at least one vector".into(),
            ));
        }
        if let Some(name) = self
            .sparse_vectors
            .keys()
            .find(|n| self.vectors.contains_key(*n))
        {
            return Err(Error::BadRequest(format!(
                "Vector name {name} is used for both dense and sparse vectors"
            )));
        }
        self.hnsw_config.validate()?;
        if let Some(q) = &self.quantization_config {
            q.validate("quantization_config")?;
        }
        for (name, params) in &self.vectors {
            if let Some(q) = &params.quantization_config {
                q.validate(&format!("vectors.{name}.quantization_config"))?;
            }
            if !(1..=MAX_DIMENSION).contains(&params.size) {
                return Err(Error::BadRequest(format!(
                    "Validation error in JSON body: [vectors.{name}.size: value {} invalid, must be from 1 to {MAX_DIMENSION}]",
                    params.size
                )));
            }
            if let Some(h) = params.hnsw_config {
                h.validate()?;
            }
        }
        Ok(())
    }
}

/// Checks a collection name: 1 to 255 characters, none of
/// `< > : " / \ | ? *` or NUL, and not `.` or `..` (names become folder
/// names).
pub fn validate_collection_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::BadRequest(format!(
            "Validation error in path parameters: [name: {why}]"
        )))
    };
    if name.is_empty() || name.len() > 255 {
        return bad("collection name must be 1 to 255 characters");
    }
    if name == "." || name == ".." {
        return bad("collection name cannot be \".\" or \"..\"");
    }
    if let Some(c) = name.chars().find(|c| {
        matches!(
            c,
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' | '\0'
        )
    }) {
        return bad(&format!("collection name cannot contain \"{c}\" char"));
    }
    Ok(())
}
