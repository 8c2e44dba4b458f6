//! The shim driven as the shell drives it, on a virtual clock.

use super::*;

fn output() -> Vec<u8> {
    with_shell(|s| s.output.clone())
}

fn write_input(bytes: &[u8]) {
    let ptr = tw_input_buffer(bytes.len() as u32);
    with_shell(|s| {
        assert_eq!(s.input.as_ptr(), ptr.cast_const());
        s.input.copy_from_slice(bytes);
    });
}

#[test]
fn the_shim_joins_says_hello_and_reports_a_close() {
    tw_init();
    let n = tw_keymap();
    assert_eq!(n as usize, output().len());
    write_input(b"adasecret");
    tw_join(3, 6, -1, 5, 1, 0.0);
    assert_eq!(
        tw_transmit(0.0),
        -1,
        "nothing goes out before the socket opens"
    );
    tw_opened();
    let len = tw_transmit(1.0);
    assert!(len > 0);
    let hello = tickwire_protocol::codec::decode_client(&output()).expect("a hello");
    let tickwire_protocol::ClientMessage::Hello(hello) = hello else {
        panic!("a hello");
    };
    assert_eq!(hello.name, "ada");
    assert_eq!(hello.auth_token.as_deref(), Some("secret"));
    assert_eq!(hello.room, RoomRequest::Join(RoomId(5)));
    assert_eq!(hello.resume, None, "nothing to resume yet");
    write_input(&[0xff, 0xff, 0xff]);
    assert_eq!(tw_receive(3, 2.0), -1, "garbage is a protocol error");
    write_input(b"");
    tw_closed(1006, 0, 3.0, 0.5);
    let plan: serde_json::Value = serde_json::from_slice(&output()).expect("json");
    assert_eq!(plan["plan"], "stop", "never welcomed: nothing to take back");
    tw_render(3.0);
    let state: serde_json::Value = serde_json::from_slice(&output()).expect("json");
    assert_eq!(state["status"]["phase"], "closed");
    assert_eq!(state["status"]["title"], "Protocol error");
    tw_errors();
    let errors: Vec<String> = serde_json::from_slice(&output()).expect("json");
    assert_eq!(errors.len(), 1);
    tw_events();
    let events: serde_json::Value = serde_json::from_slice(&output()).expect("json");
    assert_eq!(events[0]["type"], "error");
}

fn hello() -> tickwire_protocol::message::Hello {
    match tickwire_protocol::codec::decode_client(&output()) {
        Ok(tickwire_protocol::ClientMessage::Hello(h)) => h,
        other => panic!("expected a hello: {other:?}"),
    }
}

fn welcome(room: u32, token: u8, window_ms: u32, resumed: bool) -> Vec<u8> {
    use tickwire_protocol::message::{ServerMessage, Welcome};
    use tickwire_protocol::{EntityId, PROTOCOL_VERSION, ResumeToken};
    let welcome = ServerMessage::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        player: EntityId(5),
        tick_rate: 60,
        snapshot_interval_ticks: 3,
        arena_width: 1000,
        arena_height: 1000,
        view_width: 500,
        view_height: 500,
        tick: 1,
        room: RoomId(room),
        resume_token: ResumeToken([token; 16]),
        resume_window_ms: window_ms,
        resumed,
    });
    let mut bytes = Vec::new();
    tickwire_protocol::codec::encode_server(&welcome, &mut bytes).expect("encodes");
    bytes
}

fn receive(bytes: &[u8], now_ms: f64) {
    write_input(bytes);
    assert_eq!(tw_receive(bytes.len() as u32, now_ms), 0);
}

fn close(code: u32, now_ms: f64) -> serde_json::Value {
    write_input(b"");
    let len = tw_closed(code, 0, now_ms, 0.0);
    serde_json::from_slice(&output()[..len as usize]).expect("json")
}

fn join(room: i64, mode: u32, now_ms: f64) -> tickwire_protocol::message::Hello {
    write_input(b"bob");
    tw_join(3, 0, -1, room, mode, now_ms);
    tw_opened();
    assert!(tw_transmit(now_ms) > 0);
    hello()
}

fn reconnect_state() -> serde_json::Value {
    let len = tw_reconnect_state();
    serde_json::from_slice(&output()[..len as usize]).expect("json")
}

