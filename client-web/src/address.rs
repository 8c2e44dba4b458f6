//! The page address and rooms: `#room=7` (the share link's form) or the older
//! `?room=7` picks a room, and an invite link names the room one is in.

/// The room the page address asks for: `room=<id>` in the fragment (`#room=7`,
/// also among other `&`-separated pairs), else in the query (`?room=7`).
/// `search` and `hash` are `location.search` and `location.hash`, with or
/// without their leading `?` / `#`. A malformed id counts as no room.
pub fn room_from_address(search: &str, hash: &str) -> Option<u32> {
    let from = |part: &str, lead: char| {
        let part = part.strip_prefix(lead).unwrap_or(part);
        part.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == "room").then(|| parse_room_id(value)).flatten()
        })
    };
    from(hash, '#').or_else(|| from(search, '?'))
}

/// A room id as a player types or a link carries it: digits, optionally
/// with spaces around or a leading `#`.
pub fn parse_room_id(text: &str) -> Option<u32> {
    let t = text.trim();
    let t = t.strip_prefix('#').unwrap_or(t).trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// The fragment that selects `room`: `#room=7`.
pub fn room_fragment(room: u32) -> String {
    format!("#room={room}")
}

/// The link that brings a friend into `room`: the page's `origin`
/// (`location.origin`, e.g. `https://game.example`) plus `/#room=<id>`.
pub fn invite_link(origin: &str, room: u32) -> String {
    format!("{}/{}", origin.trim_end_matches('/'), room_fragment(room))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fragment_picks_the_room_before_the_query() {
        assert_eq!(room_from_address("", "#room=7"), Some(7));
        assert_eq!(room_from_address("?room=3", "#room=7"), Some(7));
        assert_eq!(room_from_address("?room=3", ""), Some(3));
        assert_eq!(room_from_address("?name=ada&room=3", "#"), Some(3));
        assert_eq!(room_from_address("name=ada&room=12", ""), Some(12));
        assert_eq!(room_from_address("", "#x=1&room=42"), Some(42));
        assert_eq!(room_from_address("", "room=5"), Some(5));
    }

    #[test]
    fn anything_else_is_no_room() {
        for (search, hash) in [
            ("", ""),
            ("?name=ada", "#top"),
            ("", "#room="),
            ("", "#room=abc"),
            ("", "#room=-1"),
            ("", "#room=4294967296"),
            ("", "#rooms=4"),
            ("?room=1.5", ""),
        ] {
            assert_eq!(room_from_address(search, hash), None, "{search} {hash}");
        }
        // A bad fragment does not hide a good query.
        assert_eq!(room_from_address("?room=2", "#room=x"), Some(2));
    }

    #[test]
    fn typed_ids_may_carry_spaces_and_a_hash() {
        assert_eq!(parse_room_id(" 17 "), Some(17));
        assert_eq!(parse_room_id("#17"), Some(17));
        assert_eq!(parse_room_id("4294967295"), Some(u32::MAX));
        for bad in ["", " ", "+1", "1e3", "seven", "１"] {
            assert_eq!(parse_room_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_invite_link_is_the_origin_and_the_fragment() {
        assert_eq!(
            invite_link("http://127.0.0.1:8080", 7),
            "http://127.0.0.1:8080/#room=7"
        );
        assert_eq!(
            invite_link("https://game.example/", 12),
            "https://game.example/#room=12"
        );
        assert_eq!(room_fragment(3), "#room=3");
        let link = invite_link("https://game.example", 99);
        let hash = &link[link.find('#').expect("a fragment")..];
        assert_eq!(room_from_address("", hash), Some(99));
    }
}
