//! The server's VAPID identity (RFC 8292): one P-256 key pair, made by the first node that
//! starts with Web Push on and kept in the database, so that every node signs with the same
//! key and the browsers' subscriptions (bound to its public half) survive restarts.

use anyhow::Context;
use base64ct::{Base64UrlUnpadded, Encoding};
use natter::Store;
use web_push_native::jwt_simple::algorithms::{
    ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
};
use web_push_native::jwt_simple::claims::Claims;

/// The row of `server_keys` that holds the private key (the 32-byte scalar, base64url).
const KEY_NAME: &str = "vapid_private_key";

/// How long one signature is good for; RFC 8292 §2 allows at most 24 hours.
const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// The key pair and the contact every push names.
pub struct Vapid {
    key: ES256KeyPair,
    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url without padding.
    public_key: String,
    contact: String,
}

impl Vapid {
    /// The kept key, or a new one kept now (the first node's, if several start at once).
    pub async fn load_or_create(store: &Store, contact: String) -> anyhow::Result<Self> {
        let candidate = Base64UrlUnpadded::encode_string(&ES256KeyPair::generate().to_bytes());
        let kept = store
            .keep_server_key(KEY_NAME, &candidate)
            .await
            .context("keeping the VAPID key in the database")?;
        let bytes = Base64UrlUnpadded::decode_vec(&kept)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("the stored VAPID key is not base64url")?;
        let key = ES256KeyPair::from_bytes(&bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("the stored VAPID key is not a P-256 private key")?;
        if kept == candidate {
            tracing::info!("generated the Web Push (VAPID) key and kept it in the database");
        }
        let public_key = Base64UrlUnpadded::encode_string(
            &key.public_key().public_key().to_bytes_uncompressed(),
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
    /// The JWT's audience is the endpoint's origin, port included (web-push-native's own
    /// header leaves a non-default port out, which a push service on one would refuse).
    pub fn authorization(&self, endpoint: &reqwest::Url) -> anyhow::Result<String> {
        let claims = Claims::create(TOKEN_LIFETIME.into())
            .with_audience(endpoint.origin().ascii_serialization())
            .with_subject(&self.contact);
        let token = self
            .key
            .sign(claims)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("signing a VAPID token")?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}
