//! Several nodes on one PostgreSQL database, joined through Redis: a pub/sub channel that
//! carries every node's committed events to the others (`natter::relay` decides what to do
//! with them), and the rate limits counted on Redis with one atomic script on Redis's own clock
//! (`natter::quota`). Redis is a best-effort doorbell and a shared counter, never the truth:
//! while it is out of reach, sends go on, the relay repairs from the database, and each node
//! counts its own limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use natter::quota::SharedLimiter;
use natter::relay::{Bus, BusError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The channel every node publishes to and subscribes to.
const CHANNEL: &str = "natter:events";
/// How long a Redis connection or answer may take.
const REDIS_WAIT: Duration = Duration::from_millis(500);
/// After a failed call, how long the limiter leaves Redis alone (a hung Redis must not add its
/// timeout to every request).
const BACK_OFF: Duration = Duration::from_secs(2);

/// Redis, as the relay's bus and the limits' shared counter.
pub struct RedisLink {
    client: redis::Client,
    commands: ConnectionManager,
    gcra: redis::Script,
    started: Instant,
    /// Milliseconds since `started` before which the limiter does not call Redis.
    skip_until_ms: AtomicU64,
}

impl RedisLink {
    /// Connects to `url` (a first connection must succeed: a node configured for Redis does
    /// not start without it); later losses are reconnected in the background.
    pub async fn connect(url: &str) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_WAIT))
            .set_response_timeout(Some(REDIS_WAIT));
        let commands = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("no answer from Redis within 5 s"))??;
        Ok(Arc::new(Self {
            client,
            commands,
            gcra: redis::Script::new(GCRA),
            started: Instant::now(),
            skip_until_ms: AtomicU64::new(0),
        }))
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl Bus for RedisLink {
    fn publish(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), BusError>> {
        let mut commands = self.commands.clone();
        Box::pin(async move {
            redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(payload)
                .query_async::<i64>(&mut commands)
                .await
                .map(|_| ())
                .map_err(|e| BusError(e.to_string()))
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<BoxStream<'static, Vec<u8>>, BusError>> {
        Box::pin(async move {
            let mut pubsub = tokio::time::timeout(REDIS_WAIT, self.client.get_async_pubsub())
                .await
                .map_err(|_| BusError("no answer from Redis".into()))?
                .map_err(|e| BusError(e.to_string()))?;
            tokio::time::timeout(REDIS_WAIT, pubsub.subscribe(CHANNEL))
                .await
                .map_err(|_| BusError("no answer from Redis".into()))?
                .map_err(|e| BusError(e.to_string()))?;
            let stream = pubsub
                .into_on_message()
                .map(|message| message.get_payload_bytes().to_vec());
            Ok(stream.boxed())
        })
    }
}

impl SharedLimiter for RedisLink {
    fn check(
        &self,
        key: String,
        interval: Duration,
        burst: u32,
    ) -> BoxFuture<'_, Result<Option<Duration>, BusError>> {
        Box::pin(async move {
            if self.now_ms() < self.skip_until_ms.load(Ordering::Acquire) {
                return Err(BusError("Redis is backed off".into()));
            }
            let mut commands = self.commands.clone();
            let interval_ms = u64::try_from(interval.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let waited: Result<u64, _> = self
                .gcra
                .key(key)
                .arg(interval_ms)
                .arg(burst)
                .invoke_async(&mut commands)
                .await;
            match waited {
                Ok(0) => Ok(None),
                Ok(wait_ms) => Ok(Some(Duration::from_millis(wait_ms))),
                Err(error) => {
                    let until = self.now_ms() + BACK_OFF.as_millis() as u64;
                    self.skip_until_ms.store(until, Ordering::Release);
                    Err(BusError(error.to_string()))
                }
            }
        })
    }
}

/// GCRA on Redis's clock: KEYS[1] the key, ARGV[1] the interval between uses (ms), ARGV[2] the
/// burst. Returns 0 when the use is allowed (and counted), else how many ms until it would be.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat - now > tolerance then return tat - tolerance - now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1)
return 0
";
