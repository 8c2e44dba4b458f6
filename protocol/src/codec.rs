//! The wire codec: the only module that touches bincode.
//!
//! bincode 2's `standard` configuration (variable-length integers, little
//! endian) with a size limit that is checked before any allocation: a frame
//! longer than the limit is refused unread, and a length prefix that claims
//! more than the limit is refused before a buffer is reserved for it.

use bincode::config::{self, Config};
use thiserror::Error;

use crate::message::{ClientMessage, ServerMessage};

/// Largest client message accepted, in bytes. Inputs are tiny; this leaves room for a `Hello`.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 256;
/// Largest server message a client accepts, in bytes (a full snapshot of a crowded view fits easily).
pub const MAX_SERVER_MESSAGE_BYTES: usize = 1 << 20;

/// A message that could not be encoded or decoded.
#[derive(Debug, Error)]
pub enum CodecError {
    /// The frame is longer than the limit for its direction.
    #[error("message of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Bytes in the frame.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not a valid message.
    #[error("undecodable message: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    /// A valid message was followed by stray bytes.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// The message could not be encoded (it exceeds the limit).
    #[error("unencodable message: {0}")]
    Encode(#[from] bincode::error::EncodeError),
}

// The frame's length is checked exactly before decoding (`check_len`); bincode's
// own limit is there to refuse a length prefix that claims more than the frame
// could hold before anything is allocated for it. bincode counts a string's or
// vector's bytes once when it claims the container and again as it reads them,
// so its limit is twice the frame limit: a message that fits the frame always decodes.
fn client_config() -> impl Config {
    config::standard().with_limit::<{ 2 * MAX_CLIENT_MESSAGE_BYTES }>()
}

fn server_config() -> impl Config {
    config::standard().with_limit::<{ 2 * MAX_SERVER_MESSAGE_BYTES }>()
}

/// Appends the encoding of a client message to `out`.
///
/// A message longer than [`MAX_CLIENT_MESSAGE_BYTES`] is refused (and `out` left
/// as it was), since no server would accept it.
pub fn encode_client(msg: &ClientMessage, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    bincode::serde::encode_into_std_write(msg, out, client_config())?;
    let len = out.len() - start;
    if len > MAX_CLIENT_MESSAGE_BYTES {
        out.truncate(start);
        return Err(CodecError::TooLarge {
            len,
            limit: MAX_CLIENT_MESSAGE_BYTES,
        });
    }
    Ok(())
}

/// Decodes one client message that fills `bytes` exactly.
pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, CodecError> {
    check_len(bytes, MAX_CLIENT_MESSAGE_BYTES)?;
    let (msg, used) = bincode::serde::decode_from_slice(bytes, client_config())?;
    check_consumed(bytes, used)?;
    Ok(msg)
}

/// Appends the encoding of a server message to `out`.
pub fn encode_server(msg: &ServerMessage, out: &mut Vec<u8>) -> Result<(), CodecError> {
    bincode::serde::encode_into_std_write(msg, out, server_config())?;
    Ok(())
}

/// Decodes one server message that fills `bytes` exactly.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMessage, CodecError> {
    check_len(bytes, MAX_SERVER_MESSAGE_BYTES)?;
    let (msg, used) = bincode::serde::decode_from_slice(bytes, server_config())?;
    check_consumed(bytes, used)?;
    Ok(msg)
}

/// The protocol version of a `Hello`, read without decoding the rest of it.
///
/// Works for a `Hello` of any protocol version, so a server can refuse a
/// client it cannot otherwise decode with a message naming both versions.
/// `None` if `bytes` does not start like a `Hello`.
pub fn peek_hello_version(bytes: &[u8]) -> Option<u16> {
    let (variant, used): (u32, usize) = bincode::decode_from_slice(bytes, client_config()).ok()?;
    if variant != 0 {
        return None;
    }
    let (version, _): (u16, usize) =
        bincode::decode_from_slice(&bytes[used..], client_config()).ok()?;
    Some(version)
}

fn check_len(bytes: &[u8], limit: usize) -> Result<(), CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    Ok(())
}

