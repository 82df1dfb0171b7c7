//! Integration tests of the gRPC server: the official Rust client against
//! an in-process server, API keys and TLS, and a catalogue of malformed
//! requests. One binary, one module per area.

mod client;
mod filter_shape;
mod lookup;
mod malformed;
mod query;
mod security;
mod support;
