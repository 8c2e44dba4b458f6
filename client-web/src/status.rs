//! Connection phases, and the words a player sees when a connection ends.
//!
//! The server closes with a code (and usually sends a `Notice` first):
//! 1001 shutting down, 1002 protocol version mismatch, 1013 full (the server,
//! or the room asked for), and 1003/1007/1008/1009 for input it refused. Each
//! becomes a clear message and the one action that helps: rejoin, go back to
//! the join screen for another room, join as a new player, or reload the page
//! for a new client.

use serde::Serialize;
use tickwire_protocol::message::{Notice, NoticeCode};

/// Where a connection stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// The socket is opening or the `Hello` awaits its `Welcome`.
    Connecting,
    /// Welcomed: in the game.
    Playing,
    /// The connection ended.
    Closed(Disconnect),
}

/// What the player can do after a disconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Connect again with the same name.
    Rejoin,
    /// Reload the page: this client cannot talk to the server.
    Reload,
    /// Back to the join screen, to choose another room.
    Lobby,
    /// Join again as a new player: the old one is gone.
    JoinNew,
}

/// A disconnect as shown to the player.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disconnect {
    /// The WebSocket close code (1006 when the connection dropped without one).
    pub code: u16,
    /// A short headline.
    pub title: String,
    /// A sentence or two saying what happened and what to do.
    pub detail: String,
    /// The button to offer.
    pub action: Action,
    /// Join again at once, without a resume token: the server refused to hand
    /// back the old player, and a fresh join is what the player wanted anyway.
    pub auto_rejoin: bool,
}

/// What is known when a connection ends.
#[derive(Debug, Clone)]
pub struct CloseFacts<'a> {
    /// The close code.
    pub code: u16,
    /// The close frame's reason text.
    pub reason: &'a str,
    /// The last `Notice` the server sent, if any.
    pub notice: Option<&'a Notice>,
    /// Whether the socket ever opened.
    pub opened: bool,
    /// Whether the server welcomed us.
    pub welcomed: bool,
    /// A protocol error this client found in the server's messages.
    pub client_error: Option<&'a str>,
    /// The protocol version this client announced.
    pub client_version: u16,
    /// Whether this connection was the page's own reconnect attempt (not
    /// the player's choice).
    pub automatic: bool,
}

/// The headline when a dropped player could not be taken back.
const RESUME_FAILED: &str = "Could not take back your player";

/// The message when reconnecting gave up: the connection (last closed with
/// `code`) did not come back within the server's resume window.
pub fn resume_window_passed(code: u16, window_ms: f64) -> Disconnect {
    Disconnect {
        code,
        title: RESUME_FAILED.to_owned(),
        detail: format!(
            "The connection dropped and did not come back within {:.0} s, so the server has \
             let your player go. Join again as a new player.",
            (window_ms / 1000.0).ceil()
        ),
        action: Action::JoinNew,
        auto_rejoin: false,
    }
}

