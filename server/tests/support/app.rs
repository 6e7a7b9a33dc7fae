//! `TestApp`: the server in this process, on its own port and database, with a handle on its
//! chat core to observe state no client sees (live topics, the store). Derefs to its [`Api`].

use std::ops::Deref;

use leptos::config::LeptosOptions;
use natter::store::Engine;
use natter::testdb::TestDb;
use server::config::Config;
use tokio::sync::oneshot;

use super::api::Api;

pub struct TestApp {
    api: Api,
    /// The server's chat core, to observe its state (live topics) from tests.
    pub chat: natter::Chat,
    /// Web Push, when the test turned it on, to observe what it did.
    pub push: Option<server::push::WebPush>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _data: tempfile::TempDir,
    _db: TestDb,
}

impl Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> Self {
        Self::spawn_with(engine, |_| {}).await
    }

    pub async fn spawn_with(engine: Engine, configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(engine).await;
        let data = tempfile::tempdir().expect("a data folder for the server");
        let mut config = Config::defaults();
        config.addr = Some(([127, 0, 0, 1], 0).into());
        config.database_url = db.url.clone();
        config.data_dir = data.path().to_owned();
        config.jwt_secret = None;
        config.allowed_origins = vec!["https://chat.example.com".into()];
        config.shutdown_grace_secs = 5;
        // Tests sign many people up, and open many conversations, from one address; the
        // limits on both have tests of their own, which turn them back on.
        config.signup_rate = 0;
        config.signup_total_rate = 0;
        config.conversation_rate = 0;
        configure(&mut config);
        let leptos = LeptosOptions::builder().output_name("natter").build();
        let app = server::Application::build(config, leptos)
            .await
            .expect("build the app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the server");
        let addr = listener.local_addr().expect("the server's address");
        let chat = app.state.chat.clone();
        let push = app.state.push.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            api: Api::new(addr),
            chat,
            push,
            stop: Some(stop),
            server: Some(server),
            _data: data,
            _db: db,
        }
    }

    /// Stops the server as SIGTERM would and waits for it to finish.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task")
                .expect("a clean shutdown");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
