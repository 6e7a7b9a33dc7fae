//! What a browser sends to subscribe (`PushSubscription.toJSON()`, plus the conversations it
//! muted), and every rule it must pass before it is stored. Each refusal says which field and
//! why, as `invalidPayload` (422).
//!
//! Endpoints: `https://` with a host name, as every browser's push service gives them. IP
//! literals and `localhost` are refused, so that a user cannot point the server's posts at
//! its own network by address (a name that resolves there is still possible; the posts carry
//! only ciphertext, follow no redirect and are not read back). `http://` to a loopback
//! address is allowed only when the operator says so (`--web-push-loopback-endpoints`, which
//! the tests use for a push service of their own).

use base64ct::{Base64UrlUnpadded, Encoding};
use natter::ChatError;
use natter::protocol::ConversationId;
use natter::store::NewPushSubscription;
use p256::PublicKey;
use serde::Deserialize;

/// Longest endpoint URL taken, in bytes (the push services' are 150 to 500).
pub const MAX_ENDPOINT_BYTES: usize = 1024;
/// Most muted conversations one subscription may list.
pub const MAX_MUTED: usize = 1000;

/// `PUT /api/push/subscription`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionRequest {
    /// The push service's URL for this browser (`https://…`).
    pub endpoint: String,
    pub keys: SubscriptionKeys,
    /// Ignored: the push service says when a subscription is gone (404/410).
    #[serde(default)]
    #[allow(dead_code, reason = "accepted as the browser sends it, not used")]
    pub expiration_time: Option<serde_json::Value>,
    /// Conversations muted in this browser: nothing is pushed for them.
    #[serde(default)]
    pub muted: Vec<i64>,
}

/// The browser's keys, base64url as `toJSON()` gives them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    /// The browser's P-256 public key: an uncompressed point, 65 bytes.
    pub p256dh: String,
    /// The browser's authentication secret: 16 bytes.
    pub auth: String,
}

/// `DELETE /api/push/subscription`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeRequest {
    pub endpoint: String,
}

/// Which endpoints the server will post to.
#[derive(Clone, Copy, Debug)]
pub struct EndpointPolicy {
    /// Also `http://` to 127.0.0.0/8, ::1 or localhost (tests only).
    pub loopback: bool,
}

impl EndpointPolicy {
    /// `endpoint` parsed, if the server may post to it.
    pub fn check(&self, endpoint: &str) -> Result<reqwest::Url, ChatError> {
        let refuse = |why: &str| ChatError::InvalidPayload(format!("endpoint: {why}"));
        if endpoint.len() > MAX_ENDPOINT_BYTES {
            return Err(refuse(&format!(
                "at most {MAX_ENDPOINT_BYTES} bytes (this one has {})",
                endpoint.len()
            )));
        }
        let url = reqwest::Url::parse(endpoint).map_err(|e| refuse(&format!("not a URL ({e})")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("must not carry credentials"));
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(refuse("has no host")),
        };
        match url.scheme() {
            "http" | "https" if loopback && self.loopback => Ok(url),
            "https" if matches!(url.host(), Some(url::Host::Domain(_))) && !loopback => Ok(url),
            "https" => Err(refuse("must name its host, not an address or localhost")),
            _ => Err(refuse("must be an https:// URL")),
        }
    }
}

impl SubscriptionRequest {
    /// The subscription to store, if every field passes.
    pub fn check(self, policy: EndpointPolicy) -> Result<NewPushSubscription, ChatError> {
        policy.check(&self.endpoint)?;
        let p256dh = decode("keys.p256dh", &self.keys.p256dh, 65)?;
        PublicKey::from_sec1_bytes(&p256dh)
            .map_err(|_| ChatError::InvalidPayload("keys.p256dh: not a P-256 public key".into()))?;
        decode("keys.auth", &self.keys.auth, 16)?;
        if self.muted.len() > MAX_MUTED {
            return Err(ChatError::InvalidPayload(format!(
                "muted: at most {MAX_MUTED} conversations (this list has {})",
                self.muted.len()
            )));
        }
        if let Some(bad) = self.muted.iter().find(|id| **id < 1) {
            return Err(ChatError::InvalidPayload(format!(
                "muted: {bad} is not a conversation id"
            )));
        }
        let mut muted: Vec<ConversationId> = self.muted.into_iter().map(ConversationId).collect();
        muted.sort_unstable_by_key(|id| id.0);
        muted.dedup();
        Ok(NewPushSubscription {
            endpoint: self.endpoint,
            p256dh: self.keys.p256dh.trim_end_matches('=').to_owned(),
            auth: self.keys.auth.trim_end_matches('=').to_owned(),
            muted,
        })
    }
}

/// `value` decoded from base64url (padding allowed), which must be `len` bytes.
pub fn decode(field: &str, value: &str, len: usize) -> Result<Vec<u8>, ChatError> {
    let refuse = |why: String| ChatError::InvalidPayload(format!("{field}: {why}"));
    // Four characters carry three bytes: anything longer than `len` needs cannot be right.
    if value.len() > len.div_ceil(3) * 4 {
        return Err(refuse(format!("longer than {len} bytes in base64url")));
    }
    let bytes = Base64UrlUnpadded::decode_vec(value.trim_end_matches('='))
        .map_err(|_| refuse("not base64url".into()))?;
    if bytes.len() != len {
        return Err(refuse(format!(
            "{len} bytes expected, {} given",
            bytes.len()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<reqwest::Url, ChatError>) -> String {
        result.expect_err("refused").to_string()
    }

    #[test]
    fn endpoints_are_https_to_a_host_name_unless_loopback_is_allowed() {
        let strict = EndpointPolicy { loopback: false };
        let tests = EndpointPolicy { loopback: true };
        assert!(
            strict
                .check("https://fcm.googleapis.com/fcm/send/abc")
                .is_ok()
        );
        assert!(message(strict.check("http://push.example.com/x")).contains("https://"));
        assert!(message(strict.check("https://10.0.0.1/x")).contains("not an address"));
        assert!(message(strict.check("https://[::1]/x")).contains("not an address"));
        assert!(message(strict.check("https://localhost/x")).contains("not an address"));
        assert!(message(strict.check("http://127.0.0.1:9/x")).contains("https://"));
        assert!(message(strict.check("https://u:p@push.example.com/")).contains("credentials"));
        assert!(message(strict.check("push")).contains("not a URL"));
        let long = format!(
            "https://push.example.com/{}",
            "a".repeat(MAX_ENDPOINT_BYTES)
        );
        assert!(message(strict.check(&long)).contains("at most"));
        assert!(tests.check("http://127.0.0.1:9/x").is_ok());
        assert!(tests.check("http://localhost:9/x").is_ok());
        assert!(message(tests.check("http://10.0.0.1/x")).contains("https://"));
        assert!(message(tests.check("ftp://127.0.0.1/x")).contains("https://"));
    }

    #[test]
    fn keys_must_decode_to_their_sizes() {
        assert_eq!(decode("k", "AAAAAAAAAAAAAAAAAAAAAA", 16).unwrap().len(), 16);
        assert_eq!(
            decode("k", "AAAAAAAAAAAAAAAAAAAAAA==", 16).unwrap().len(),
            16
        );
        let short = decode("k", "AAAA", 16).unwrap_err().to_string();
        assert!(short.contains("16 bytes expected, 3 given"), "{short}");
        let bad = decode("k", "!!!!", 16).unwrap_err().to_string();
        assert!(bad.contains("not base64url"), "{bad}");
        let long = decode("k", &"A".repeat(400), 16).unwrap_err().to_string();
        assert!(long.contains("longer than"), "{long}");
    }
}
