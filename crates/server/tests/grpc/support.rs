//! Shared helpers: servers, clients and status codes.

use qdrant_client::{Qdrant, QdrantError};
use tonic::transport::Channel;
use vicinity_server::pb::collections_client::CollectionsClient;
use vicinity_server::pb::points_client::PointsClient;
use vicinity_server::testing::TestServer;

/// A plain server without keys.
pub async fn server() -> TestServer {
    TestServer::start().await.expect("test server starts")
}

/// The official client, connected to `s`.
pub fn client(s: &TestServer) -> Qdrant {
    Qdrant::from_url(&s.grpc_url())
        .skip_compatibility_check()
        .build()
        .expect("client builds")
}

/// Our generated clients, for messages the official client will not send.
pub async fn raw(s: &TestServer) -> (CollectionsClient<Channel>, PointsClient<Channel>) {
    let channel = Channel::from_shared(s.grpc_url())
        .expect("url")
        .connect()
        .await
        .expect("connects");
    (
        CollectionsClient::new(channel.clone()),
        PointsClient::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX),
    )
}

/// The status code of a client error.
pub fn code<T: std::fmt::Debug>(r: Result<T, QdrantError>) -> tonic::Code {
    match r {
        Err(QdrantError::ResponseError { status }) => status.code(),
        other => panic!("expected a status, got {other:?}"),
    }
}

/// The status of a client error.
pub fn status<T: std::fmt::Debug>(r: Result<T, QdrantError>) -> tonic::Status {
    match r {
        Err(QdrantError::ResponseError { status }) => status,
        other => panic!("expected a status, got {other:?}"),
    }
}
