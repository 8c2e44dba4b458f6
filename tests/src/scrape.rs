//! Reads a server's `/metrics` and `/rooms` over plain HTTP: the figures a
//! soak run reports and the integration tests check.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest one HTTP request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a page could not be read.
#[derive(Debug, Error)]
pub enum ScrapeError {
    /// The request failed (connection refused, reset, and so on).
    #[error("GET {path}: {cause}")]
    Request {
        /// The path asked for.
        path: String,
        /// What went wrong.
        cause: String,
    },
    /// The server answered with a status other than 200.
    #[error("GET {path}: HTTP {status}")]
    Status {
        /// The path asked for.
        path: String,
        /// The status it answered with.
        status: u16,
    },
    /// The answer could not be understood.
    #[error("GET {path}: {cause}")]
    Parse {
        /// The path asked for.
        path: String,
        /// What is wrong with the answer.
        cause: String,
    },
}

/// `GET http://{addr}{path}`: the status and the body as text.
pub async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), ScrapeError> {
    let failed = |cause: String| ScrapeError::Request {
        path: path.to_owned(),
        cause,
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: hyper::Uri = format!("http://{addr}{path}")
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| failed(e.to_string()))?;
    let request = async {
        let response = client.get(uri).await.map_err(|e| failed(chain(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, request)
        .await
        .map_err(|_| failed(format!("no answer within {REQUEST_TIMEOUT:?}")))?
}

/// An error with its sources, `outer: inner: ...`.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `GET path`, which must answer 200; its body.
async fn get_ok(addr: SocketAddr, path: &str) -> Result<String, ScrapeError> {
    match get(addr, path).await? {
        (200, body) => Ok(body),
        (status, _) => Err(ScrapeError::Status {
            path: path.to_owned(),
            status,
        }),
    }
}

/// One reading of `/metrics` (Prometheus / OpenMetrics text).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Each series (name with its labels, exactly as printed) and its value.
    pub series: BTreeMap<String, f64>,
}

impl Metrics {
    /// Parses the text format; comment lines and unparsable values are skipped.
    pub fn parse(text: &str) -> Self {
        let series = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect();
        Self { series }
    }

    /// The value of one series, e.g. `tickwire_players_connected` or
    /// `tickwire_disconnects_total{reason="policy"}`.
    pub fn get(&self, series: &str) -> Option<f64> {
        self.series.get(series).copied()
    }

    /// The value of one series, or 0 when it is absent (a labelled counter
    /// appears only once it has counted something).
    pub fn value(&self, series: &str) -> f64 {
        self.get(series).unwrap_or(0.0)
    }

    /// `tickwire_disconnects_total` by reason.
    pub fn disconnects(&self) -> BTreeMap<String, f64> {
        const PREFIX: &str = "tickwire_disconnects_total{reason=\"";
        self.series
            .iter()
            .filter_map(|(k, v)| {
                let reason = k.strip_prefix(PREFIX)?.strip_suffix("\"}")?;
                Some((reason.to_owned(), *v))
            })
            .collect()
    }
}

/// Reads `/metrics`.
pub async fn metrics(addr: SocketAddr) -> Result<Metrics, ScrapeError> {
    Ok(Metrics::parse(&get_ok(addr, "/metrics").await?))
}

/// One room of `/rooms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// Room id.
    pub id: u32,
    /// Players in the room, including dropped ones awaiting a resume.
    pub players: usize,
    /// Most players the room admits.
    pub capacity: usize,
    /// The room's tick (updated about once a second).
    pub tick: u32,
}

/// Reads `/rooms`.
pub async fn rooms(addr: SocketAddr) -> Result<Vec<RoomInfo>, ScrapeError> {
    let body = get_ok(addr, "/rooms").await?;
    serde_json::from_str(&body).map_err(|e| ScrapeError::Parse {
        path: "/rooms".into(),
        cause: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_labelled_series() {
        let m = Metrics::parse(
            "# HELP tickwire_players_connected Players connected\n\
             # TYPE tickwire_players_connected gauge\n\
             tickwire_players_connected 3\n\
             tickwire_disconnects_total{reason=\"policy\"} 2\n\
             tickwire_disconnects_total{reason=\"client_gone\"} 5\n\
             tickwire_process_cpu_seconds 1.25\n\
             # EOF\n",
        );
        assert_eq!(m.get("tickwire_players_connected"), Some(3.0));
        assert_eq!(
            m.value("tickwire_disconnects_total{reason=\"policy\"}"),
            2.0
        );
        assert_eq!(m.value("tickwire_inputs_dropped_total"), 0.0);
        assert_eq!(m.get("tickwire_process_cpu_seconds"), Some(1.25));
        let d = m.disconnects();
        assert_eq!(d.get("client_gone"), Some(&5.0));
        assert_eq!(d.len(), 2);
    }
}
