//! What to run: the sections, how much work each does, from the command line.

use std::time::Duration;

use anyhow::{Context, bail};

/// How much work each section does.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Messages sent (and measured) per latency scenario, after `warmup` unmeasured ones.
    pub messages: usize,
    pub warmup: usize,
    /// Sends per second in the latency and REST sections.
    pub rate: u32,
    /// Listening sockets in the room, one latency scenario each.
    pub listeners: [usize; 2],
    /// Concurrent senders (one conversation each) and the sends each keeps in flight.
    pub senders: usize,
    pub window: usize,
    /// Length of the measured part of each throughput run, after one second of warm-up.
    pub saturation: Duration,
    /// Idle sockets in the memory section (one user each).
    pub sockets: usize,
    /// Idle sockets in the scale section (fewer if the file-descriptor limit is lower), and
    /// the users they belong to.
    pub scale_sockets: usize,
    pub scale_users: usize,
    /// User pairs in the knee section, its first step's total rate, and each step's length.
    pub pairs: usize,
    pub knee_start: u32,
    pub step: Duration,
    /// User pairs in the pairs section (each member sends one message a second), and how
    /// long it is measured.
    pub chatting: usize,
    pub chat_length: Duration,
    /// Sockets opened in the connects section.
    pub connects: usize,
    /// Members (one socket each) of the fan-out section's group, and the messages measured.
    pub group: usize,
    pub fanout_messages: usize,
}

/// About 1½ minutes.
const FULL: Plan = Plan {
    messages: 1000,
    warmup: 100,
    rate: 100,
    listeners: [2, 50],
    senders: 8,
    window: 4,
    saturation: Duration::from_secs(8),
    sockets: 1000,
    scale_sockets: 19_900,
    scale_users: 100,
    pairs: 100,
    knee_start: 400,
    step: Duration::from_secs(10),
    chatting: 500,
    chat_length: Duration::from_secs(30),
    connects: 5000,
    group: 1000,
    fanout_messages: 100,
};

/// About 20 seconds: proves every section works, figures are rough.
const QUICK: Plan = Plan {
    messages: 200,
    warmup: 20,
    rate: 100,
    listeners: [2, 50],
    senders: 8,
    window: 4,
    saturation: Duration::from_secs(2),
    sockets: 200,
    scale_sockets: 2_000,
    scale_users: 20,
    pairs: 20,
    knee_start: 400,
    step: Duration::from_secs(2),
    chatting: 100,
    chat_length: Duration::from_secs(5),
    connects: 1000,
    group: 200,
    fanout_messages: 30,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Latency,
    Rest,
    Throughput,
    Knee,
    Pairs,
    Connects,
    Memory,
    Scale,
    Fanout,
}

impl Section {
    pub const ALL: [Self; 9] = [
        Self::Latency,
        Self::Rest,
        Self::Throughput,
        Self::Knee,
        Self::Pairs,
        Self::Connects,
        Self::Memory,
        Self::Scale,
        Self::Fanout,
    ];

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Rest => "rest",
            Self::Throughput => "throughput",
            Self::Knee => "knee",
            Self::Pairs => "pairs",
            Self::Connects => "connects",
            Self::Memory => "memory",
            Self::Scale => "scale",
            Self::Fanout => "fanout",
        }
    }
}

pub struct Options {
    pub plan: Plan,
    pub quick: bool,
    pub runs: usize,
    pub sections: Vec<Section>,
}

impl Options {
    pub fn from_args() -> anyhow::Result<Self> {
        let mut quick =
            std::env::var("NATTER_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
        let mut runs = 1;
        let mut rate = None;
        let mut senders = None;
        let mut scale_sockets = None;
        let mut scale_users = None;
        let mut sections = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // `cargo bench` passes `--bench` to every bench target.
                "--bench" => {}
                "--quick" => quick = true,
                "--senders" => {
                    senders = Some(
                        args.next()
                            .and_then(|n| n.parse().ok())
                            .filter(|n| *n >= 1)
                            .context("--senders takes a count of 1 or more")?,
                    );
                }
                "--rate" => {
                    rate = Some(
                        args.next()
                            .and_then(|n| n.parse().ok())
                            .filter(|n| *n >= 1)
                            .context("--rate takes sends per second, 1 or more")?,
                    );
                }
                "--scale-sockets" | "--scale-users" => {
                    let count = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n >= 2 && *n % 2 == 0)
                        .with_context(|| format!("{arg} takes an even count of 2 or more"))?;
                    if arg == "--scale-sockets" {
                        scale_sockets = Some(count);
                    } else {
                        scale_users = Some(count);
                    }
                }
                "--runs" => {
                    runs = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n >= 1)
                        .context("--runs takes a count of 1 or more")?;
                }
                name => match Section::parse(name) {
                    Some(section) => sections.push(section),
                    None => bail!(
                        "unknown argument {name:?}; usage: chat [--quick] [--runs N] [--rate N] \
                         [--senders N] [--scale-sockets N] [--scale-users N] [{}]…",
                        Section::ALL.map(Section::name).join("|")
                    ),
                },
            }
        }
        if sections.is_empty() {
            sections = Section::ALL.to_vec();
        }
        let mut plan = if quick { QUICK } else { FULL };
        plan.rate = rate.unwrap_or(plan.rate);
        plan.senders = senders.unwrap_or(plan.senders);
        plan.scale_sockets = scale_sockets.unwrap_or(plan.scale_sockets);
        plan.scale_users = scale_users.unwrap_or(plan.scale_users);
        Ok(Self {
            plan,
            quick,
            runs,
            sections,
        })
    }
}
