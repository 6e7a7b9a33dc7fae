//! Cluster tests (issue 10): three `server` processes on one fresh PostgreSQL database, joined
//! through a private `redis-server` child process on a free port, with clients on different
//! nodes. Each scenario kills or cuts one part — Redis, a node, a node's database connection
//! (through a TCP proxy written here) — or drains a node, and ends with the tally of the fault
//! tests: every send acked, nothing lost, nothing twice, every conversation in `seq` order as
//! stored. They print what they measured (latencies, time to notice, time to repair).
//!
//! The scenarios run one at a time (a lock every test takes first), each bounded to a minute,
//! so the binary stays within a few minutes on two cores. Without `redis-server` on PATH they
//! print why and pass without running; PostgreSQL must be reachable (`NATTER_TEST_PG_URL`).
//! The binary is `cfg(test)` so lints treat it as test code.
#![cfg(test)]

mod harness;
mod proxy;
mod redis;
#[path = "../support/mod.rs"]
mod support;
mod watcher;

mod around;
mod database_cut;
mod drain;
mod haproxy;
mod limits;
mod live;
mod logout;
mod node_kill;
mod one_conversation;
mod redis_freeze;
mod redis_outage;
mod relay_drops;
