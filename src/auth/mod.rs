//! Authentication: argon2id password hashes, server-side sessions and the signed tokens that
//! name them. A token is an HS256 JWT `{sub, sid, name, iat, exp}`; it is valid while its
//! signature checks, it has not expired, and its session row still exists (logout deletes it).
//! Browsers carry the same token in an HttpOnly cookie; API and socket clients send it as a
//! bearer token (`credential`).
//!
//! Everything an anonymous client can make this module spend is bounded: password hashing
//! (`password`: a few at a time, in fixed memory) and attempts (`throttle`: per address,
//! per account, in total), checked before any password work.

mod credential;
mod password;
mod throttle;

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use credential::{COOKIE_NAME, Query, token_from_request};
pub use password::check_strength;
pub use throttle::{ClientAddr, FAILURE_WINDOW, ThrottleConfig};

use crate::clock::{Clock, UnixMillis};
use crate::error::ChatError;
use crate::protocol::{FeedPos, UserId};
use crate::quota::SharedSlot;
use crate::store::{LiveSession, Store, StoredCredentials};
use crate::user::{AuthUser, Password, User, UserName};
use password::Hasher;
use throttle::Throttle;

/// How accounts and sessions behave.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// How long a login lasts.
    pub token_ttl: Duration,
    /// Mark the session cookie Secure (natter behind HTTPS).
    pub secure_cookies: bool,
    /// Password hashes computed at once (each takes 19 MiB and most of a core for tens of ms).
    pub hash_concurrency: usize,
    /// Requests that may wait for a hashing slot; more are refused with `serverBusy`.
    pub hash_queue: usize,
    pub throttle: ThrottleConfig,
}

impl AuthConfig {
    pub const DEFAULT_TOKEN_TTL_MINUTES: u64 = 7 * 24 * 60;
    pub const DEFAULT_HASH_QUEUE: usize = 16;

    /// One hashing slot per core.
    pub fn default_hash_concurrency() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }
}

impl ThrottleConfig {
    pub const DEFAULT_LOGIN_PER_MINUTE: u32 = 10;
    pub const DEFAULT_LOGIN_ADDRESS_PER_MINUTE: u32 = 30;
    pub const DEFAULT_LOGIN_NAME_FAILURES: u32 = 50;
    pub const DEFAULT_SIGNUP_PER_HOUR: u32 = 10;
    pub const DEFAULT_SIGNUP_TOTAL_PER_HOUR: u32 = 600;
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(Self::DEFAULT_TOKEN_TTL_MINUTES * 60),
            secure_cookies: false,
            hash_concurrency: Self::default_hash_concurrency(),
            hash_queue: Self::DEFAULT_HASH_QUEUE,
            throttle: ThrottleConfig {
                login_per_minute: ThrottleConfig::DEFAULT_LOGIN_PER_MINUTE,
                login_address_per_minute: ThrottleConfig::DEFAULT_LOGIN_ADDRESS_PER_MINUTE,
                login_name_failures: ThrottleConfig::DEFAULT_LOGIN_NAME_FAILURES,
                signup_per_hour: ThrottleConfig::DEFAULT_SIGNUP_PER_HOUR,
                signup_total_per_hour: ThrottleConfig::DEFAULT_SIGNUP_TOTAL_PER_HOUR,
            },
        }
    }
}

/// Issues and checks credentials.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    encoding: EncodingKey,
    decoding: DecodingKey,
    token_ttl: Duration,
    secure_cookies: bool,
    hasher: Arc<Hasher>,
    throttle: Arc<Throttle>,
    clock: Arc<dyn Clock>,
}

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
    pub expires_at: UnixMillis,
}

/// A verifier hash for a password nobody has: logins for unknown names still pay for one
/// verification, so response time does not tell which names exist.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$6H5bV0o0B6l6u1TVx8Y7xS1b5c9m0G0a9yO0eQ3Qp2s";

