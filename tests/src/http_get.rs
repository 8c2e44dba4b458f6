//! Plain HTTP GETs of small text pages (a server's `/metrics`, `/rooms`),
//! on hyper's client.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use thiserror::Error;

/// Why a GET gave no page.
#[derive(Debug, Error)]
pub enum HttpGetError {
    /// The URL is not a valid `http://` URI.
    #[error("bad url {0:?}")]
    BadUrl(String),
    /// The request could not be made or its response could not be read.
    #[error("request failed: {0}")]
    Request(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The server answered with a status other than 200.
    #[error("HTTP status {0}")]
    Status(StatusCode),
    /// The body is not UTF-8 text.
    #[error("response body is not UTF-8")]
    NotText,
    /// No complete answer within the time limit.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
}

/// An HTTP client for small text pages, with a time limit per request.
#[derive(Debug, Clone)]
pub struct HttpGetter {
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
}

impl HttpGetter {
    /// A client whose requests (connect, headers and body) each get `timeout`.
    /// Each request opens a new connection: reads are seconds apart, and a
    /// kept-alive connection may have been closed by the server meanwhile
    /// (tickwire closes connections idle past its header deadline).
    pub fn new(timeout: Duration) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
            timeout,
        }
    }

    /// Fetches `url` and returns its body as text.
    pub async fn get_text(&self, url: &str) -> Result<String, HttpGetError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| HttpGetError::BadUrl(url.to_owned()))?;
        let fetch = async {
            let response = self
                .client
                .get(uri)
                .await
                .map_err(|e| HttpGetError::Request(Box::new(e)))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| HttpGetError::Request(Box::new(e)))?
                .to_bytes();
            if status != StatusCode::OK {
                return Err(HttpGetError::Status(status));
            }
            String::from_utf8(body.to_vec()).map_err(|_| HttpGetError::NotText)
        };
        tokio::time::timeout(self.timeout, fetch)
            .await
            .map_err(|_| HttpGetError::TimedOut(self.timeout))?
    }
}
