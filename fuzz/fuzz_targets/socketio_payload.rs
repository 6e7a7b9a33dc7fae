//! The Socket.IO path: an event name plus its JSON payload through
//! `ClientCommand::from_parts(event, Some(data))`, as server/src/socketio does. Must never panic;
//! an accepted command must carry the event it was given and survive a round trip of its `data`.
//!
//! Input layout: the first byte picks the event. Below 0x80: `ClientCommand::EVENTS[b % len]` and
//! the rest is the JSON payload. From 0x80: the rest is `<any UTF-8 event name>\0<JSON payload>`.
//! Inputs whose payload is not JSON are skipped (socketioxide refuses them before this point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::protocol::ClientCommand;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (event, payload) = if selector < 0x80 {
        let events = ClientCommand::EVENTS;
        (events[usize::from(selector) % events.len()], rest)
    } else {
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return;
        };
        let Ok(event) = std::str::from_utf8(&rest[..nul]) else {
            return;
        };
        (event, &rest[nul + 1..])
    };
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    let Ok(command) = ClientCommand::from_parts(event, Some(value)) else {
        return;
    };
    assert_eq!(
        command.event_name(),
        event,
        "accepted under another event name"
    );
    // What a client emitting this command would send: the same event and its `data`.
    let data = match serde_json::to_value(&command) {
        Ok(Value::Object(mut map)) => map.remove("data"),
        other => panic!("{command:?} serialises as {other:?}"),
    };
    match ClientCommand::from_parts(command.event_name(), data.clone()) {
        Ok(again) => assert_eq!(again, command, "the round trip through {data:?} changed it"),
        Err(error) => panic!("{command:?} re-sent as {data:?} is refused: {error}"),
    }
});
