-- Presence and typing: when each user was last seen (their last connection closed, ms since
-- the epoch) and whether they share their presence and their typing with others.
ALTER TABLE users ADD COLUMN last_seen_at BIGINT;
ALTER TABLE users ADD COLUMN share_presence BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN share_typing BOOLEAN NOT NULL DEFAULT TRUE;
