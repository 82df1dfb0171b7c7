//! Qdrant's gRPC protocol: proto messages converted to engine requests
//! ([`convert`]) and one service struct per Qdrant service ([`service`]).

pub mod convert;
pub mod service;
