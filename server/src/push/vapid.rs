//! The server's VAPID identity (RFC 8292): one P-256 key pair, made by the first node that
//! starts with Web Push on and kept in the database, so that every node signs with the same
//! key and the browsers' subscriptions (bound to its public half) survive restarts. It signs
//! the ES256 JWT of each push's `Authorization` itself: a header, three claims and a P-256
//! signature need no JWT library.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use base64ct::{Base64UrlUnpadded, Encoding};
use natter::Store;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand_core::OsRng;
use serde::Serialize;

/// The row of `server_keys` that holds the private key (the 32-byte scalar, base64url).
const KEY_NAME: &str = "vapid_private_key";

/// How long one signature is good for; RFC 8292 §2 allows at most 24 hours.
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The JOSE header of every token (RFC 8292 §2).
const HEADER: &str = r#"{"typ":"JWT","alg":"ES256"}"#;

/// The key pair and the contact every push names.
pub struct Vapid {
    key: SigningKey,
    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url without padding.
    public_key: String,
    contact: String,
}

/// The claims of a token (RFC 8292 §2): the push service's origin, the expiry (seconds since
/// the epoch) and the operator's contact.
#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: u64,
    sub: &'a str,
}

impl Vapid {
    /// The kept key, or a new one kept now (the first node's, if several start at once).
    pub async fn load_or_create(store: &Store, contact: String) -> anyhow::Result<Self> {
        let candidate =
            Base64UrlUnpadded::encode_string(&SigningKey::random(&mut OsRng).to_bytes());
        let kept = store
            .keep_server_key(KEY_NAME, &candidate)
            .await
            .context("keeping the VAPID key in the database")?;
        let bytes = Base64UrlUnpadded::decode_vec(&kept)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("the stored VAPID key is not base64url")?;
        let key = SigningKey::from_slice(&bytes)
            .context("the stored VAPID key is not a P-256 private key")?;
        if kept == candidate {
            tracing::info!("generated the Web Push (VAPID) key and kept it in the database");
        }
        let public_key = Base64UrlUnpadded::encode_string(
            key.verifying_key().to_encoded_point(false).as_bytes(),
        );
        Ok(Self {
            key,
            public_key,
            contact,
        })
    }

    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The `Authorization` value for a push to `endpoint`: `vapid t=<JWT>, k=<public key>`.
    /// The JWT's audience is the endpoint's origin, port included (a push service on a
    /// non-default port checks it with the port).
    pub fn authorization(&self, endpoint: &reqwest::Url) -> anyhow::Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the clock is before 1970")?;
        let claims = Claims {
            aud: &endpoint.origin().ascii_serialization(),
            exp: (now + TOKEN_LIFETIME).as_secs(),
            sub: &self.contact,
        };
        let claims = serde_json::to_vec(&claims).context("serialising VAPID claims")?;
        let signed = format!(
            "{}.{}",
            Base64UrlUnpadded::encode_string(HEADER.as_bytes()),
            Base64UrlUnpadded::encode_string(&claims)
        );
        // ES256 (RFC 7518 §3.4): SHA-256, then the signature as r ‖ s, 32 bytes each.
        let signature: Signature = self.key.sign(signed.as_bytes());
        let token = format!(
            "{signed}.{}",
            Base64UrlUnpadded::encode_string(&signature.to_bytes())
        );
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}
