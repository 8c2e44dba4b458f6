//! The opening of a session: `Hello` within a deadline, version and token
//! checks, then a room (matchmaking, or a resume), then `Welcome`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket};
use tickwire_protocol::codec::{self, MAX_CLIENT_MESSAGE_BYTES};
use tickwire_protocol::delta::truncate_name;
use tickwire_protocol::message::{
    ClientMessage, Hello, Notice, NoticeCode, PROTOCOL_VERSION, RoomRequest, ServerMessage, Welcome,
};
use tokio::time::timeout;

use super::SessionContext;
use super::close::*;
use crate::auth;
use crate::config::ServerConfig;
use crate::lobby::LobbyError;
use crate::room::{JoinError, Joined, RoomHandle};

/// Times matchmaking is retried when the chosen room fills up or closes meanwhile.
const JOIN_ATTEMPTS: usize = 3;

/// Waits for the client's `Hello`, checks it and finds the player a room.
/// On refusal, the client has been sent a `Notice` where one helps, and the
/// returned [`Ending`] holds the close code and reason.
pub async fn accept(
    ws: &mut WebSocket,
    ctx: &SessionContext,
) -> Result<(RoomHandle, Joined), Ending> {
    let hello = read_hello(ws, &ctx.config).await?;
    let name = match &ctx.config.token_secret {
        None => sanitize_name(&hello.name),
        Some(secret) => {
            let verified = hello
                .auth_token
                .as_deref()
                .ok_or(auth::TokenError::Missing)
                .and_then(|token| auth::verify(secret, token, auth::unix_now()));
            match verified {
                Ok(name) => sanitize_name(&name),
                Err(err) => {
                    return Err(refuse(
                        ws,
                        NoticeCode::Unauthorized,
                        POLICY_VIOLATION,
                        err.to_string(),
                    )
                    .await);
                }
            }
        }
    };
    match hello.resume {
        Some(token) => {
            let resumed = match ctx.lobby.room_of(&token) {
                Some(room) => room.resume(token).await.map(|joined| (room, joined)),
                None => Err(JoinError::ResumeRejected),
            };
            match resumed {
                Ok(found) => Ok(found),
                Err(JoinError::Closed) => Err(Ending::close(GOING_AWAY, "room closed")),
                Err(_) => Err(refuse(
                    ws,
                    NoticeCode::ResumeRejected,
                    POLICY_VIOLATION,
                    "resume token not valid (unknown, used, or expired)".into(),
                )
                .await),
            }
        }
        None => join(ws, ctx, hello.room, Arc::from(name)).await,
    }
}

async fn join(
    ws: &mut WebSocket,
    ctx: &SessionContext,
    request: RoomRequest,
    name: Arc<str>,
) -> Result<(RoomHandle, Joined), Ending> {
    for _ in 0..JOIN_ATTEMPTS {
        let room = match ctx.lobby.find(request) {
            Ok(room) => room,
            Err(LobbyError::NotFound(id)) => {
                let reason = format!("room {} does not exist", id.0);
                return Err(refuse(ws, NoticeCode::RoomNotFound, TRY_AGAIN_LATER, reason).await);
            }
            Err(LobbyError::TooManyRooms(n)) => {
                let reason = format!("server full: {n} rooms running");
                return Err(refuse(ws, NoticeCode::ServerFull, TRY_AGAIN_LATER, reason).await);
            }
            Err(LobbyError::ShuttingDown) => {
                return Err(Ending::close(GOING_AWAY, "server shutting down"));
            }
        };
        match room.join(name.clone()).await {
            Ok(joined) => return Ok((room, joined)),
            // Chosen room filled up or closed meanwhile: matchmaking picks again.
            Err(JoinError::Full(_) | JoinError::Closed) if request == RoomRequest::JoinOrCreate => {
                continue;
            }
            Err(JoinError::Full(max)) => {
                let reason = format!("room {} is full: {max} players", room.id.0);
                return Err(refuse(ws, NoticeCode::RoomFull, TRY_AGAIN_LATER, reason).await);
            }
            Err(_) => return Err(Ending::close(TRY_AGAIN_LATER, "room closed; try again")),
        }
    }
    Err(refuse(
        ws,
        NoticeCode::ServerFull,
        TRY_AGAIN_LATER,
        "no room with space; try again".into(),
    )
    .await)
}

async fn read_hello(ws: &mut WebSocket, config: &ServerConfig) -> Result<Hello, Ending> {
    // One deadline for the Hello, however many pings come before it.
    let deadline = tokio::time::Instant::now() + config.hello_timeout;
    let bytes = loop {
        let msg = match tokio::time::timeout_at(deadline, ws.recv()).await {
            Err(_) => {
                return Err(Ending::close(
                    POLICY_VIOLATION,
                    format!("no Hello within {:?}", config.hello_timeout),
                ));
            }
            Ok(None) => return Err(Ending::Gone("closed before Hello".into())),
            Ok(Some(Err(err))) => return Err(Ending::from_read_error(err)),
            Ok(Some(Ok(msg))) => msg,
        };
        match msg {
            Message::Binary(bytes) => break bytes,
            Message::Text(_) => {
                return Err(Ending::close(
                    UNSUPPORTED_DATA,
                    "text frames are not supported: send a binary Hello",
                ));
            }
            // WebSocket pings and pongs may come at any time.
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return Err(Ending::Gone(CLIENT_CLOSED.into())),
        }
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
        return Err(refuse(
            ws,
            NoticeCode::VersionMismatch {
                server_version: PROTOCOL_VERSION,
            },
            PROTOCOL_ERROR,
            reason,
        )
        .await);
    }
    match codec::decode_client(&bytes) {
        Ok(ClientMessage::Hello(hello)) => Ok(hello),
        Ok(_) => Err(Ending::close(
            POLICY_VIOLATION,
            "expected Hello as the first message",
        )),
        Err(err) => Err(Ending::close(INVALID_PAYLOAD, err.to_string())),
    }
}

/// Sends a `Notice`, giving up after a second (the connection is about to close anyway).
pub(super) async fn send_notice(ws: &mut WebSocket, code: NoticeCode, message: &str) {
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

/// Sends a `Notice` and returns the close that follows it.
async fn refuse(ws: &mut WebSocket, code: NoticeCode, close: u16, reason: String) -> Ending {
    send_notice(ws, code, &reason).await;
    Ending::close(close, reason)
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

/// The encoded `Welcome` for a player who just joined or resumed.
pub fn welcome(config: &ServerConfig, room: &RoomHandle, joined: &Joined) -> Bytes {
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
        room: room.id,
        resume_token: joined.resume_token,
        resume_window_ms: u32::try_from(config.resume_window.as_millis()).unwrap_or(u32::MAX),
        resumed: joined.resumed,
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
