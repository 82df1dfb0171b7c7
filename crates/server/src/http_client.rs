//! A small HTTP/1.1 client on hyper (the stack the server already runs
//! on, so no second one): keep-alive connections in a pool, plain or TLS
//! (the system's roots plus an optional private CA), Qdrant's `api-key`
//! header on every request.
//!
//! The server uses it to recover a snapshot from a URL; the `vicinity`
//! tools use it to talk to any server's REST API (`bench run --target
//! http://`, `export`, `import`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue, LOCATION};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not one this client can use.
    #[error("{url:?}: {why}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The TLS setup (a certificate file, a host name) failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// Connecting, sending or receiving failed.
    #[error("{what}: {source}")]
    Transport {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered with an error status.
    #[error("{what}: HTTP {status}: {message}")]
    Status {
        /// What was asked.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The server's message (Qdrant's `status.error`), or the body.
        message: String,
    },
    /// The answer is not what was expected (not JSON, too large).
    #[error("{0}")]
    Answer(String),
}

fn transport(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClientError {
    let what = what.into();
    move |e| ClientError::Transport {
        what,
        source: Box::new(e),
    }
}

fn hyper_err(what: &str) -> impl FnOnce(hyper::Error) -> ClientError + '_ {
    move |e| ClientError::Transport {
        what: what.to_string(),
        source: Box::new(e),
    }
}

/// A URL split into what the client needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `https`.
    pub secure: bool,
    /// The host, without brackets for IPv6.
    pub host: String,
    /// `host:port`, for connecting and the `Host` header.
    pub authority: String,
    /// The path and query (`/` at least).
    pub path: String,
}

impl Url {
    /// Parses `http://HOST[:PORT][/PATH]` or `https://...`; the port
    /// defaults to 80 or 443.
    pub fn parse(url: &str) -> Result<Url, ClientError> {
        let bad = |why: &str| ClientError::Url {
            url: url.to_string(),
            why: why.to_string(),
        };
        let (secure, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("expected an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("expected a host (and no user name)"));
        }
        let default_port = if secure { 443 } else { 80 };
        let (host, authority) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => {
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?;
                (h, authority.to_string())
            }
            _ => (authority, format!("{authority}:{default_port}")),
        };
        Ok(Url {
            secure,
            host: host.trim_matches(['[', ']']).to_string(),
            authority,
            path: path.to_string(),
        })
    }
}

/// TLS options: a PEM file of certificates to trust besides the system's
/// roots, and the name to check on the server's certificate when it is
/// not the host's.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// Extra roots (PEM).
    pub ca: Option<std::path::PathBuf>,
    /// The name on the certificate.
    pub domain: Option<String>,
}