/// The message for a connection that ended.
pub fn describe_close(f: &CloseFacts<'_>) -> Disconnect {
    let said = |fallback: &str| -> String {
        let server_words = f
            .notice
            .map(|n| n.message.as_str())
            .filter(|m| !m.is_empty())
            .or(Some(f.reason).filter(|r| !r.is_empty()));
        match server_words {
            Some(w) => format!("{fallback} The server said: \u{201c}{w}\u{201d}"),
            None => fallback.to_owned(),
        }
    };
    let out = |title: &str, detail: String, action| Disconnect {
        code: f.code,
        title: title.to_owned(),
        detail,
        action,
        auto_rejoin: false,
    };
    if let Some(err) = f.client_error {
        return out(
            "Protocol error",
            format!(
                "The server sent something this client does not understand ({err}). \
                 Reload the page to get the client that matches the server."
            ),
            Action::Reload,
        );
    }
    let notice = f.notice.map(|n| n.code);
    if let Some(NoticeCode::VersionMismatch { server_version }) = notice {
        return out(
            "Version mismatch",
            format!(
                "This page speaks protocol version {} but the server speaks version \
                 {server_version}. Reload the page to get the matching client.",
                f.client_version
            ),
            Action::Reload,
        );
    }
    match notice {
        // Reconnecting on its own, the page says so and lets the player
        // choose; after the player's own Rejoin, it joins anew at once.
        Some(NoticeCode::ResumeRejected) if f.automatic => {
            return out(
                RESUME_FAILED,
                said("The server no longer holds your player. Join again as a new player."),
                Action::JoinNew,
            );
        }
        Some(NoticeCode::ResumeRejected) => {
            return Disconnect {
                auto_rejoin: true,
                ..out(
                    RESUME_FAILED,
                    said("The old player is gone. Joining as a new one."),
                    Action::Rejoin,
                )
            };
        }
        Some(NoticeCode::RoomFull) => {
            return out(
                "Room full",
                said("Every place in this room is taken. Choose another room, or try again later."),
                Action::Lobby,
            );
        }
        Some(NoticeCode::RoomNotFound) => {
            return out(
                "Room not found",
                said("The room asked for does not exist (any more). Choose another room."),
                Action::Lobby,
            );
        }
        Some(NoticeCode::Unauthorized) => {
            return out(
                "Not allowed in",
                said("This server needs a valid join token in the page address (?token=…)."),
                Action::Reload,
            );
        }
        Some(NoticeCode::IdleTimeout) => {
            return out(
                "Disconnected for inactivity",
                said("The server heard nothing from this page for too long."),
                Action::Rejoin,
            );
        }
        _ => {}
    }
    match (f.code, notice) {
        (1013, _) | (_, Some(NoticeCode::ServerFull)) => out(
            "Server full",
            said("Every place in the game is taken. Try again in a moment."),
            Action::Rejoin,
        ),
        (1001, _) | (_, Some(NoticeCode::ShuttingDown)) => out(
            "Server shutting down",
            said("The server is going away, perhaps for a restart. Rejoin in a moment."),
            Action::Rejoin,
        ),
        (1002, _) => out(
            "Protocol error",
            said("The server could not understand this client. Reload the page."),
            Action::Reload,
        ),
        (1003 | 1007 | 1008 | 1009, _)
        | (_, Some(NoticeCode::Malformed | NoticeCode::PolicyViolation)) => out(
            "Disconnected by the server",
            said(&format!(
                "The server refused data from this client (close code {}).",
                f.code
            )),
            Action::Rejoin,
        ),
        _ if !f.opened => out(
            "Cannot reach the server",
            "The game server did not take the connection: it may be full, restarting or down. \
             Try again in a moment."
                .to_owned(),
            Action::Rejoin,
        ),
        _ if !f.welcomed => out(
            "Connection refused",
            said(&format!(
                "The server closed the connection before the game started (close code {}).",
                f.code
            )),
            Action::Rejoin,
        ),
        (1000, _) => out(
            "Disconnected",
            said("The server ended the session."),
            Action::Rejoin,
        ),
        _ => out(
            "Connection lost",
            said(&format!(
                "The connection to the server dropped (close code {}).",
                f.code
            )),
            Action::Rejoin,
        ),
    }
}

#[cfg(test)]
mod tests {
    use tickwire_protocol::PROTOCOL_VERSION;

    use super::*;

