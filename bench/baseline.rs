//! The benchmark's yardstick: the least an actix-web 4 server can do per
//! request. It answers every GET and POST, on any path, with a constant
//! top-up JSON body of about the size topups-mock sends (a constant list
//! page of ten for list requests), after reading the request body. Whatever topups-mock does beyond this (parsing, auth,
//! storing, serializing, Stripe's headers) shows up as the gap between the
//! two in `bench/run.sh`.
//!
//! Usage: `bench_baseline [--port N] [--workers N]`. Port 0 (the default)
//! picks a free one; workers default to one per core, as topups-mock's do.
//! Prints one line, `listening on http://127.0.0.1:PORT`, once bound.

use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::TcpListener;

/// A pending top-up as topups-mock renders it, with one metadata pair.
const BODY: &str = concat!(
    r#"{"id":"tu_1QbZ3kLmN8pQrStUvWxYz012","object":"topup","amount":2000,"#,
    r#""balance_transaction":null,"created":1795435618,"currency":"usd","#,
    r#""description":"bench top-up","expected_availability_date":1795439218,"#,
    r#""failure_code":null,"failure_message":null,"initiated_by":null,"#,
    r#""livemode":false,"metadata":{"k":"v"},"source":null,"#,
    r#""statement_descriptor":null,"status":"pending","transfer_group":null}"#,
);

/// A list page of ten such top-ups, for list requests (any query with
/// `limit=`): the framework's limit for a body of the size topups-mock
/// actually sends there, not for a ten times smaller one.
static LIST_BODY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let items = [BODY; 10].join(",");
    format!(r#"{{"object":"list","data":[{items}],"has_more":true,"url":"/v1/topups"}}"#)
});

async fn answer(req: actix_web::HttpRequest, _body: web::Bytes) -> HttpResponse {
    let body: &'static str = if req.query_string().contains("limit=") {
        LIST_BODY.as_str()
    } else {
        BODY
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

fn arg(args: &[String], name: &str) -> Option<usize> {
    let i = args.iter().position(|a| a == name)?;
    let v = args.get(i + 1)?;
    Some(v.parse().unwrap_or_else(|_| {
        eprintln!("{name} expects a number, got {v:?}");
        std::process::exit(2)
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = arg(&args, "--port").unwrap_or(0);
    let port = u16::try_from(port).unwrap_or_else(|_| {
        eprintln!("--port must be at most 65535");
        std::process::exit(2)
    });
    let workers = arg(&args, "--workers")
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let addr = listener.local_addr()?;
    let server = HttpServer::new(|| App::new().default_service(web::route().to(answer)))
        .listen(listener)?
        .workers(workers)
        .shutdown_timeout(1)
        .run();
    println!("listening on http://{addr}");
    server.await
}
