//! Starts a real server on a free port and talks HTTP to it.
//!
//! Every response that goes through [`TestApp::send`] is checked against
//! Stripe's OpenAPI subset (see `helpers/openapi.rs`): a body that does not
//! match its schema fails the test that made the request.

pub mod binary;
mod openapi;
pub mod receiver;
pub mod whop_openapi;

use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use topups_mock::{Config, Server, ServerHandle};

pub struct TestApp {
    pub server: ServerHandle,
    pub client: reqwest::Client,
    pub key: String,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Stripe error with this status and message; returns the
    /// error object.
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str) -> &Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.json["error"]["message"], message,
            "body: {}",
            self.body
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        &self.json["error"]
    }

    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "body: {}", self.body);
        &self.json
    }
}

static KEYS: AtomicU64 = AtomicU64::new(0);

/// A key no other test uses, so each test has an account of its own.
pub fn fresh_key() -> String {
    format!(
        "sk_test_{}_{}",
        std::process::id(),
        KEYS.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Config::default()).await
    }

    pub async fn spawn_with(config: Config) -> TestApp {
        let server = Server::start(config).await.expect("server starts");
        TestApp {
            server,
            client: reqwest::Client::new(),
            key: fresh_key(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.url(), path)
    }

    /// Sends the request and checks the response body against the OpenAPI
    /// subset (panicking on a violation).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let (client, req) = req.build_split();
        let req = req.expect("request builds");
        let method = req.method().to_string();
        let url = req.url();
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let res = client.execute(req).await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.expect("body read");
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        if target.starts_with("/api/v1") {
            whop_openapi::assert_conforms(&method, &target, status, &json);
        } else {
            openapi::assert_conforms(&method, &target, status, &json);
        }
        Resp {
            status,
            headers,
            body,
            json,
        }
    }

    pub fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.bearer_auth(&self.key)
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.get_on(path, None).await
    }

    /// A GET as the connected account `acct` (`Stripe-Account`) when given.
    pub async fn get_on(&self, path: &str, acct: Option<&str>) -> Resp {
        let mut req = self.authed(self.client.get(self.url(path)));
        if let Some(acct) = acct {
            req = req.header("stripe-account", acct);
        }
        self.send(req).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Resp {
        self.send(
            self.authed(self.client.post(self.url(path)))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_string()),
        )
        .await
    }

    /// Creates a top-up and returns it.
    pub async fn create(&self, body: &str) -> Value {
        let r = self.post("/v1/topups", body).await;
        r.ok().clone()
    }

    /// Creates a top-up on the connected account `account` (as
    /// `Stripe-Account`) and returns it.
    pub async fn create_on(&self, account: &str, body: &str) -> Value {
        let r = self
            .send(
                self.authed(self.client.post(self.url("/v1/topups")))
                    .header("stripe-account", account)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.to_string()),
            )
            .await;
        r.ok().clone()
    }

    pub async fn create_amount(&self, amount: i64) -> Value {
        self.create(&format!("amount={amount}&currency=usd")).await
    }

    /// Every item of a list, walked forward page by page with
    /// `starting_after` (`path` ends in a query, e.g. `/v1/topups?limit=5`).
    pub async fn walk(&self, path: &str) -> Vec<Value> {
        self.walk_on(path, None).await
    }

    /// [`TestApp::walk`] on the connected account `acct` when given.
    pub async fn walk_on(&self, path: &str, acct: Option<&str>) -> Vec<Value> {
        let mut items: Vec<Value> = Vec::new();
        loop {
            let q = match items.last() {
                Some(last) => format!("{path}&starting_after={}", last["id"].as_str().expect("id")),
                None => path.to_string(),
            };
            let page = self.get_on(&q, acct).await.ok().clone();
            items.extend(page["data"].as_array().expect("data").iter().cloned());
            if page["has_more"] == false {
                return items;
            }
            // Let concurrent writers in between pages.
            tokio::task::yield_now().await;
        }
    }

    pub fn advance(&self, secs: u64) -> usize {
        self.server
            .advance(Duration::from_secs(secs))
            .expect("manual clock")
    }
}

/// The ids of a list response, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect()
}
