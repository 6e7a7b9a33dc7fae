-- Presence and typing: when each user was last seen (their last connection closed, ms since
-- the epoch) and whether they share their presence and their typing with others.
ALTER TABLE users ADD COLUMN last_seen_at INTEGER;
ALTER TABLE users ADD COLUMN share_presence INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN share_typing INTEGER NOT NULL DEFAULT 1;
