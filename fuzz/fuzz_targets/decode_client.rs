//! `codec::decode_client` and `codec::peek_hello_version` on arbitrary bytes:
//! never panic; a decoded message re-encodes canonically and decodes to itself;
//! the peeked version of a `Hello` is the version the full decode reads.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::codec;
use tickwire_protocol::message::ClientMessage;

fuzz_target!(|data: &[u8]| {
    let peeked = codec::peek_hello_version(data);
    let Ok(msg) = codec::decode_client(data) else {
        return;
    };
    assert!(data.len() <= codec::MAX_CLIENT_MESSAGE_BYTES);
    match &msg {
        ClientMessage::Hello(hello) => assert_eq!(
            peeked,
            Some(hello.protocol_version),
            "peek_hello_version disagrees with decode_client"
        ),
        _ => assert_eq!(peeked, None, "a non-Hello message peeked as a Hello"),
    }

    let mut buf = Vec::new();
    codec::encode_client(&msg, &mut buf).expect("a decoded message re-encodes");
    assert!(
        buf.len() <= data.len(),
        "re-encoding grew the message from {} to {} bytes",
        data.len(),
        buf.len()
    );
    let again = codec::decode_client(&buf).expect("a re-encoded message decodes");
    assert_eq!(again, msg, "decode(encode(msg)) != msg");
    let mut canonical = Vec::new();
    codec::encode_client(&again, &mut canonical).expect("re-encodes");
    assert_eq!(canonical, buf, "encoding is not canonical");
});
