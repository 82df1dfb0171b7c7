//! A catalogue of malformed REST requests: each gets the status Qdrant
//! gives and a message that says what is wrong, the server keeps serving
//! and the data is unchanged.

use std::net::SocketAddr;

use serde_json::json;
use vicinity_server::testing::TestServer;
use vicinity_server::{ApiKeys, ServerConfig};

use crate::http::{get, json, send};

const JSON: Option<&str> = Some("application/json");

/// One request and what the answer must be.
struct Case {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: String,
    status: u16,
    /// A piece of the error message.
    says: &'static str,
}

fn case(
    what: &'static str,
    method: &'static str,
    path: &'static str,
    body: impl Into<String>,
    status: u16,
    says: &'static str,
) -> Case {
    Case {
        what,
        method,
        path,
        content_type: JSON,
        body: body.into(),
        status,
        says,
    }
}

const UPSERT: &str = "/collections/c/points?wait=true";
const QUERY: &str = "/collections/c/points/query";
const SCROLL: &str = "/collections/c/points/scroll";

fn nested(depth: usize) -> String {
    let mut f = json!({"must": [{"key": "n", "match": {"value": 1}}]});
    for _ in 0..depth {
        f = json!({ "must": [f] });
    }
    json!({ "filter": f }).to_string()
}

