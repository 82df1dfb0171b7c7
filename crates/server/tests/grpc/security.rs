//! API keys (full and read-only) on gRPC and HTTP, and TLS with a
//! generated certificate on both ports.

use std::net::SocketAddr;
use std::sync::Arc;

use ::qdrant_client::Qdrant;
use ::qdrant_client::qdrant::{CreateCollectionBuilder, Distance, VectorParamsBuilder};
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use vicinity_server::testing::TestServer;
use vicinity_server::{ApiKeys, ServerConfig, TlsFiles};

use crate::support::{code, status};

async fn keyed_server() -> TestServer {
    let config = ServerConfig {
        keys: ApiKeys {
            api_key: Some("secret".into()),
            read_only_api_key: Some("reader".into()),
            jwt_rbac: false,
        },
        ..ServerConfig::default()
    };
    TestServer::start_with(config).await.unwrap()
}

fn client_with(s: &TestServer, key: Option<&str>) -> Qdrant {
    let mut b = Qdrant::from_url(&s.grpc_url()).skip_compatibility_check();
    if let Some(k) = key {
        b = b.api_key(k);
    }
    b.build().unwrap()
}

fn create(name: &str) -> CreateCollectionBuilder {
    CreateCollectionBuilder::new(name).vectors_config(VectorParamsBuilder::new(2, Distance::Dot))
}

