//! Proto messages <-> engine types. Each conversion validates, and a
//! request that fails is refused with `InvalidArgument` (or `Unimplemented`
//! for what the engine does not do yet) before the engine is called.

pub mod collection;
pub mod filter;
pub mod id;
pub mod points;
pub mod query;
pub mod selector;
pub mod value;
pub mod vector;
