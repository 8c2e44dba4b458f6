//! The server a bot connects to.

use std::net::SocketAddr;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::error::BotError;

/// A server to connect to: its `ws://` URL and the address it resolved to.
///
/// Resolve once and share it, so that a swarm does not look the host up per bot.
#[derive(Debug, Clone)]
pub struct Target {
    url: String,
    addr: SocketAddr,
}

impl Target {
    /// Checks a `ws://host:port/path` URL and resolves its host.
    pub async fn resolve(url: &str) -> Result<Self, BotError> {
        let bad = |reason: &str| BotError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let request = url.into_client_request().map_err(|e| bad(&e.to_string()))?;
        let uri = request.uri();
        if uri.scheme_str() != Some("ws") {
            return Err(bad("only ws:// is supported"));
        }
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| bad(&e.to_string()))?
            .next()
            .ok_or_else(|| bad("host resolves to no address"))?;
        Ok(Self {
            url: url.to_owned(),
            addr,
        })
    }

    /// A target for a server listening on `addr`, at path `/ws`.
    pub fn local(addr: SocketAddr) -> Self {
        Self {
            url: format!("ws://{addr}/ws"),
            addr,
        }
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The resolved address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}
