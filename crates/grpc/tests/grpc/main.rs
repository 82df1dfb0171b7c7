//! gRPC integration tests.