/// Sends one HTTP/1.1 GET and returns the status code and body.
async fn get_over<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    // a TLS peer may close without close_notify; what was read is enough
    let _ = stream.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    get_over(
        tokio::net::TcpStream::connect(addr).await.unwrap(),
        path,
        headers,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_on_grpc() {
    let s = keyed_server().await;
    let none = client_with(&s, None);
    let wrong = client_with(&s, Some("guess"));
    let admin = client_with(&s, Some("secret"));
    let reader = client_with(&s, Some("reader"));

    // health checks need no key
    assert_eq!(none.health_check().await.unwrap().version, "1.20.0");
    assert_eq!(code(none.list_collections().await), Code::Unauthenticated);
    assert_eq!(code(wrong.list_collections().await), Code::Unauthenticated);
    assert_eq!(
        code(none.create_collection(create("c")).await),
        Code::Unauthenticated
    );

    admin.create_collection(create("c")).await.unwrap();
    assert_eq!(admin.list_collections().await.unwrap().collections.len(), 1);

    // the read-only key reads, and may not write
    assert_eq!(
        reader.list_collections().await.unwrap().collections.len(),
        1
    );
    assert!(reader.collection_info("c").await.is_ok());
    assert_eq!(
        code(reader.create_collection(create("d")).await),
        Code::PermissionDenied
    );
    let refused = status(reader.delete_collection("c").await);
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        refused.message(),
        "Forbidden: Global manage access is required"
    );
    assert!(admin.collection_exists("c").await.unwrap());
    assert!(!admin.collection_exists("d").await.unwrap());

    // `authorization: Bearer` works like `api-key`
    let channel = Channel::from_shared(s.grpc_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut raw = vicinity_server::pb::collections_client::CollectionsClient::new(channel);
    let mut req = tonic::Request::new(vicinity_server::pb::ListCollectionsRequest {});
    req.metadata_mut()
        .insert("authorization", "Bearer secret".parse().unwrap());
    assert_eq!(
        raw.list(req).await.unwrap().into_inner().collections.len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_on_http() {
    let s = keyed_server().await;
    let addr = s.http_addr();
    // the root and the probes are open, as in Qdrant
    let (st, body) = http_get(addr, "/", &[]).await;
    assert_eq!(st, 200);
    assert!(body.contains("\"version\":\"1.20.0\""), "{body}");
    assert_eq!(http_get(addr, "/healthz", &[]).await.0, 200);
    assert_eq!(http_get(addr, "/readyz", &[]).await.0, 200);
    assert_eq!(http_get(addr, "/livez", &[]).await.0, 200);
    // everything else needs a key
    assert_eq!(http_get(addr, "/collections", &[]).await.0, 401);
    assert_eq!(
        http_get(addr, "/collections", &[("api-key", "guess")])
            .await
            .0,
        401
    );
    assert_eq!(
        http_get(addr, "/collections", &[("api-key", "secret")])
            .await
            .0,
        200
    );
    // the read-only key lists collections too (a read)
    let (st, body) = http_get(addr, "/collections", &[("authorization", "Bearer reader")]).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("\"collections\""), "{body}");
}

fn certificate() -> TlsFiles {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    TlsFiles {
        cert_pem: ck.cert.pem().into_bytes(),
        key_pem: ck.signing_key.serialize_pem().into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_on_both_ports() {
    let tls = certificate();
    let config = ServerConfig {
        tls: Some(tls.clone()),
        ..ServerConfig::default()
    };
    let s = TestServer::start_with(config).await.unwrap();
    assert!(s.grpc_url().starts_with("https://"));

    // gRPC over TLS, trusting the generated certificate
    let channel = Channel::from_shared(s.grpc_url())
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&tls.cert_pem))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut q = vicinity_server::pb::qdrant_client::QdrantClient::new(channel);
    let reply = q
        .health_check(vicinity_server::pb::HealthCheckRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.version, "1.20.0");

    // plain text to the TLS port fails
    let plain = Channel::from_shared(format!("http://{}", s.grpc_addr()))
        .unwrap()
        .connect()
        .await;
    if let Ok(plain) = plain {
        let mut q = vicinity_server::pb::qdrant_client::QdrantClient::new(plain);
        assert!(
            q.health_check(vicinity_server::pb::HealthCheckRequest {})
                .await
                .is_err()
        );
    }

    // HTTPS on the HTTP port
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&tls.cert_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    // a client that connects and says nothing does not hold up the others
    let _silent = tokio::net::TcpStream::connect(s.http_addr()).await.unwrap();
    let tcp = tokio::net::TcpStream::connect(s.http_addr()).await.unwrap();
    let stream = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let (st, body) = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        get_over(stream, "/", &[]),
    )
    .await
    .expect("answered while another handshake is pending");
    assert_eq!(st, 200);
    assert!(body.contains("qdrant - vector search engine"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_certificates_are_refused_at_start() {
    let good = certificate();
    for tls in [
        TlsFiles {
            cert_pem: b"not a certificate".to_vec(),
            key_pem: good.key_pem.clone(),
        },
        TlsFiles {
            cert_pem: good.cert_pem.clone(),
            key_pem: b"not a key".to_vec(),
        },
    ] {
        let config = ServerConfig {
            tls: Some(tls),
            ..ServerConfig::default()
        };
        assert!(TestServer::start_with(config).await.is_err());
    }
}

mod jwt {
    //! Qdrant's JWT access control on both protocols, with tokens the test
    //! signs itself.

    use ::qdrant_client::Payload;
    use ::qdrant_client::qdrant::{
        LookupLocationBuilder, PointStruct, QueryPointsBuilder, RecommendInputBuilder,
        UpsertPointsBuilder,
    };
    use serde_json::json;
    use vicinity_server::auth::jwt::sign;

    use super::*;
    use crate::support::status;

    async fn server() -> TestServer {
        let config = ServerConfig {
            keys: ApiKeys {
                api_key: Some("secret".into()),
                read_only_api_key: None,
                jwt_rbac: true,
            },
            ..ServerConfig::default()
        };
        let s = TestServer::start_with(config).await.unwrap();
        let admin = client_with(&s, Some("secret"));
        for name in ["a", "b", "c", "users"] {
            admin.create_collection(create(name)).await.unwrap();
            admin
                .upsert_points(
                    UpsertPointsBuilder::new(
                        name,
                        vec![PointStruct::new(1, vec![1.0, 0.5], Payload::new())],
                    )
                    .wait(true),
                )
                .await
                .unwrap();
        }
        s
    }

    fn token(claims: serde_json::Value) -> String {
        sign(&claims, "secret")
    }

    fn point(id: u64) -> UpsertPointsBuilder {
        UpsertPointsBuilder::new(
            "a",
            vec![PointStruct::new(id, vec![0.5, 1.0], Payload::new())],
        )
        .wait(true)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tokens_over_grpc() {
        let s = server().await;
        // global read: reads, no writes
        let reader = client_with(&s, Some(&token(json!({"access": "r"}))));
        assert_eq!(
            reader.list_collections().await.unwrap().collections.len(),
            4
        );
        let e = status(reader.upsert_points(point(2)).await);
        assert_eq!(e.code(), Code::PermissionDenied);
        assert_eq!(e.message(), "Forbidden: Global manage access is required");

        // per collection: a read-write, b read
        let limited = client_with(
            &s,
            Some(&token(json!({"access": [
                {"collection": "a", "access": "rw"},
                {"collection": "b", "access": "r"},
            ]}))),
        );
        let mut names: Vec<String> = limited
            .list_collections()
            .await
            .unwrap()
            .collections
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        assert_eq!(names, vec!["a", "b"]);
        limited.upsert_points(point(3)).await.unwrap();
        let e = status(
            limited
                .upsert_points(UpsertPointsBuilder::new(
                    "b",
                    vec![PointStruct::new(9, vec![0.0, 1.0], Payload::new())],
                ))
                .await,
        );
        assert_eq!(
            (e.code(), e.message()),
            (
                Code::PermissionDenied,
                "Forbidden: Write access to collection b is required"
            )
        );
        let e = status(limited.collection_info("c").await);
        assert_eq!(e.message(), "Forbidden: Access to collection c is required");
        let e = status(limited.create_collection(create("d")).await);
        assert_eq!(e.message(), "Forbidden: Global access is required");
        // a lookup into a collection the token does not list
        let rec = |from: &str| {
            QueryPointsBuilder::new("a")
                .query(RecommendInputBuilder::default().add_positive(1u64).build())
                .lookup_from(LookupLocationBuilder::new(from))
        };
        assert!(limited.query(rec("b")).await.is_ok());
        let e = status(limited.query(rec("c")).await);
        assert_eq!(e.message(), "Forbidden: Access to collection c is required");

        // refused tokens
        let expired = client_with(&s, Some(&token(json!({"exp": 1000}))));
        let e = status(expired.list_collections().await);
        assert_eq!(
            (e.code(), e.message()),
            (Code::PermissionDenied, "ExpiredSignature")
        );
        let forged = client_with(&s, Some(&sign(&json!({"access": "m"}), "guess")));
        let e = status(forged.list_collections().await);
        assert_eq!(
            (e.code(), e.message()),
            (Code::PermissionDenied, "InvalidSignature")
        );

        // value_exists: valid while the user's point is there
        let stateful = client_with(
            &s,
            Some(&token(json!({
                "access": "m",
                "value_exists": {"collection": "users", "matches": [{"key": "user", "value": "u7"}]},
            }))),
        );
        let e = status(stateful.list_collections().await);
        assert_eq!(
            (e.code(), e.message()),
            (
                Code::Unauthenticated,
                "Invalid JWT, stateful validation failed"
            )
        );
        let admin = client_with(&s, Some("secret"));
        let payload = crate::client::payload(json!({"user": "u7"}));
        admin
            .upsert_points(
                UpsertPointsBuilder::new(
                    "users",
                    vec![PointStruct::new(7, vec![0.1, 0.2], payload)],
                )
                .wait(true),
            )
            .await
            .unwrap();
        assert!(stateful.list_collections().await.is_ok());
        s.stop().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tokens_over_rest() {
        let s = server().await;
        let addr = s.http_addr();
        let limited = token(json!({"access": [
            {"collection": "a", "access": "rw"},
            {"collection": "b", "access": "r"},
            {"collection": "p", "access": "prw"},
        ]}));
        let h = [("api-key", limited.as_str())];
        let (st, body) = http_get(addr, "/collections", &h).await;
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value =
            serde_json::from_str(body.split("\r\n\r\n").last().unwrap()).unwrap();
        let names: Vec<&str> = v["result"]["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["a", "b"]);
        let (st, body) = http_get(addr, "/collections/c", &h).await;
        assert_eq!(st, 403);
        assert!(
            body.contains("Forbidden: Access to collection c is required"),
            "{body}"
        );
        let (st, _) = http_get(addr, "/collections/b/exists", &h).await;
        assert_eq!(st, 200);
        // an expired token: plain text, as Qdrant's middleware answers
        let expired = token(json!({"exp": 1000}));
        let (st, body) = http_get(
            addr,
            "/collections",
            &[("authorization", &format!("Bearer {expired}"))],
        )
        .await;
        assert_eq!(st, 403);
        assert!(body.ends_with("ExpiredSignature"), "{body}");
        // a token that is not one
        let (st, body) = http_get(addr, "/collections", &[("api-key", "a.b.c")]).await;
        assert_eq!(st, 401);
        assert!(body.ends_with("Invalid API key or JWT"), "{body}");
        s.stop().await.unwrap();
    }
}
