//! How a session ends, and the WebSocket close codes it uses.

use std::borrow::Cow;

/// Close code: the server is going away (shutdown).
pub const GOING_AWAY: u16 = 1001;
/// Close code: the peer broke the protocol (here: a version mismatch).
pub const PROTOCOL_ERROR: u16 = 1002;
/// Close code: a data type the endpoint does not accept (text frames).
pub const UNSUPPORTED_DATA: u16 = 1003;
/// Close code: the payload is not valid for its type (undecodable message).
pub const INVALID_PAYLOAD: u16 = 1007;
/// Close code: the message broke a policy (ordering, batch size, handshake deadline).
pub const POLICY_VIOLATION: u16 = 1008;
/// Close code: the message is too big.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// Close code: try again later (server full).
pub const TRY_AGAIN_LATER: u16 = 1013;

/// The cause given when the client sent a close frame itself.
pub const CLIENT_CLOSED: &str = "client closed";

/// Longest close reason WebSocket allows, in bytes.
const MAX_REASON_BYTES: usize = 123;

/// Why a session ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The server closes the connection with this code and reason.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Words for the client and the log.
        reason: Cow<'static, str>,
    },
    /// Nothing was heard from the client for too long: closed with 1001 and
    /// this reason, and its player kept for a resume like any dropped connection.
    TimedOut(Cow<'static, str>),
    /// The client closed or the connection broke; nothing more to send.
    Gone(Cow<'static, str>),
}

impl Ending {
    /// A short label for metrics: what kind of ending this was.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Close {
                code: GOING_AWAY, ..
            } => "shutdown",
            Self::Close {
                code: PROTOCOL_ERROR,
                ..
            } => "version_mismatch",
            Self::Close {
                code: UNSUPPORTED_DATA,
                ..
            } => "text_frame",
            Self::Close {
                code: INVALID_PAYLOAD,
                ..
            } => "undecodable",
            Self::Close {
                code: MESSAGE_TOO_BIG,
                ..
            } => "too_big",
            Self::Close {
                code: TRY_AGAIN_LATER,
                ..
            } => "full",
            Self::Close { .. } => "policy",
            Self::TimedOut(_) => "idle_timeout",
            Self::Gone(cause) if cause.starts_with("stalled") => "stalled",
            Self::Gone(cause) if cause == CLIENT_CLOSED => "client_closed",
            Self::Gone(_) => "client_gone",
        }
    }

    /// The ending for an error reading the socket: a message over the
    /// WebSocket size limit is closed with 1009; anything else means the
    /// connection is gone.
    pub fn from_read_error(err: axum::Error) -> Self {
        use tokio_tungstenite::tungstenite::Error as WsError;
        use tokio_tungstenite::tungstenite::error::CapacityError;
        let text = err.to_string();
        match err.into_inner().downcast::<WsError>().map(|e| *e) {
            Ok(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                Self::Close {
                    code: MESSAGE_TOO_BIG,
                    reason: format!("message of {size} bytes exceeds the limit of {max_size}")
                        .into(),
                }
            }
            _ => Self::Gone(text.into()),
        }
    }

    /// Whether the peer's unread data may still be arriving (an oversized
    /// message was refused half-read), so closing at once would reset the
    /// connection and lose our close frame.
    pub fn refused_unread_input(&self) -> bool {
        matches!(
            self,
            Self::Close {
                code: MESSAGE_TOO_BIG,
                ..
            }
        )
    }

    /// An idle timeout with this reason.
    pub fn timed_out(reason: impl Into<Cow<'static, str>>) -> Self {
        match Self::close(GOING_AWAY, reason) {
            Self::Close { reason, .. } => Self::TimedOut(reason),
            other => other,
        }
    }

    /// Whether the session ended on purpose (the client closed, or the server
    /// refused, kicked or shut down), so its player leaves at once rather than
    /// waiting for a resume.
    pub fn is_deliberate(&self) -> bool {
        match self {
            Self::Close { .. } => true,
            Self::TimedOut(_) => false,
            Self::Gone(cause) => cause == CLIENT_CLOSED,
        }
    }

    /// The close code sent, if any.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Close { code, .. } => Some(*code),
            Self::TimedOut(_) => Some(GOING_AWAY),
            Self::Gone(_) => None,
        }
    }

    /// The reason, for logs.
    pub fn reason(&self) -> &str {
        match self {
            Self::Close { reason, .. } | Self::TimedOut(reason) | Self::Gone(reason) => reason,
        }
    }

    /// A close with `code` and `reason` (cut to the WebSocket limit).
    pub fn close(code: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_REASON_BYTES {
            let mut end = MAX_REASON_BYTES;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason = Cow::Owned(reason[..end].to_owned());
        }
        Self::Close { code, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_to_the_websocket_limit_on_a_char_boundary() {
        let Ending::Close { reason, .. } = Ending::close(1007, "é".repeat(100)) else {
            panic!("close")
        };
        assert!(reason.len() <= MAX_REASON_BYTES);
        assert!(reason.chars().all(|c| c == 'é'));
    }
}