impl Auth {
    /// `secret` signs tokens (at least 32 bytes); `clock` tells when tokens and sessions expire.
    pub(crate) fn new(
        store: Store,
        secret: &[u8],
        config: &AuthConfig,
        clock: Arc<dyn Clock>,
        shared: SharedSlot,
    ) -> Self {
        Self {
            clock,
            store,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            token_ttl: config.token_ttl,
            secure_cookies: config.secure_cookies,
            hasher: Arc::new(Hasher::new(config.hash_concurrency, config.hash_queue)),
            throttle: Arc::new(Throttle::new(&config.throttle, shared)),
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

    /// Creates an account for `client` and signs it in. The name and password rules are
    /// checked first; only an attempt that would create the account counts against the
    /// sign-up limits, so a person fixing a refused password is not held off.
    pub async fn register(
        &self,
        client: ClientAddr,
        username: &str,
        password: &str,
    ) -> Result<Issued, ChatError> {
        let name = UserName::parse(username)?;
        let password = Password::parse(password)?;
        if self.store.user_by_name(&name).await?.is_some() {
            return Err(ChatError::UsernameTaken(name.to_string()));
        }
        let password = self
            .hasher
            .check_strength(password, name.as_str().to_owned())
            .await?;
        self.throttle.before_signup(client).await?;
        let hash = self.hasher.hash(password).await?;
        let user = self.store.create_user(&name, &hash).await?;
        self.issue(user).await
    }

    /// Checks a username and password from `client` and opens a new session. Attempts are
    /// limited (`throttle`: whether the name exists or not, so the limits tell nothing either)
    /// before any password work: guessing is slowed and cannot keep the CPU busy hashing.
    pub async fn login(
        &self,
        client: ClientAddr,
        username: &str,
        password: &str,
    ) -> Result<Issued, ChatError> {
        self.throttle.before_login(username, client).await?;
        // A name that cannot exist is simply a wrong credential: no hint about the rules.
        let found = match UserName::parse(username) {
            Ok(name) => self.store.credentials(&name).await?,
            Err(_) => None,
        };
        let (user, hash) = match found {
            Some(StoredCredentials {
                user,
                password_hash,
            }) => (Some(user), password_hash),
            None => (None, DECOY_HASH.to_owned()),
        };
        let ok = self.hasher.verify(password.to_owned(), hash).await?;
        match user {
            Some(user) if ok => self.issue(user).await,
            _ => {
                self.throttle.login_failed(username, client);
                Err(ChatError::WrongCredentials)
            }
        }
    }

    /// Ends the session behind `user`'s credential: its token stops working everywhere.
    /// Returns where the ending was announced on the user's feed (`None`: it had ended).
    pub async fn logout(&self, user: &AuthUser) -> Result<Option<FeedPos>, ChatError> {
        self.store.end_session(&user.session_id, user.id()).await
    }

    /// The user a request's credential (`credential`: header, cookie, or a socket upgrade's
    /// query) belongs to, or why it is not accepted. Every transport authenticates with this.
    pub async fn authenticate_request(
        &self,
        headers: &HeaderMap,
        query: Query<'_>,
    ) -> Result<AuthUser, ChatError> {
        let token = token_from_request(headers, query).ok_or(ChatError::Unauthenticated)?;
        self.authenticate(&token).await
    }

    /// The user a token belongs to, or why it is not accepted. Expiry is judged by this
    /// `Auth`'s clock (the token's `exp` and the session's), the signature by the key.
    pub async fn authenticate(&self, token: &str) -> Result<AuthUser, ChatError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ChatError::InvalidToken)?
            .claims;
        let now = self.clock.now();
        let expires_at = UnixMillis::from_secs(claims.exp);
        if expires_at <= now {
            return Err(ChatError::TokenExpired);
        }
        let LiveSession {
            user,
            expires_at: session_expires_at,
        } = self
            .store
            .session(&claims.sid)
            .await?
            .ok_or(ChatError::InvalidToken)?;
        if claims.sub.parse::<i64>().map(UserId).ok() != Some(user.id) {
            return Err(ChatError::InvalidToken);
        }
        if session_expires_at <= now {
            return Err(ChatError::TokenExpired);
        }
        Ok(AuthUser {
            user,
            session_id: claims.sid,
            expires_at,
        })
    }

    /// Forgets sessions that have expired by this `Auth`'s clock; returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64, ChatError> {
        self.store.purge_expired_sessions(self.clock.now()).await
    }

    /// How long until `user`'s credential expires, by this `Auth`'s clock.
    pub fn time_left(&self, user: &AuthUser) -> Duration {
        user.expires_at.after(self.clock.now())
    }

    async fn issue(&self, user: User) -> Result<Issued, ChatError> {
        let now = self.clock.now();
        // Whole seconds, as a JWT counts them.
        let expires_at = UnixMillis::from_secs(now.plus(self.token_ttl).secs());
        let mut sid = [0u8; 16];
        OsRng.fill_bytes(&mut sid);
        let sid = hex(&sid);
        self.store.create_session(&sid, user.id, expires_at).await?;
        let claims = Claims {
            sub: user.id.0.to_string(),
            sid,
            name: user.username.clone(),
            iat: now.secs(),
            exp: expires_at.secs(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ChatError::internal("signing a token", e))?;
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_is_a_valid_argon2_hash() {
        assert!(argon2::PasswordHash::new(DECOY_HASH).is_ok());
    }
}
