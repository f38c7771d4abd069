//! Real headless Chromium for the web UI tests, driven through chromedriver's W3C WebDriver
//! protocol over the HTTP client the tests already use (a few calls: navigate, find, click,
//! type, run a script, screenshot). Skipped when Chromium is not installed, unless
//! `KIKU_TEST_REQUIRE_BROWSER` is set (as `scripts/test` does after installing it).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// A fresh headless browser; `None` (the test is skipped) without Chromium.
    pub async fn start() -> Option<Browser> {
        let installed =
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
        if !installed {
            assert!(
                std::env::var_os("KIKU_TEST_REQUIRE_BROWSER").is_none(),
                "KIKU_TEST_REQUIRE_BROWSER is set but chromium/chromedriver are not installed"
            );
            eprintln!("skipping the browser test: chromium and chromium-driver are not installed");
            return None;
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                         "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                         "--lang=en-US"],
                "prefs": {"intl.accept_languages": "en-US,en"}
            }
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("json");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Some(Browser {
            http,
            session: format!("{base}/session/{session}"),
            driver,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let answer: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The element `css` selects, waiting up to 10 s for it.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .post("/element", json!({"using": "css selector", "value": css}))
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(Instant::now() < deadline, "no element {css}: {found}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .await;
    }

    /// Empties a text field.
    pub async fn clear(&self, css: &str) {
        let id = self.find(css).await;
        self.post(&format!("/element/{id}/clear"), json!({})).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `body` (a function body; `arguments` holds `args`) in the page.
    pub async fn script(&self, body: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": body, "args": args }))
            .await
    }

    /// Lets the page use `permission` (e.g. `clipboard-read`) without asking.
    pub async fn grant(&self, permission: &str) {
        self.post(
            "/permissions",
            json!({"descriptor": {"name": permission}, "state": "granted"}),
        )
        .await;
    }

    /// Runs `body` as an async script: it ends by calling `arguments[arguments.length - 1]`
    /// with the result.
    pub async fn script_async(&self, body: &str) -> Value {
        self.post("/execute/async", json!({ "script": body, "args": [] }))
            .await
    }

    /// Waits up to `seconds` until `check` (a script returning a boolean) is true.
    pub async fn wait_until(&self, check: &str, seconds: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if self.script(check, json!([])).await == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reloads the page until `check` (a script returning a boolean) is true, for up to
    /// `seconds`: for what the server changes in the background.
    pub async fn reload_until(&self, check: &str, seconds: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if self.script(check, json!([])).await == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.script("location.reload(); return true", json!([]))
                .await;
        }
    }

    /// The value of the form field `css`.
    pub async fn value(&self, css: &str) -> Value {
        self.script(
            "return document.querySelector(arguments[0]).value",
            json!([css]),
        )
        .await
    }

    /// The whole page as HTML.
    pub async fn html(&self) -> String {
        self.script("return document.documentElement.outerHTML", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Keeps a screenshot as a test artefact (`KIKU_TEST_ARTEFACTS`, else the temp dir).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("png");
        let dir = std::env::var_os("KIKU_TEST_ARTEFACTS")
            .map_or_else(|| std::env::temp_dir().join("kiku-ui"), PathBuf::from);
        std::fs::create_dir_all(&dir).expect("artefact dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot");
        path
    }
}

impl Browser {
    /// Ends the session (Chromium exits with it).
    pub async fn close(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The session ends with its driver.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
