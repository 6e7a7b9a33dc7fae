//! `natter` server entry point: configuration, logging, storage, then serve until a signal.

use anyhow::Context;
use clap::Parser;
use server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let leptos = leptos::config::get_configuration(None)
        .context("reading the LEPTOS_* settings")?
        .leptos_options;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log).context("parsing --log")?,
        )
        .init();
    let app = server::Application::build(config, leptos).await?;
    let listener = server::listen(app.addr).with_context(|| format!("binding {}", app.addr))?;
    println!(
        "natter {} serving at http://{}",
        server::VERSION,
        listener.local_addr()?
    );
    app.serve(listener, server::shutdown_signal()).await?;
    Ok(())
}
