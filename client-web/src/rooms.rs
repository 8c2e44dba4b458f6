//! The open rooms on the join screen, from the server's `GET /rooms`.

use serde::{Deserialize, Serialize};

/// One room as `GET /rooms` describes it (other fields are ignored).
#[derive(Debug, Clone, Deserialize)]
struct Listed {
    id: u32,
    players: u64,
    capacity: u64,
}

/// One line of the join screen's room list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomRow {
    /// Room id.
    pub id: u32,
    /// Players in the room (including dropped ones awaiting a resume).
    pub players: u64,
    /// Most players the room admits.
    pub capacity: u64,
    /// Whether a join would be refused.
    pub full: bool,
    /// What the line says, e.g. `Room 7 · 3 / 50 players`.
    pub label: String,
}

/// The rooms to list, from the body of `GET /rooms`: rooms with space first,
/// busiest first (where the game is), then by id; full rooms last.
pub fn room_rows(json: &str) -> Result<Vec<RoomRow>, String> {
    let listed: Vec<Listed> =
        serde_json::from_str(json).map_err(|e| format!("unexpected room list: {e}"))?;
    let mut rows: Vec<RoomRow> = listed
        .into_iter()
        .map(|r| {
            let full = r.players >= r.capacity;
            RoomRow {
                id: r.id,
                players: r.players,
                capacity: r.capacity,
                full,
                label: format!(
                    "Room {} \u{b7} {} / {} players",
                    r.id, r.players, r.capacity
                ),
            }
        })
        .collect();
    rows.sort_by_key(|r| (r.full, std::cmp::Reverse(r.players), r.id));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_with_space_come_first_busiest_first() {
        let json = r#"[
            {"id":1,"players":2,"capacity":2,"age_secs":3.5,"tick":100,"mean_tick_ms":0.1,"max_tick_ms":0.3,"tick_overruns":0},
            {"id":2,"players":1,"capacity":50,"age_secs":1.0,"tick":10,"mean_tick_ms":0.1,"max_tick_ms":0.2,"tick_overruns":0},
            {"id":3,"players":7,"capacity":50,"age_secs":9.0,"tick":900,"mean_tick_ms":0.1,"max_tick_ms":0.2,"tick_overruns":1},
            {"id":4,"players":1,"capacity":50,"age_secs":1.0,"tick":10,"mean_tick_ms":0.1,"max_tick_ms":0.2,"tick_overruns":0}
        ]"#;
        let rows = room_rows(json).expect("parses");
        let ids: Vec<u32> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, [3, 2, 4, 1]);
        assert!(rows[3].full && !rows[0].full);
        assert_eq!(rows[0].label, "Room 3 \u{b7} 7 / 50 players");
        assert_eq!(rows[1].label, "Room 2 \u{b7} 1 / 50 players");
    }

    #[test]
    fn an_empty_or_broken_list() {
        assert_eq!(room_rows("[]"), Ok(vec![]));
        assert!(room_rows("<html>").is_err());
        assert!(room_rows(r#"[{"id":1}]"#).is_err());
    }
}
