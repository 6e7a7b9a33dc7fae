-- Web Push (server/src/push). `server_keys`: keys the server makes itself and every node on
-- this database shares, one row per name, written once (the first node to insert wins; the
-- others read its row). The VAPID key lives here, as the 32-byte P-256 scalar in base64url.
CREATE TABLE server_keys (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- One browser's push subscription (`PushSubscription.toJSON()`), made under one sign-in: it
-- goes with the session (sign-out, expiry), and an endpoint belongs to one user at a time.
-- `muted`: the conversations muted in that browser, comma-separated ids (mute is kept per
-- browser, as the page keeps it).
CREATE TABLE push_subscriptions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    endpoint   TEXT    NOT NULL CONSTRAINT push_subscriptions_endpoint UNIQUE,
    p256dh     TEXT    NOT NULL,
    auth       TEXT    NOT NULL,
    muted      TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);
CREATE INDEX push_subscriptions_session ON push_subscriptions (session_id);