fn check_consumed(bytes: &[u8], used: usize) -> Result<(), CodecError> {
    match bytes.len() - used {
        0 => Ok(()),
        extra => Err(CodecError::TrailingBytes(extra)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntityId;
    use crate::input::InputFrame;
    use crate::message::*;

    fn round_trip_client(msg: ClientMessage) {
        let mut buf = Vec::new();
        encode_client(&msg, &mut buf).expect("encodes");
        assert_eq!(decode_client(&buf).expect("decodes"), msg);
    }

    #[test]
    fn client_messages_round_trip() {
        round_trip_client(ClientMessage::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            name: "ada".into(),
            room: RoomRequest::Join(RoomId(7)),
            auth_token: Some("v1.123.YWRh.sig".into()),
            resume: Some(ResumeToken([9; 16])),
        }));
        round_trip_client(ClientMessage::Inputs(InputBatch {
            first_seq: 70_000,
            ack_tick: 12,
            frames: vec![InputFrame::new(InputFrame::UP, 3), InputFrame::new(0, 200)],
        }));
        round_trip_client(ClientMessage::Ack(Ack { tick: 9 }));
        round_trip_client(ClientMessage::Ping(Ping { nonce: u32::MAX }));
        round_trip_client(ClientMessage::Resync(Resync::ChecksumMismatch));
    }

    #[test]
    fn server_messages_round_trip() {
        let msgs = [
            ServerMessage::Delta(Delta {
                tick: 100,
                baseline_age: 3,
                last_input_seq: 97,
                payload: vec![1, 2, 3],
            }),
            ServerMessage::Notice(Notice {
                code: NoticeCode::VersionMismatch { server_version: 1 },
                message: "nope".into(),
            }),
            ServerMessage::Leaderboard(Leaderboard {
                entries: vec![LeaderboardEntry {
                    player: EntityId(4),
                    name: "b".into(),
                    score: 7,
                }],
                players: 3,
            }),
        ];
        for msg in msgs {
            let mut buf = Vec::new();
            encode_server(&msg, &mut buf).expect("encodes");
            assert_eq!(decode_server(&buf).expect("decodes"), msg);
        }
    }

    #[test]
    fn an_input_message_is_a_handful_of_bytes() {
        let mut buf = Vec::new();
        let batch = InputBatch {
            first_seq: 1000,
            ack_tick: 2000,
            frames: vec![InputFrame::new(9, 200); 2],
        };
        encode_client(&ClientMessage::Inputs(batch), &mut buf).expect("encodes");
        assert!(buf.len() <= 12, "{} bytes", buf.len());
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_client(&[0; 300]),
            Err(CodecError::TooLarge { .. })
        ));
        assert!(decode_client(&[]).is_err());
        assert!(decode_client(&[99]).is_err());
        // A Hello whose name claims 250 bytes but the frame is short.
        assert!(decode_client(&[0, 1, 250, b'a']).is_err());
        // A Vec length far beyond the limit must be refused before allocating.
        let mut evil = vec![1u8, 1, 1, 0xfc];
        evil.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_client(&evil).is_err());
        let mut ok = Vec::new();
        encode_client(&ClientMessage::Ack(Ack { tick: 1 }), &mut ok).expect("encodes");
        ok.push(0);
        assert!(matches!(
            decode_client(&ok),
            Err(CodecError::TrailingBytes(1))
        ));
        // Every truncation of a valid message fails cleanly.
        let mut hello = Vec::new();
        encode_client(
            &ClientMessage::Hello(Hello {
                protocol_version: 1,
                name: "abcdef".into(),
                room: RoomRequest::Create,
                auth_token: None,
                resume: None,
            }),
            &mut hello,
        )
        .expect("encodes");
        for cut in 0..hello.len() {
            assert!(decode_client(&hello[..cut]).is_err());
        }
    }

    #[test]
    fn every_message_that_encodes_within_the_limit_decodes() {
        for token_len in 150..260 {
            let hello = ClientMessage::Hello(Hello {
                protocol_version: PROTOCOL_VERSION,
                name: "a".repeat(16),
                room: RoomRequest::Join(RoomId(u32::MAX)),
                auth_token: Some("t".repeat(token_len)),
                resume: Some(ResumeToken([0xff; 16])),
            });
            let mut buf = Vec::new();
            match encode_client(&hello, &mut buf) {
                Ok(()) => assert_eq!(
                    decode_client(&buf).expect("decodes"),
                    hello,
                    "token {token_len}"
                ),
                Err(CodecError::TooLarge { len, .. }) => assert!(len > MAX_CLIENT_MESSAGE_BYTES),
                Err(other) => panic!("{other}"),
            }
        }
    }

    #[test]
    fn hello_version_is_readable_across_versions() {
        let mut buf = Vec::new();
        encode_client(
            &ClientMessage::Hello(Hello {
                protocol_version: 999,
                name: "x".into(),
                room: RoomRequest::default(),
                auth_token: None,
                resume: None,
            }),
            &mut buf,
        )
        .expect("encodes");
        assert_eq!(peek_hello_version(&buf), Some(999));
        // Something a future version might put after the version.
        assert_eq!(peek_hello_version(&[0, 7, 0xff, 0xff, 0xff]), Some(7));
        let mut ack = Vec::new();
        encode_client(&ClientMessage::Ack(Ack { tick: 1 }), &mut ack).expect("encodes");
        assert_eq!(peek_hello_version(&ack), None);
    }
}
