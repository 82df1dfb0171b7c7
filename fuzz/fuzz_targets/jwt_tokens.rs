//! Keys and tokens from outside, checked as every request's are: an
//! arbitrary header value, or claims of the fuzzer's choosing signed with
//! the server's key (so the claims decoder is reached) or with another
//! key. Never a panic; a token not signed with the key never gets in; a
//! signed token's access, checked against arbitrary gRPC messages and
//! REST routes, never panics either.

#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, Method};
use libfuzzer_sys::fuzz_target;
use vicinity_server::ApiKeys;
use vicinity_server::auth::jwt::sign;
use vicinity_server::auth::{Access, Denied, rules};

#[derive(Arbitrary, Debug)]
enum Credential {
    Raw(String),
    Signed { claims: String, right_key: bool },
}

#[derive(Arbitrary, Debug)]
struct Input {
    credential: Credential,
    bearer: bool,
    grpc_method: String,
    message: Vec<u8>,
    rest_path: String,
    post: bool,
}

const SECRET: &str = "fuzz-secret";

fuzz_target!(|input: Input| {
    let keys = ApiKeys {
        api_key: Some(SECRET.into()),
        read_only_api_key: Some("reader".into()),
        jwt_rbac: true,
    };
    let (value, forged) = match &input.credential {
        Credential::Raw(s) => (s.clone(), false),
        Credential::Signed { claims, right_key } => {
            let Ok(claims) = serde_json::from_str::<serde_json::Value>(claims) else {
                return;
            };
            let key = if *right_key { SECRET } else { "another" };
            (sign(&claims, key), !right_key)
        }
    };
    let mut headers = HeaderMap::new();
    let value = if input.bearer {
        format!("Bearer {value}")
    } else {
        value
    };
    let Ok(v) = value.parse() else { return };
    headers.insert(if input.bearer { "authorization" } else { "api-key" }, v);
    let access = keys.access(&headers);
    if forged {
        assert!(
            matches!(access, Err(Denied::Token(_))),
            "a token signed with another key: {access:?}"
        );
    }
    let Ok((access, _)) = access else { return };
    let path = format!("/{}", input.grpc_method);
    let need = rules::grpc_need(&path);
    if let Some((name, lookups)) = rules::grpc_scope(&path, &input.message) {
        let _ = access.check(need, Some(&name), &lookups);
    }
    let method = if input.post { Method::POST } else { Method::GET };
    let (need, collection) = rules::rest_need(&method, &input.rest_path);
    let _ = access.check(need, collection.as_deref(), &[]);
    if let Access::Collections(list) = &access {
        for a in list.iter() {
            assert!(access.may_see(&a.collection));
        }
    }
});
