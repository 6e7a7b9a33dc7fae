//! Authentication: argon2id password hashes, server-side sessions and the signed tokens that
//! name them. A token is an HS256 JWT `{sub, sid, name, iat, exp}`; it is valid while its
//! signature checks, it has not expired, and its session row still exists (logout deletes it).
//! Browsers carry the same token in an HttpOnly cookie; API and socket clients send it as a
//! bearer token.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::ChatError;
use crate::protocol::UserId;
use crate::quota::Quota;
use crate::store::{Store, now_millis};
use crate::user::{AuthUser, Password, User, UserName};

/// Issues and checks credentials.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    encoding: EncodingKey,
    decoding: DecodingKey,
    token_ttl: Duration,
    secure_cookies: bool,
    /// Sign-in attempts per username (lower-cased).
    login_limit: Arc<Quota<String>>,
}

/// The session cookie's name.
pub const COOKIE_NAME: &str = "natter_session";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user id, as a string (JWT's `sub` is a string).
    sub: String,
    sid: String,
    name: String,
    iat: i64,
    exp: i64,
}

/// A freshly issued credential.
#[derive(Clone, Debug)]
pub struct Issued {
    pub token: String,
    pub user: User,
    pub expires_at: i64,
}

/// A verifier hash for a password nobody has: logins for unknown names still pay for one
/// verification, so response time does not tell which names exist.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$6H5bV0o0B6l6u1TVx8Y7xS1b5c9m0G0a9yO0eQ3Qp2s";

impl Auth {
    /// `secret` signs tokens (at least 32 bytes); `token_ttl` is how long a login lasts;
    /// `secure_cookies` marks the session cookie Secure (HTTPS only); `login_per_minute` limits
    /// sign-in attempts per username (0: no limit).
    pub fn new(
        store: Store,
        secret: &[u8],
        token_ttl: Duration,
        secure_cookies: bool,
        login_per_minute: u32,
    ) -> Self {
        let login_limit = NonZeroU32::new(login_per_minute).map(governor::Quota::per_minute);
        Self {
            login_limit: Arc::new(Quota::new(login_limit)),
            store,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            token_ttl,
            secure_cookies,
        }
    }