    fn facts(code: u16) -> CloseFacts<'static> {
        CloseFacts {
            code,
            reason: "",
            notice: None,
            opened: true,
            welcomed: true,
            client_error: None,
            client_version: PROTOCOL_VERSION,
            automatic: false,
        }
    }

    #[test]
    fn a_version_mismatch_names_both_versions_and_asks_for_a_reload() {
        let n = Notice {
            code: NoticeCode::VersionMismatch { server_version: 9 },
            message: "upgrade".into(),
        };
        let d = describe_close(&CloseFacts {
            notice: Some(&n),
            welcomed: false,
            ..facts(1002)
        });
        assert_eq!(d.title, "Version mismatch");
        assert!(d.detail.contains("version 1") && d.detail.contains("version 9"));
        assert_eq!(d.action, Action::Reload);
    }

    #[test]
    fn full_shutdown_and_refusals_are_named() {
        let full = describe_close(&CloseFacts {
            welcomed: false,
            reason: "server full",
            ..facts(1013)
        });
        assert_eq!(
            (full.title.as_str(), full.action),
            ("Server full", Action::Rejoin)
        );
        assert!(full.detail.contains("\u{201c}server full\u{201d}"));
        assert_eq!(describe_close(&facts(1001)).title, "Server shutting down");
        for code in [1003, 1007, 1008, 1009] {
            let d = describe_close(&facts(code));
            assert_eq!(d.title, "Disconnected by the server");
            assert!(d.detail.contains(&code.to_string()));
        }
    }

    #[test]
    fn a_dropped_connection_offers_a_rejoin() {
        let d = describe_close(&facts(1006));
        assert_eq!(
            (d.title.as_str(), d.action),
            ("Connection lost", Action::Rejoin)
        );
        let never = describe_close(&CloseFacts {
            opened: false,
            welcomed: false,
            ..facts(1006)
        });
        assert_eq!(never.title, "Cannot reach the server");
    }

    #[test]
    fn a_client_side_protocol_error_wins() {
        let d = describe_close(&CloseFacts {
            client_error: Some("bad tag"),
            ..facts(1006)
        });
        assert_eq!(
            (d.title.as_str(), d.action),
            ("Protocol error", Action::Reload)
        );
        assert!(d.detail.contains("bad tag"));
    }

    #[test]
    fn a_refused_resume_rejoins_fresh_and_room_notices_are_named() {
        let notice = |code| Notice {
            code,
            message: String::new(),
        };
        let n = notice(NoticeCode::ResumeRejected);
        let d = describe_close(&CloseFacts {
            notice: Some(&n),
            welcomed: false,
            ..facts(1008)
        });
        assert!(d.auto_rejoin);
        let automatic = describe_close(&CloseFacts {
            notice: Some(&n),
            welcomed: false,
            automatic: true,
            ..facts(1008)
        });
        assert_eq!(
            (automatic.title.as_str(), automatic.action),
            ("Could not take back your player", Action::JoinNew)
        );
        assert!(!automatic.auto_rejoin, "the player chooses");
        for (code, title, action) in [
            (NoticeCode::RoomFull, "Room full", Action::Lobby),
            (NoticeCode::RoomNotFound, "Room not found", Action::Lobby),
            (NoticeCode::Unauthorized, "Not allowed in", Action::Reload),
            (
                NoticeCode::IdleTimeout,
                "Disconnected for inactivity",
                Action::Rejoin,
            ),
        ] {
            let n = notice(code);
            let d = describe_close(&CloseFacts {
                notice: Some(&n),
                ..facts(1013)
            });
            assert_eq!((d.title.as_str(), d.action), (title, action));
            assert!(!d.auto_rejoin);
        }
    }

    #[test]
    fn a_passed_resume_window_offers_a_new_player() {
        let d = resume_window_passed(1006, 15_000.0);
        assert_eq!(d.action, Action::JoinNew);
        assert!(d.detail.contains("15 s"), "{}", d.detail);
        assert_eq!(
            serde_json::to_value(Action::JoinNew).expect("serializes"),
            "join_new"
        );
    }

    #[test]
    fn phases_serialize_with_a_tag() {
        let json = serde_json::to_string(&Phase::Closed(describe_close(&facts(1001))))
            .expect("serializes");
        assert!(
            json.starts_with("{\"phase\":\"closed\",\"code\":1001"),
            "{json}"
        );
        assert_eq!(
            serde_json::to_string(&Phase::Playing).expect("serializes"),
            "{\"phase\":\"playing\"}"
        );
    }
}
