//! `codec::decode_server` on arbitrary bytes: never panics; a decoded message
//! re-encodes canonically and decodes to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::codec;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = codec::decode_server(data) else {
        return;
    };
    assert!(data.len() <= codec::MAX_SERVER_MESSAGE_BYTES);

    let mut buf = Vec::new();
    codec::encode_server(&msg, &mut buf).expect("a decoded message re-encodes");
    assert!(
        buf.len() <= data.len(),
        "re-encoding grew the message from {} to {} bytes",
        data.len(),
        buf.len()
    );
    let again = codec::decode_server(&buf).expect("a re-encoded message decodes");
    assert_eq!(again, msg, "decode(encode(msg)) != msg");
    let mut canonical = Vec::new();
    codec::encode_server(&again, &mut canonical).expect("re-encodes");
    assert_eq!(canonical, buf, "encoding is not canonical");
});
