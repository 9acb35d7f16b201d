//! A local webhook receiver: records every delivery (its headers and body)
//! and answers with the status a test sets.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use std::sync::{Arc, Mutex};

/// One delivery: its headers (lower-case names) and body.
pub type Received = (Vec<(String, String)>, String);

#[derive(Default)]
struct Inbox {
    got: Mutex<Vec<Received>>,
    status: Mutex<u16>,
}

pub struct Receiver {
    pub url: String,
    inbox: Arc<Inbox>,
    _server: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: String, inbox: web::Data<Inbox>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    inbox.got.lock().unwrap().push((headers, body));
    let status = *inbox.status.lock().unwrap();
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    /// Listens on a free port, answering 200 until told otherwise; `path`
    /// is the URL's path (the receiver takes any).
    pub async fn start(path: &str) -> Receiver {
        let inbox = Arc::new(Inbox::default());
        *inbox.status.lock().unwrap() = 200;
        let data = web::Data::from(inbox.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://{addr}{path}"),
            inbox,
            _server: handle,
        }
    }

    /// The status every later delivery gets.
    pub fn answer(&self, status: u16) {
        *self.inbox.status.lock().unwrap() = status;
    }

    /// Every delivery so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.inbox.got.lock().unwrap().clone()
    }
}

/// The value of header `name` (lower-case) of a delivery.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
