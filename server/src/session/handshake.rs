//! The opening of a session: `Hello` within a deadline, version check, join, `Welcome`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket};
use tickwire_protocol::codec::{self, MAX_CLIENT_MESSAGE_BYTES};
use tickwire_protocol::delta::truncate_name;
use tickwire_protocol::message::{
    ClientMessage, Notice, NoticeCode, PROTOCOL_VERSION, ServerMessage, Welcome,
};
use tokio::time::timeout;

use super::close::*;
use crate::config::ServerConfig;
use crate::room::{JoinError, Joined, RoomHandle};

/// Waits for the client's `Hello`, checks it and joins the room.
/// On refusal, the client has been sent a `Notice` where one helps, and the
/// returned [`Ending`] holds the close code and reason.
pub async fn accept(
    ws: &mut WebSocket,
    room: &RoomHandle,
    config: &ServerConfig,
) -> Result<Joined, Ending> {
    let first = match timeout(config.hello_timeout, ws.recv()).await {
        Err(_) => {
            return Err(Ending::close(
                POLICY_VIOLATION,
                format!("no Hello within {:?}", config.hello_timeout),
            ));
        }
        Ok(None) => return Err(Ending::Gone("closed before Hello".into())),
        Ok(Some(Err(err))) => return Err(Ending::Gone(err.to_string().into())),
        Ok(Some(Ok(msg))) => msg,
    };
    let bytes = match first {
        Message::Binary(bytes) => bytes,
        Message::Text(_) => {
            return Err(Ending::close(
                UNSUPPORTED_DATA,
                "text frames are not supported: send a binary Hello",
            ));
        }
        _ => return Err(Ending::close(POLICY_VIOLATION, "expected Hello")),
    };
    if bytes.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(Ending::close(
            MESSAGE_TOO_BIG,
            format!("Hello of {} bytes exceeds the limit", bytes.len()),
        ));
    }
    if let Some(version) = codec::peek_hello_version(&bytes)
        && version != PROTOCOL_VERSION
    {
        let reason = format!(
            "protocol version mismatch: server speaks {PROTOCOL_VERSION}, client sent {version}"
        );
        notice(
            ws,
            NoticeCode::VersionMismatch {
                server_version: PROTOCOL_VERSION,
            },
            &reason,
        )
        .await;
        return Err(Ending::close(PROTOCOL_ERROR, reason));
    }
    let hello = match codec::decode_client(&bytes) {
        Ok(ClientMessage::Hello(hello)) => hello,
        Ok(_) => {
            return Err(Ending::close(
                POLICY_VIOLATION,
                "expected Hello as the first message",
            ));
        }
        Err(err) => return Err(Ending::close(INVALID_PAYLOAD, err.to_string())),
    };
    let name: Arc<str> = Arc::from(sanitize_name(&hello.name));
    match room.join(name).await {
        Ok(joined) => Ok(joined),
        Err(JoinError::Full(max)) => {
            let reason = format!("server full: {max} players");
            notice(ws, NoticeCode::ServerFull, &reason).await;
            Err(Ending::close(TRY_AGAIN_LATER, reason))
        }
        Err(JoinError::Closed) => Err(Ending::close(GOING_AWAY, "server shutting down")),
    }
}

/// A display name: control characters removed, trimmed, cut to the limit, never empty.
fn sanitize_name(raw: &str) -> String {
    let clean: String = raw.chars().filter(|c| !c.is_control()).collect();
    let name = truncate_name(clean.trim()).trim();
    if name.is_empty() {
        "player".to_owned()
    } else {
        name.to_owned()
    }
}

async fn notice(ws: &mut WebSocket, code: NoticeCode, message: &str) {
    let mut buf = Vec::new();
    let msg = ServerMessage::Notice(Notice {
        code,
        message: message.to_owned(),
    });
    if codec::encode_server(&msg, &mut buf).is_ok() {
        let _ = timeout(
            std::time::Duration::from_secs(1),
            ws.send(Message::Binary(Bytes::from(buf))),
        )
        .await;
    }
}

/// The encoded `Welcome` for a player who just joined.
pub fn welcome(config: &ServerConfig, joined: &Joined) -> Bytes {
    let arena = config.arena();
    let (view_width, view_height) = config.view_units();
    let msg = ServerMessage::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        player: joined.id,
        tick_rate: config.tick_rate,
        snapshot_interval_ticks: config.snapshot_interval_ticks(),
        arena_width: arena.width,
        arena_height: arena.height,
        view_width,
        view_height,
        tick: joined.tick,
    });
    let mut buf = Vec::new();
    let _ = codec::encode_server(&msg, &mut buf);
    Bytes::from(buf)
}

#[cfg(test)]
mod tests {
    use super::sanitize_name;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(sanitize_name("  ada\u{7}  "), "ada");
        assert_eq!(sanitize_name("\n\t"), "player");
        assert_eq!(sanitize_name(&"x".repeat(40)).len(), 16);
    }
}
