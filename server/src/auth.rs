//! Signed join tokens.
//!
//! A token lets a player join when the server runs with a token secret. It is
//! minted by whoever runs the game's accounts (or `tickwire-server token` for
//! tests) and is valid for one name until its expiry:
//!
//! ```text
//! v1.<expiry>.<name>.<signature>
//! ```
//! - `expiry`: Unix time in seconds, decimal.
//! - `name`: the player's name, base64url without padding.
//! - `signature`: HMAC-SHA256 with the shared secret over `v1.<expiry>.<name>`
//!   (the first three fields as they appear, dots included), base64url without padding.
//!
//! The server compares signatures in constant time, refuses an expired token
//! and a forged one with different reasons, and uses the token's name for the player.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    /// No token was given and the server requires one.
    #[error("join token required")]
    Missing,
    /// The token is not in the `v1.<expiry>.<name>.<signature>` format.
    #[error("join token malformed")]
    Malformed,
    /// The token's expiry has passed.
    #[error("join token expired")]
    Expired,
    /// The signature does not match: the token was forged or altered, or signed with another secret.
    #[error("join token signature invalid")]
    BadSignature,
}

/// A token for `name`, valid until `expires_at` (Unix seconds).
pub fn mint(secret: &[u8], name: &str, expires_at: u64) -> String {
    let body = format!(
        "v1.{expires_at}.{}",
        URL_SAFE_NO_PAD.encode(name.as_bytes())
    );
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, &body).finalize().into_bytes());
    format!("{body}.{signature}")
}

/// Checks `token` at time `now` (Unix seconds) and returns the name it carries.
pub fn verify(secret: &[u8], token: &str, now: u64) -> Result<String, TokenError> {
    let (body, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let mut fields = body.split('.');
    let (Some("v1"), Some(expiry), Some(name), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(TokenError::Malformed);
    };
    let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    mac(secret, body)
        .verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    if now >= expiry {
        return Err(TokenError::Expired);
    }
    let name = URL_SAFE_NO_PAD
        .decode(name)
        .map_err(|_| TokenError::Malformed)?;
    String::from_utf8(name).map_err(|_| TokenError::Malformed)
}

fn mac(secret: &[u8], body: &str) -> HmacSha256 {
    // HMAC accepts keys of any length.
    let mut mac = HmacSha256::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body.as_bytes());
    mac
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let t = mint(b"secret", "zoë", 1000);
        assert_eq!(verify(b"secret", &t, 999), Ok("zoë".to_owned()));
        assert_eq!(verify(b"secret", &t, 1000), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_altered_tokens_are_refused() {
        let t = mint(b"secret", "ada", 1000);
        assert_eq!(verify(b"other", &t, 1), Err(TokenError::BadSignature));
        let longer = t.replacen("v1.1000.", "v1.9999.", 1);
        assert_eq!(verify(b"secret", &longer, 1), Err(TokenError::BadSignature));
        let renamed = mint(b"secret", "eve", 1000);
        let spliced = format!(
            "{}.{}",
            renamed.rsplit_once('.').expect("dot").0,
            t.rsplit_once('.').expect("dot").1
        );
        assert_eq!(
            verify(b"secret", &spliced, 1),
            Err(TokenError::BadSignature)
        );
        for junk in [
            "",
            "v1",
            "v2.1.YQ.sig",
            "v1.x.YQ.c2ln",
            "v1.1.YQ.!!",
            "v1.1.YQ.a.b",
        ] {
            assert!(verify(b"secret", junk, 1).is_err(), "{junk}");
        }
    }
}
