//! Why a bot's connection could not be made or could not go on.

use thiserror::Error;
use tickwire_protocol::session::SessionError;
use tokio_tungstenite::tungstenite;

/// Why a connection could not be made or could not go on.
#[derive(Debug, Error)]
pub enum BotError {
    /// The URL is not a usable `ws://` URL.
    #[error("bad url {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TCP connection failed.
    #[error("connect failed: {0}")]
    Connect(#[source] std::io::Error),
    /// The WebSocket upgrade failed.
    #[error("websocket handshake failed: {0}")]
    Handshake(#[source] Box<tungstenite::Error>),
    /// Reading or writing the WebSocket failed.
    #[error("websocket error: {0}")]
    Ws(#[source] Box<tungstenite::Error>),
    /// The server closed the connection with a close frame.
    #[error("closed by server with code {code}: {reason}")]
    Closed {
        /// The close code (1005 if the frame carried none).
        code: u16,
        /// The reason the frame gave.
        reason: String,
    },
    /// The connection ended without a close frame.
    #[error("connection dropped without a close frame")]
    Dropped,
    /// The server sent a text frame; the protocol is binary only.
    #[error("server sent a text frame")]
    TextFrame,
    /// The session could not build a message it had to send (its config is out of bounds).
    #[error("session cannot proceed: {0}")]
    Local(String),
    /// The server sent a binary message the session could not decode or did not expect.
    #[error("bad message from server: {0}")]
    Session(#[from] SessionError),
}

impl BotError {
    /// The close code, if the server closed the connection with a close frame.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Closed { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A short key that groups like errors together in a report.
    pub fn summary(&self) -> String {
        match self {
            Self::Closed { code, reason } if reason.is_empty() => format!("close {code}"),
            Self::Closed { code, reason } => {
                let reason: String = reason.chars().take(60).collect();
                format!("close {code}: {reason}")
            }
            other => {
                let text = other.to_string();
                text.chars().take(80).collect()
            }
        }
    }

    pub(crate) fn ws(err: tungstenite::Error) -> Self {
        use tungstenite::error::ProtocolError;
        match err {
            tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                Self::Dropped
            }
            other => Self::Ws(Box::new(other)),
        }
    }
}