fn catalogue() -> Vec<Case> {
    let fmt = "Format error in JSON body";
    let p = |v: &str| format!(r#"{{"points": [{{"id": 9, "vector": {v}}}]}}"#);
    let mut cases = vec![
        // the body itself
        case("broken JSON", "PUT", UPSERT, r#"{"points": ["#, 400, fmt),
        case("empty body", "PUT", UPSERT, "", 400, fmt),
        case(
            "trailing garbage",
            "PUT",
            UPSERT,
            r#"{"points": []} x"#,
            400,
            fmt,
        ),
        case("a list for an object", "PUT", UPSERT, "[]", 400, fmt),
        case(
            "a string for points",
            "PUT",
            UPSERT,
            r#"{"points": "all"}"#,
            400,
            fmt,
        ),
        case(
            "neither points nor batch",
            "PUT",
            UPSERT,
            "{}",
            400,
            "PointInsertOperations",
        ),
        Case {
            content_type: Some("text/plain"),
            ..case(
                "text/plain",
                "PUT",
                UPSERT,
                p("[1, 0, 0]"),
                400,
                "Content type error",
            )
        },
        Case {
            content_type: None,
            ..case(
                "no content type",
                "PUT",
                UPSERT,
                p("[1, 0, 0]"),
                400,
                "Content type error",
            )
        },
        case(
            "deep JSON arrays",
            "PUT",
            UPSERT,
            "[".repeat(100_000),
            400,
            fmt,
        ),
        case(
            "a deeply nested filter",
            "POST",
            SCROLL,
            nested(200),
            400,
            fmt,
        ),
        // ids
        case(
            "negative id",
            "PUT",
            UPSERT,
            r#"{"points": [{"id": -1, "vector": [1,0,0]}]}"#,
            400,
            fmt,
        ),
        case(
            "float id",
            "PUT",
            UPSERT,
            r#"{"points": [{"id": 1.5, "vector": [1,0,0]}]}"#,
            400,
            fmt,
        ),
        case(
            "bad UUID",
            "PUT",
            UPSERT,
            r#"{"points": [{"id": "not-a-uuid", "vector": [1,0,0]}]}"#,
            400,
            fmt,
        ),
        case(
            "null id",
            "PUT",
            UPSERT,
            r#"{"points": [{"id": null, "vector": [1,0,0]}]}"#,
            400,
            fmt,
        ),
        case(
            "missing id",
            "PUT",
            UPSERT,
            r#"{"points": [{"vector": [1,0,0]}]}"#,
            400,
            "missing field `id`",
        ),
        // vectors
        case(
            "NaN as a string",
            "PUT",
            UPSERT,
            p(r#"["NaN", 0, 0]"#),
            400,
            fmt,
        ),
        case(
            "NaN as a bare word",
            "PUT",
            UPSERT,
            p("[NaN, 0, 0]"),
            400,
            fmt,
        ),
        case(
            "null in a vector",
            "PUT",
            UPSERT,
            p("[null, 0, 0]"),
            400,
            fmt,
        ),
        case(
            "1e999 in a vector",
            "PUT",
            UPSERT,
            p("[1e999, 0, 0]"),
            400,
            fmt,
        ),
        case(
            "wrong dimension",
            "PUT",
            UPSERT,
            p("[1, 0]"),
            400,
            "dimension",
        ),
        case("empty vector", "PUT", UPSERT, p("[]"), 400, "dimension"),
        case(
            "unknown vector name",
            "PUT",
            UPSERT,
            p(r#"{"nope": [1, 0, 0]}"#),
            400,
            "nope",
        ),
        case(
            "sparse vector in a dense collection",
            "PUT",
            UPSERT,
            p(r#"{"s": {"indices": [1], "values": [0.5]}}"#),
            400,
            "Wrong input: Not existing vector name error: s",
        ),
        case(
            "sparse vector with a repeated index",
            "PUT",
            UPSERT,
            p(r#"{"s": {"indices": [1, 1], "values": [0.5, 0.1]}}"#),
            422,
            "indices: must be unique",
        ),
        case(
            "missing vector",
            "PUT",
            UPSERT,
            r#"{"points": [{"id": 9}]}"#,
            400,
            "missing field `vector`",
        ),
        case(
            "batch columns of unequal length",
            "PUT",
            UPSERT,
            r#"{"batch": {"ids": [8, 9], "vectors": [[1, 0, 0]]}}"#,
            400,
            "2 ids and 1 vectors",
        ),
        // payloads
        case(
            "payload not an object",
            "PUT",
            UPSERT,
            r#"{"points": [{"id": 9, "vector": [1,0,0], "payload": 5}]}"#,
            400,
            fmt,
        ),
        case(
            "set payload without a selector",
            "POST",
            "/collections/c/points/payload",
            r#"{"payload": {"a": 1}}"#,
            400,
            "PointsSelector",
        ),
        case(
            "delete with ids and a filter",
            "POST",
            "/collections/c/points/delete",
            r#"{"points": [1], "filter": {"must": []}}"#,
            400,
            "PointsSelector",
        ),
        case(
            "bad payload key",
            "POST",
            "/collections/c/points/payload/delete",
            r#"{"keys": ["a[x"], "points": [1]}"#,
            400,
            "Wrong input",
        ),
        case(
            "unknown batch operation",
            "POST",
            "/collections/c/points/batch",
            r#"{"operations": [{"frobnicate": {}}]}"#,
            400,
            "unknown variant `frobnicate`",
        ),
        // limits
        case(
            "negative limit",
            "POST",
            QUERY,
            r#"{"query": [1,0,0], "limit": -1}"#,
            400,
            "expected usize",
        ),
        case(
            "zero limit",
            "POST",
            QUERY,
            r#"{"query": [1,0,0], "limit": 0}"#,
            422,
            "limit",
        ),
        case(
            "limit beyond u64",
            "POST",
            QUERY,
            r#"{"query": [1,0,0], "limit": 1e30}"#,
            400,
            fmt,
        ),
        case(
            "limit as a string",
            "POST",
            QUERY,
            r#"{"query": [1,0,0], "limit": "10"}"#,
            400,
            fmt,
        ),
        case(
            "zero scroll limit",
            "POST",
            SCROLL,
            r#"{"limit": 0}"#,
            422,
            "limit",
        ),
        case(
            "matrix sample of 1",
            "POST",
            "/collections/c/points/search/matrix/pairs",
            r#"{"sample": 1}"#,
            422,
            "sample",
        ),
        case(
            "older search without limit",
            "POST",
            "/collections/c/points/search",
            r#"{"vector": [1,0,0]}"#,
            400,
            "missing field `limit`",
        ),
        // query shapes
        case(
            "unknown fusion",
            "POST",
            QUERY,
            r#"{"prefetch": [], "query": {"fusion": "max"}}"#,
            400,
            fmt,
        ),
        case(
            "unknown recommend strategy",
            "POST",
            QUERY,
            r#"{"query": {"recommend": {"positive": [1], "strategy": "magic"}}}"#,
            400,
            fmt,
        ),
        case(
            "unknown order_by direction",
            "POST",
            SCROLL,
            r#"{"order_by": {"key": "n", "direction": "up"}}"#,
            400,
            fmt,
        ),
        case(
            "rrf k of 0",
            "POST",
            QUERY,
            r#"{"prefetch": [{"query": [1,0,0]}], "query": {"rrf": {"k": 0}}}"#,
            422,
            "rrf.k",
        ),
        case(
            "formula query without prefetches",
            "POST",
            QUERY,
            r#"{"query": {"formula": {"sum": []}}}"#,
            400,
            "cannot apply Formula without prefetches",
        ),
        case(
            "formula with a malformed division",
            "POST",
            QUERY,
            r#"{"prefetch": {"query": [1.0, 0.0]}, "query": {"formula": {"div": {"left": 1}}}}"#,
            400,
            "`div` needs `right`",
        ),
        case(
            "relevance feedback with a negative exponent",
            "POST",
            QUERY,
            r#"{"query": {"relevance_feedback": {"target": [1.0, 0.0], "feedback": [], "strategy": {"naive": {"a": 1, "b": -1, "c": 1}}}}}"#,
            422,
            "must be 0.0 or larger",
        ),
        case(
            "unknown vector in using",
            "POST",
            QUERY,
            r#"{"query": [1,0,0], "using": "nope"}"#,
            400,
            "nope",
        ),
        case(
            "query by a missing point",
            "POST",
            QUERY,
            r#"{"query": 4242}"#,
            404,
            "4242",
        ),
        case(
            "query vector of the wrong dimension",
            "POST",
            QUERY,
            r#"{"query": [1,0]}"#,
            400,
            "dimension",
        ),
        // filters and selectors
        case(
            "unknown condition",
            "POST",
            SCROLL,
            r#"{"filter": {"must": [{"foo": 1}]}}"#,
            400,
            fmt,
        ),
        case(
            "must as a string",
            "POST",
            SCROLL,
            r#"{"filter": {"must": "x"}}"#,
            400,
            fmt,
        ),
        case(
            "range bound not a number",
            "POST",
            SCROLL,
            r#"{"filter": {"must": [{"key": "n", "range": {"gt": "soon"}}]}}"#,
            400,
            fmt,
        ),
        case(
            "with_payload of the wrong type",
            "POST",
            SCROLL,
            r#"{"with_payload": 5}"#,
            400,
            fmt,
        ),
        case(
            "unknown with_payload field",
            "POST",
            SCROLL,
            r#"{"with_payload": {"incl": ["n"]}}"#,
            400,
            fmt,
        ),
        // collections
        case(
            "unknown collection: query",
            "POST",
            "/collections/nope/points/query",
            r#"{"query": [1,0,0]}"#,
            404,
            "Collection `nope` doesn't exist!",
        ),
        case(
            "unknown collection: upsert",
            "PUT",
            "/collections/nope/points",
            p("[1,0,0]"),
            404,
            "doesn't exist",
        ),
        case(
            "collection exists",
            "PUT",
            "/collections/c",
            r#"{"vectors": {"size": 3, "distance": "Cosine"}}"#,
            409,
            "already exists",
        ),
        case(
            "size 0",
            "PUT",
            "/collections/d",
            r#"{"vectors": {"size": 0, "distance": "Cosine"}}"#,
            422,
            "size",
        ),
        case(
            "unknown distance",
            "PUT",
            "/collections/d",
            r#"{"vectors": {"size": 3, "distance": "Cosinus"}}"#,
            400,
            fmt,
        ),
        case(
            "missing distance",
            "PUT",
            "/collections/d",
            r#"{"vectors": {"size": 3}}"#,
            400,
            fmt,
        ),
        case(
            "bad collection name",
            "PUT",
            "/collections/bad*name",
            r#"{"vectors": {"size": 3, "distance": "Cosine"}}"#,
            400,
            "cannot contain",
        ),
        case(
            "turbo quantization",
            "PUT",
            "/collections/d",
            r#"{"vectors": {"size": 3, "distance": "Cosine"}, "quantization_config": {"turbo": {"bits": "bits4"}}}"#,
            501,
            "turbo quantization",
        ),
        case(
            "unknown compression ratio",
            "PUT",
            "/collections/d",
            r#"{"vectors": {"size": 3, "distance": "Cosine"}, "quantization_config": {"product": {"compression": "x12"}}}"#,
            400,
            fmt,
        ),
        case(
            "quantile out of range",
            "PUT",
            "/collections/d",
            r#"{"vectors": {"size": 3, "distance": "Cosine"}, "quantization_config": {"scalar": {"type": "int8", "quantile": 0.3}}}"#,
            400,
            "quantization_config.scalar.quantile: value 0.3 invalid, must be from 0.5 to 1",
        ),
        case(
            "unknown index type",
            "PUT",
            "/collections/c/index",
            r#"{"field_name": "n", "field_schema": "colour"}"#,
            400,
            fmt,
        ),
        case(
            "unknown alias action",
            "POST",
            "/collections/aliases",
            r#"{"actions": [{"make_alias": {}}]}"#,
            400,
            fmt,
        ),
        case(
            "rename of a missing alias",
            "POST",
            "/collections/aliases",
            r#"{"actions": [{"rename_alias": {"old_alias_name": "x", "new_alias_name": "y"}}]}"#,
            404,
            "Alias `x` doesn't exist",
        ),
        // query parameters
        case(
            "wait=maybe",
            "PUT",
            "/collections/c/points?wait=maybe",
            p("[1,0,0]"),
            400,
            "Query deserialize error",
        ),
        case(
            "unknown ordering",
            "PUT",
            "/collections/c/points?wait=true&ordering=fast",
            p("[1,0,0]"),
            400,
            "unknown variant `fast`",
        ),
        // routing
        case(
            "unknown endpoint",
            "GET",
            "/collections/c/nowhere",
            "",
            404,
            "Not found",
        ),
    ];
    for c in &mut cases {
        if c.method == "GET" {
            c.content_type = None;
        }
    }
    cases
}

async fn fixture(addr: SocketAddr) {
    let r = json(
        addr,
        "PUT",
        "/collections/c",
        r#"{"vectors": {"size": 3, "distance": "Cosine"}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = json(
        addr,
        "PUT",
        UPSERT,
        r#"{"points": [
            {"id": 1, "vector": [1, 0, 0], "payload": {"n": 1}},
            {"id": 2, "vector": [0, 1, 0], "payload": {"n": 2}},
            {"id": 3, "vector": [0, 0, 1], "payload": {"n": 3}}
        ]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Everything the data should still be.
async fn snapshot(addr: SocketAddr) -> serde_json::Value {
    let r = json(
        addr,
        "POST",
        SCROLL,
        r#"{"limit": 100, "with_payload": true, "with_vector": true}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut v = r.json()["result"].clone();
    let names = get(addr, "/collections").await.json()["result"].clone();
    let aliases = get(addr, "/aliases").await.json()["result"].clone();
    v["collections"] = names;
    v["aliases"] = aliases;
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_qdrants_answers() {
    let s = TestServer::start().await.unwrap();
    let addr = s.http_addr();
    fixture(addr).await;
    let before = snapshot(addr).await;
    let cases = catalogue();
    assert!(cases.len() >= 40, "{} shapes", cases.len());
    let mut wrong = Vec::new();
    for c in &cases {
        let r = send(
            addr,
            c.method,
            c.path,
            c.content_type,
            &[],
            c.body.as_bytes(),
        )
        .await;
        let ok = r.status == c.status
            && serde_json::from_str::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|v| v["status"]["error"].as_str().map(|m| m.contains(c.says)))
                .unwrap_or(false);
        if !ok {
            wrong.push(format!(
                "{}: got {} {:?}, want {} with {:?}",
                c.what, r.status, r.body, c.status, c.says
            ));
        }
        // still serving
        assert_eq!(get(addr, "/healthz").await.status, 200, "after {}", c.what);
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    assert_eq!(snapshot(addr).await, before, "the data changed");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_limit_is_32_mib_by_default_and_configurable() {
    let s = TestServer::start().await.unwrap();
    let addr = s.http_addr();
    fixture(addr).await;
    // 33 MiB of whitespace around a valid body: refused before it is read
    let mut big = vec![b' '; 33 << 20];
    big.extend_from_slice(br#"{"limit": 1}"#);
    let r = send(addr, "POST", SCROLL, JSON, &[], &big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.error().contains("larger than allowed"));
    // 8 MiB is under the limit
    let mut ok = vec![b' '; 8 << 20];
    ok.extend_from_slice(br#"{"limit": 1}"#);
    assert_eq!(send(addr, "POST", SCROLL, JSON, &[], &ok).await.status, 200);
    s.stop().await.unwrap();

    // a smaller configured limit
    let config = ServerConfig {
        rest: vicinity_server::rest::RestConfig {
            body_limit: 1 << 20,
            ..Default::default()
        },
        ..ServerConfig::default()
    };
    let s = TestServer::start_with(config).await.unwrap();
    fixture(s.http_addr()).await;
    let r = send(s.http_addr(), "POST", SCROLL, JSON, &[], &ok).await;
    assert_eq!(r.status, 413);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_the_read_only_key_over_rest() {
    let config = ServerConfig {
        keys: ApiKeys {
            api_key: Some("secret".into()),
            read_only_api_key: Some("reader".into()),
            jwt_rbac: false,
        },
        ..ServerConfig::default()
    };
    let s = TestServer::start_with(config).await.unwrap();
    let addr = s.http_addr();
    let create = br#"{"vectors": {"size": 2, "distance": "Dot"}}"#;
    let with = |key: &'static str| [("api-key", key)];
    // probes and the version check are open
    assert_eq!(get(addr, "/").await.status, 200);
    assert_eq!(get(addr, "/readyz").await.status, 200);
    // no key, a wrong key
    assert_eq!(get(addr, "/collections").await.status, 401);
    let r = send(addr, "GET", "/collections", None, &with("guess"), b"").await;
    assert_eq!(r.status, 401);
    // the full key, also as a bearer token
    let r = send(addr, "PUT", "/collections/k", JSON, &with("secret"), create).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bearer = [("authorization", "Bearer secret")];
    let r = send(
        addr,
        "PUT",
        "/collections/k/points?wait=true",
        JSON,
        &bearer,
        br#"{"points": [{"id": 1, "vector": [1, 2]}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // the read-only key reads (searches are POSTs) and may not write
    let reader = with("reader");
    let count = |key: &[(&'static str, &'static str)]| {
        let key = key.to_vec();
        async move {
            let r = send(
                addr,
                "POST",
                "/collections/k/points/count",
                JSON,
                &key,
                b"{}",
            )
            .await;
            r.json()["result"]["count"].clone()
        }
    };
    assert_eq!(
        send(addr, "GET", "/collections/k", None, &reader, b"")
            .await
            .status,
        200
    );
    let r = send(
        addr,
        "POST",
        "/collections/k/points/query",
        JSON,
        &reader,
        br#"{"query": [1, 0]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["points"][0]["id"], 1);
    assert_eq!(count(&reader).await, 1);
    for (method, path, body) in [
        (
            "PUT",
            "/collections/k/points",
            &br#"{"points": [{"id": 2, "vector": [1, 2]}]}"#[..],
        ),
        (
            "POST",
            "/collections/k/points/delete",
            br#"{"points": [1]}"#,
        ),
        (
            "POST",
            "/collections/k/points/payload",
            br#"{"payload": {"a": 1}, "points": [1]}"#,
        ),
        ("DELETE", "/collections/k", b""),
        ("PUT", "/collections/j", create),
        ("POST", "/collections/aliases", br#"{"actions": []}"#),
    ] {
        let r = send(addr, method, path, JSON, &reader, body).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        // Qdrant's words: the read-only key is global read access
        assert_eq!(r.error(), "Forbidden: Global manage access is required");
    }
    assert_eq!(count(&reader).await, 1, "a refused write changed the data");
    s.stop().await.unwrap();
}