    /// The `Set-Cookie` value that carries `token` for browsers: HttpOnly (scripts cannot read
    /// it), SameSite=Lax (not sent on cross-site posts), Secure when configured, and as long-lived
    /// as the token.
    pub fn session_cookie(&self, token: &str) -> String {
        self.cookie(token, self.token_ttl.as_secs())
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn cleared_cookie(&self) -> String {
        self.cookie("", 0)
    }

    fn cookie(&self, token: &str, max_age_secs: u64) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{COOKIE_NAME}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
        )
    }

    /// A new random signing secret, for servers started without one.
    pub fn generate_secret() -> String {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        hex(&bytes)
    }

    /// Creates an account and signs it in.
    pub async fn register(&self, username: &str, password: &str) -> Result<Issued, ChatError> {
        let name = UserName::parse(username)?;
        let password = Password::parse(password)?;
        let hash = hash_password(password).await?;
        let user = self.store.create_user(&name, &hash).await?;
        self.issue(user).await
    }

    /// Checks a username and password and opens a new session. Attempts on one username are
    /// limited (whether the name exists or not, so the limit tells nothing either), before
    /// any password work: guessing is slowed and cannot be used to keep the CPU busy hashing.
    pub async fn login(&self, username: &str, password: &str) -> Result<Issued, ChatError> {
        let key: String = username.trim().chars().take(64).collect();
        self.login_limit.check(&key.to_lowercase())?;
        // A name that cannot exist is simply a wrong credential: no hint about the rules.
        let found = match UserName::parse(username) {
            Ok(name) => self.store.credentials(&name).await?,
            Err(_) => None,
        };
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), hash),
            None => (None, DECOY_HASH.to_owned()),
        };
        let ok = verify_password(password.to_owned(), hash).await?;
        match user {
            Some(user) if ok => self.issue(user).await,
            _ => Err(ChatError::WrongCredentials),
        }
    }

    /// Ends the session behind `user`'s credential: its token stops working everywhere.
    pub async fn logout(&self, user: &AuthUser) -> Result<(), ChatError> {
        self.store.delete_session(&user.session_id).await
    }

    /// The user a token belongs to, or why it is not accepted.
    pub async fn authenticate(&self, token: &str) -> Result<AuthUser, ChatError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => ChatError::TokenExpired,
                _ => ChatError::InvalidToken,
            })?
            .claims;
        let (user, expires_at_ms) = self
            .store
            .session(&claims.sid)
            .await?
            .ok_or(ChatError::InvalidToken)?;
        if claims.sub.parse::<i64>().map(UserId).ok() != Some(user.id) {
            return Err(ChatError::InvalidToken);
        }
        if expires_at_ms <= now_millis() {
            return Err(ChatError::TokenExpired);
        }
        Ok(AuthUser {
            user,
            session_id: claims.sid,
            expires_at: claims.exp,
        })
    }

    async fn issue(&self, user: User) -> Result<Issued, ChatError> {
        let now = now_millis() / 1000;
        let ttl = i64::try_from(self.token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let expires_at = now.saturating_add(ttl);
        let mut sid = [0u8; 16];
        OsRng.fill_bytes(&mut sid);
        let sid = hex(&sid);
        self.store
            .create_session(&sid, user.id, expires_at.saturating_mul(1000))
            .await?;
        let claims = Claims {
            sub: user.id.0.to_string(),
            sid,
            name: user.username.clone(),
            iat: now,
            exp: expires_at,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ChatError::Internal(format!("signing a token failed: {e}")))?;
        Ok(Issued {
            token,
            user,
            expires_at,
        })
    }

    /// How long a login lasts.
    pub fn token_ttl(&self) -> Duration {
        self.token_ttl
    }
}

/// argon2id with the crate's default (OWASP) parameters, off the async threads: it takes tens
/// of milliseconds of CPU on purpose.
async fn hash_password(password: Password) -> Result<String, ChatError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ChatError::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| ChatError::Internal(format!("hashing task failed: {e}")))?
}

async fn verify_password(password: String, hash: String) -> Result<bool, ChatError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| ChatError::Internal(format!("stored hash is unreadable: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| ChatError::Internal(format!("verification task failed: {e}")))?
}

/// The token a request presents, from the first place that has one: the `Authorization:
/// Bearer` header, the session cookie (any of the `Cookie` headers), then the `token` query
/// parameter (for WebSocket clients that cannot set headers).
pub fn token_from<'a>(
    authorization: Option<&str>,
    cookie_headers: impl IntoIterator<Item = &'a str>,
    query: Option<&str>,
) -> Option<String> {
    let bearer = authorization
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    bearer
        .or_else(|| {
            cookie_headers
                .into_iter()
                .find_map(|h| pair(h, ';', COOKIE_NAME))
        })
        .or_else(|| query.and_then(|q| pair(q, '&', "token")))
        .filter(|t| !t.is_empty())
}

/// The value of `name` in a `k=v<separator>k=v` list.
fn pair(text: &str, separator: char, name: &str) -> Option<String> {
    text.split(separator)
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_header_wins_over_cookie_and_query() {
        let cookies = ["a=1; natter_session=from-cookie"];
        assert_eq!(
            token_from(None, cookies, Some("token=q")).as_deref(),
            Some("from-cookie")
        );
        assert_eq!(
            token_from(Some("Bearer from-header"), cookies, None).as_deref(),
            Some("from-header")
        );
        assert_eq!(
            token_from(None, [], Some("x=1&token=q")).as_deref(),
            Some("q")
        );
        assert_eq!(token_from(None, [], Some("token=")), None);
        assert_eq!(token_from(None, ["natter_sessionX=1"], None), None);
    }

    #[test]
    fn the_decoy_hash_is_a_valid_argon2_hash() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }
}
