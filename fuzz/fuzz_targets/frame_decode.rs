//! A native WebSocket text frame: `ClientFrame::decode` on any UTF-8 input must never panic, a
//! decoded frame must survive `encode` + `decode` unchanged, and a refusal must be one of the
//! three frame-level codes with a `ref` no longer than `MAX_REF_LEN`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::protocol::{ClientFrame, ErrorCode, MAX_REF_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // the server refuses non-UTF-8 before decoding (binaryFrame / invalid text)
    };
    match ClientFrame::decode(text) {
        Ok(frame) => {
            if let Some(reference) = &frame.reference {
                assert!(
                    reference.len() <= MAX_REF_LEN,
                    "accepted a {}-byte ref",
                    reference.len()
                );
            }
            let encoded = frame.encode();
            let again = match ClientFrame::decode(&encoded) {
                Ok(again) => again,
                Err(error) => panic!("the re-encoded frame {encoded:?} does not decode: {error:?}"),
            };
            assert_eq!(
                again, frame,
                "the round trip through {encoded:?} changed the frame"
            );
        }
        Err(error) => {
            assert!(
                matches!(
                    error.error.code,
                    ErrorCode::MalformedFrame | ErrorCode::UnknownEvent | ErrorCode::InvalidPayload
                ),
                "decode refused with code {}",
                error.error.code
            );
            if let Some(reference) = &error.reference {
                assert!(
                    reference.len() <= MAX_REF_LEN,
                    "an error carries a {}-byte ref",
                    reference.len()
                );
            }
        }
    }
});
