//! Signed join tokens: with a token secret, a valid token admits its player
//! under the token's name (whatever the `Hello` says); a missing, expired,
//! forged or altered token is refused with an `Unauthorized` notice and close
//! 1008, each with its own reason. A signed honest player plays on throughout.

mod common;

use std::sync::Arc;

use common::*;
use tickwire_protocol::message::NoticeCode;
use tickwire_protocol::session::SessionConfig;
use tickwire_server::ServerConfig;
use tickwire_server::auth::{mint, unix_now};
use tickwire_tests::{Behavior, BotConfig};

const SECRET: &[u8] = b"the server's secret";

/// Says `Hello` with `token`; the close code and reason it is refused with,
/// after checking an `Unauthorized` notice came first.
async fn refused(server: &TestServer, token: Option<String>) -> anyhow::Result<(u16, String)> {
    let config = SessionConfig {
        auth_token: token.clone(),
        ..SessionConfig::new("mallory")
    };
    let mut conn = connect_with(&server.target(), config).await?;
    let err = closed(&mut conn).await?;
    let notices = notices(&mut conn);
    assert!(
        notices.iter().any(|n| n.code == NoticeCode::Unauthorized),
        "token {token:?}: no Unauthorized notice in {notices:?}"
    );
    let code = err
        .close_code()
        .ok_or_else(|| anyhow::anyhow!("token {token:?}: no close frame: {err}"))?;
    Ok((code, reason_of(&err).to_owned()))
}

#[tokio::test]
async fn only_valid_tokens_admit_and_each_refusal_says_why() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig {
        token_secret: Some(Arc::from(SECRET)),
        ..small_world((800, 800), (2000, 2000))
    })
    .await?;
    let target = server.target();
    let in_an_hour = unix_now() + 3600;

    // A valid token admits, and the player is named by the token, not the Hello.
    let honest_config = SessionConfig {
        auth_token: Some(mint(SECRET, "ada", in_an_hour)),
        ..BotConfig::new("impostor", Behavior::Wander).session_config()
    };
    let mut honest = Honest::start_with(&target, honest_config, Behavior::Wander).await?;
    let me = honest.welcome.player;
    let mut watcher = connect_with(
        &target,
        SessionConfig {
            auth_token: Some(mint(SECRET, "watcher", in_an_hour)),
            ..SessionConfig::new("watcher")
        },
    )
    .await?;
    welcomed(&mut watcher).await?;
    while watcher.session().name_of(me).is_none() {
        next_snapshot(&mut watcher).await?;
    }
    assert_eq!(watcher.session().name_of(me), Some("ada"));

    let valid = mint(SECRET, "mallory", in_an_hour);
    let (body, signature) = valid.rsplit_once('.').expect("a token has dots");
    let altered_expiry = format!(
        "{}.{signature}",
        body.replacen(
            &in_an_hour.to_string(),
            &(in_an_hour + 86_400).to_string(),
            1
        )
    );
    let altered_name = format!(
        "{}.{signature}",
        mint(SECRET, "admin", in_an_hour)
            .rsplit_once('.')
            .expect("dots")
            .0
    );
    let cases = [
        ("missing", None, "required"),
        (
            "expired",
            Some(mint(SECRET, "mallory", unix_now() - 10)),
            "expired",
        ),
        (
            "other secret",
            Some(mint(b"another secret", "mallory", in_an_hour)),
            "signature",
        ),
        ("altered expiry", Some(altered_expiry), "signature"),
        ("altered name", Some(altered_name), "signature"),
    ];
    let mut reasons = Vec::new();
    for (case, token, says) in cases {
        let (code, reason) = refused(&server, token).await?;
        assert_eq!(code, 1008, "{case}: {reason}");
        assert!(reason.contains(says), "{case}: {reason:?} lacks {says:?}");
        reasons.push(reason);
        honest.more_snapshots(2).await?;
    }
    // Missing, expired and forged each read differently.
    assert_ne!(reasons[0], reasons[1]);
    assert_ne!(reasons[0], reasons[2]);
    assert_ne!(reasons[1], reasons[2]);
    let m = metrics(&server).await?;
    assert_eq!(
        m.value("tickwire_disconnects_total{reason=\"policy\"}"),
        5.0
    );
    assert_eq!(m.value("tickwire_players_connected"), 2.0);

    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}