#[test]
fn a_drop_reconnects_with_the_token_until_welcomed() {
    use tickwire_protocol::ResumeToken;
    assert_eq!(join(-1, JOIN_FRESH, 0.0).room, RoomRequest::JoinOrCreate);
    receive(&welcome(2, 3, 5000, false), 10.0);
    let plan = close(1006, 100.0);
    assert_eq!(
        (
            plan["plan"].as_str(),
            plan["attempt"].as_u64(),
            plan["delay_ms"].as_f64()
        ),
        (Some("retry"), Some(1), Some(250.0))
    );
    assert_eq!(reconnect_state()["reconnecting"], true);
    let h = join(-1, JOIN_AUTOMATIC, 350.0);
    assert_eq!(h.resume, Some(ResumeToken([3; 16])));
    assert_eq!(h.room, RoomRequest::Join(RoomId(2)));
    // That attempt never got through: the token is still good.
    let plan = close(1006, 400.0);
    assert_eq!(
        (plan["plan"].as_str(), plan["attempt"].as_u64()),
        (Some("retry"), Some(2))
    );
    let h = join(-1, JOIN_AUTOMATIC, 900.0);
    assert_eq!(h.resume, Some(ResumeToken([3; 16])));
    receive(&welcome(2, 4, 5000, true), 950.0);
    let state = reconnect_state();
    assert_eq!(
        (state["reconnecting"].as_bool(), state["attempt"].as_u64()),
        (Some(false), Some(0))
    );
    // Spent by the Welcome: a later rejoin that is not a drop joins anew.
    let h = join(-2, JOIN_REJOIN, 1000.0);
    assert_eq!((h.resume, h.room), (None, RoomRequest::Create));
}

#[test]
fn a_refused_resume_stops_and_a_passed_window_gives_up() {
    use tickwire_protocol::message::{Notice, NoticeCode, ServerMessage};
    join(7, JOIN_FRESH, 0.0);
    receive(&welcome(7, 1, 1000, false), 10.0);
    assert_eq!(close(1006, 100.0)["plan"], "retry");
    assert!(join(-1, JOIN_AUTOMATIC, 350.0).resume.is_some());
    let mut refusal = Vec::new();
    let notice = ServerMessage::Notice(Notice {
        code: NoticeCode::ResumeRejected,
        message: "resume token not valid".into(),
    });
    tickwire_protocol::codec::encode_server(&notice, &mut refusal).expect("encodes");
    receive(&refusal, 360.0);
    assert_eq!(close(1008, 370.0)["plan"], "stop");
    tw_render(370.0);
    let state: serde_json::Value = serde_json::from_slice(&output()).expect("json");
    assert_eq!(state["status"]["action"], "join_new");
    assert_eq!(reconnect_state()["reconnecting"], false);
    assert_eq!(
        join(7, JOIN_REJOIN, 400.0).resume,
        None,
        "the token is dead"
    );

    // A one-second window: 250 ms, 500 ms, then the next wait would pass it.
    receive(&welcome(7, 2, 1000, false), 410.0);
    assert_eq!(close(1006, 500.0)["attempt"], 1);
    join(-1, JOIN_AUTOMATIC, 750.0);
    assert_eq!(close(1006, 760.0)["attempt"], 2);
    join(-1, JOIN_AUTOMATIC, 1260.0);
    let plan = close(1006, 1270.0);
    assert_eq!(
        (plan["plan"].as_str(), plan["window_ms"].as_f64()),
        (Some("gave_up"), Some(1000.0))
    );
    tw_render(1270.0);
    let state: serde_json::Value = serde_json::from_slice(&output()).expect("json");
    assert_eq!(state["status"]["title"], "Could not take back your player");

    // A server that keeps no dropped players: no reconnecting at all.
    join(7, JOIN_FRESH, 2000.0);
    receive(&welcome(7, 3, 0, false), 2010.0);
    assert_eq!(close(1006, 2100.0)["plan"], "stop");
}

#[test]
fn addresses_links_and_room_lists_cross_the_shim() {
    write_input(b"?room=3#room=8");
    assert_eq!(tw_room_from_address(7, 7), 8);
    write_input(b"?name=x");
    assert_eq!(tw_room_from_address(7, 0), -1);
    write_input(b" 12 ");
    assert_eq!(tw_parse_room_id(4), 12);
    write_input(b"twelve");
    assert_eq!(tw_parse_room_id(6), -1);
    write_input(b"http://h:1");
    let len = tw_invite_link(10, 5);
    assert_eq!(&output()[..len as usize], b"http://h:1/#room=5");
    let rooms = br#"[{"id":1,"players":2,"capacity":8}]"#;
    write_input(rooms);
    let len = tw_room_rows(rooms.len() as u32);
    let v: serde_json::Value = serde_json::from_slice(&output()[..len as usize]).expect("json");
    assert_eq!(v["rooms"][0]["id"], 1);
    write_input(b"nope");
    tw_room_rows(4);
    let v: serde_json::Value = serde_json::from_slice(&output()).expect("json");
    assert!(v["error"].is_string());
}