fn tls_config(tls: &Tls) -> Result<rustls::ClientConfig, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    // A root the system offers that rustls cannot parse is skipped, as
    // browsers do; the private CA below must parse.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(ca) = &tls.ca {
        let pem = std::fs::read(ca)
            .map_err(|e| ClientError::Tls(format!("reading {}: {e}", ca.display())))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert
                .map_err(|e| ClientError::Tls(format!("a certificate in {}: {e}", ca.display())))?;
            roots
                .add(cert)
                .map_err(|e| ClientError::Tls(format!("trusting {}: {e}", ca.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// An answer: the HTTP status and the JSON body (`null` if empty).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, parsed.
    pub body: Value,
}

impl Answer {
    /// The envelope's `result` on a 2xx, else the error with Qdrant's
    /// message; `what` names the request in the error.
    pub fn result(self, what: &str) -> Result<Value, ClientError> {
        if (200..300).contains(&self.status) {
            return Ok(self.body.get("result").cloned().unwrap_or(Value::Null));
        }
        let message = self.body["status"]["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| self.body.to_string());
        Err(ClientError::Status {
            what: what.to_string(),
            status: self.status,
            message,
        })
    }
}

/// A client for one server (one `host:port`).
pub struct HttpClient {
    authority: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    api_key: Option<HeaderValue>,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("authority", &self.authority)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for the server of `url` (its path is not used). Nothing is
    /// sent until the first request.
    pub fn new(url: &Url, api_key: Option<&str>, tls: &Tls) -> Result<HttpClient, ClientError> {
        let tls = if url.secure {
            let name = tls.domain.clone().unwrap_or_else(|| url.host.clone());
            let name = ServerName::try_from(name.clone())
                .map_err(|_| ClientError::Tls(format!("{name:?} is not a host name")))?;
            Some((TlsConnector::from(Arc::new(tls_config(tls)?)), name))
        } else {
            None
        };
        let api_key = api_key
            .map(HeaderValue::from_str)
            .transpose()
            .map_err(|_| ClientError::Answer("the API key is not a valid header value".into()))?;
        Ok(HttpClient {
            authority: url.authority.clone(),
            tls,
            api_key,
            idle: Mutex::new(Vec::new()),
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        let what = format!("connecting to {}", self.authority);
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(transport(&what))?;
        tcp.set_nodelay(true).map_err(transport(&what))?;
        let sender = match &self.tls {
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(transport(format!("TLS handshake with {}", self.authority)))?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(hyper_err(&what))?;
                tokio::spawn(conn);
                sender
            }
            None => {
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(hyper_err(&what))?;
                tokio::spawn(conn);
                sender
            }
        };
        Ok(sender)
    }

    /// A connection ready for a request: an idle one if it is still open,
    /// else a new one.
    async fn sender(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        loop {
            let idle = self.idle.lock().pop();
            let Some(mut s) = idle else { break };
            if s.ready().await.is_ok() {
                return Ok(s);
            }
        }
        self.connect().await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<
        (
            SendRequest<Full<Bytes>>,
            hyper::Response<hyper::body::Incoming>,
        ),
        ClientError,
    > {
        let mut sender = self.sender().await?;
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(HOST, &self.authority);
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        if let Some(k) = &self.api_key {
            req = req.header("api-key", k.clone());
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::Answer(format!("{method} {path}: {e}")))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(hyper_err(&format!("{method} {path}")))?;
        Ok((sender, resp))
    }

    /// Sends one request (a JSON body, if any) and reads the JSON answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ClientError> {
        let what = format!("{method} {path}");
        let (sender, resp) = self.send(method, path, body).await?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(hyper_err(&what))?
            .to_bytes();
        self.idle.lock().push(sender);
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| {
                ClientError::Answer(format!(
                    "{what}: HTTP {status}: not JSON: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ))
            })?
        };
        Ok(Answer { status, body })
    }

    /// [`call`](Self::call) with `body` as JSON, returning the envelope's
    /// `result` (or the server's error).
    pub async fn json<T: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&T>,
    ) -> Result<Value, ClientError> {
        let what = format!("{method} {path}");
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Answer(format!("{what}: {e}")))?;
        self.call(method, path, body).await?.result(&what)
    }
}

/// Downloads `url` into `file` (created or truncated), following up to
/// five redirects, refusing more than `limit` bytes; `api_key` goes to the
/// first host only (not to one a redirect leads to). Returns the size.
pub async fn download(
    url: &str,
    api_key: Option<&str>,
    file: &Path,
    limit: u64,
    tls: &Tls,
) -> Result<u64, ClientError> {
    let first = Url::parse(url)?.authority;
    let mut url = url.to_string();
    for _ in 0..=5 {
        let parsed = Url::parse(&url)?;
        let key = api_key.filter(|_| parsed.authority == first);
        let client = HttpClient::new(&parsed, key, tls)?;
        let what = format!("GET {url}");
        let (_, resp) = client.send(Method::GET, &parsed.path, None).await?;
        let status = resp.status();
        if status.is_redirection() {
            let next = resp
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| {
                    ClientError::Answer(format!("{what}: {status} without a Location"))
                })?;
            url = if next.starts_with("http://") || next.starts_with("https://") {
                next.to_string()
            } else {
                let scheme = if parsed.secure { "https" } else { "http" };
                format!("{scheme}://{}{next}", parsed.authority)
            };
            continue;
        }
        if !status.is_success() {
            let body = resp.into_body().collect().await.map(|b| b.to_bytes());
            let message = body
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
                .unwrap_or_default();
            return Err(ClientError::Status {
                what,
                status: status.as_u16(),
                message,
            });
        }
        let mut out = std::fs::File::create(file)
            .map_err(transport(format!("creating {}", file.display())))?;
        let mut body = resp.into_body();
        let mut size = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(hyper_err(&what))?;
            if let Ok(data) = frame.into_data() {
                size += data.len() as u64;
                if size > limit {
                    return Err(ClientError::Answer(format!(
                        "{what}: larger than the limit of {limit} bytes"
                    )));
                }
                out.write_all(&data)
                    .map_err(transport(format!("writing {}", file.display())))?;
            }
        }
        out.sync_all()
            .map_err(transport(format!("writing {}", file.display())))?;
        return Ok(size);
    }
    Err(ClientError::Answer(format!("{url}: too many redirects")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("https://example.com/a/b.snapshot?x=1").unwrap();
        assert!(u.secure);
        assert_eq!(u.host, "example.com");
        assert_eq!(u.authority, "example.com:443");
        assert_eq!(u.path, "/a/b.snapshot?x=1");
        let u = Url::parse("http://[::1]:6333").unwrap();
        assert_eq!(
            (u.host.as_str(), u.authority.as_str(), u.path.as_str()),
            ("::1", "[::1]:6333", "/")
        );
        let u = Url::parse("http://[::1]/x").unwrap();
        assert_eq!(u.authority, "[::1]:80");
        for bad in ["ftp://x/y", "http://", "http://h:port/", "http://u@h/"] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }
}
