//! The local dashboard (`GET /dashboard`): one page shipped inside the
//! binary (HTML, CSS and a little JavaScript; no build step, nothing
//! fetched from elsewhere) that reads and drives a key's accounts through
//! the ordinary API, and follows them live through [`stream`].
//!
//! Served to loopback clients only, unless `--dashboard public`;
//! `--dashboard off` registers nothing.

pub mod stream;

use crate::config::DashboardMode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The page's own paths (the API's middleware leaves them alone).
pub const PREFIX: &str = "/dashboard";

/// Whether `path` is one of the page's.
pub fn owns(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What the page may load: its own script, style and API; nothing inline,
/// nothing from elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A file of the page.
struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: u64,
}

/// FNV-1a, at compile time: the files' validators.
const fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

const fn asset(body: &'static [u8], content_type: &'static str) -> Asset {
    Asset {
        body,
        content_type,
        etag: fnv(body),
    }
}

static PAGE: Asset = asset(include_bytes!("page.html"), "text/html; charset=utf-8");
static SCRIPT: Asset = asset(include_bytes!("app.js"), "text/javascript; charset=utf-8");
static STYLE: Asset = asset(include_bytes!("app.css"), "text/css; charset=utf-8");

/// Registers the page's routes (none when the dashboard is off).
pub fn routes(cfg: &mut web::ServiceConfig, mode: DashboardMode) {
    if mode == DashboardMode::Off {
        return;
    }
    let files: [(&str, &'static Asset); 4] = [
        ("/dashboard", &PAGE),
        ("/dashboard/", &PAGE),
        ("/dashboard/app.js", &SCRIPT),
        ("/dashboard/app.css", &STYLE),
    ];
    for (path, file) in files {
        cfg.service(
            web::resource(path)
                .route(web::get().to(move |req: HttpRequest| serve(req, mode, file)))
                .route(web::head().to(move |req: HttpRequest| serve(req, mode, file)))
                .default_service(web::to(|| async {
                    plain(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "Only GET and HEAD are served here.",
                    )
                })),
        );
    }
}

fn plain(status: StatusCode, message: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(message)
}

/// Whether `req` comes from this machine.
fn from_loopback(req: &HttpRequest) -> bool {
    req.peer_addr()
        .is_some_and(|a| a.ip().to_canonical().is_loopback())
}

async fn serve(req: HttpRequest, mode: DashboardMode, file: &'static Asset) -> HttpResponse {
    if mode != DashboardMode::Public && !from_loopback(&req) {
        return plain(
            StatusCode::FORBIDDEN,
            "The dashboard is served to this machine only. Start the server with --dashboard public to open it to others.",
        );
    }
    let etag = format!("\"{:016x}\"", file.etag);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CONTENT_TYPE, file.content_type))
        // Revalidated on every load (a new binary's page shows at once);
        // an unchanged file is a 304.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        res.insert_header((header::ETAG, v));
    }
    if fresh {
        res.finish()
    } else {
        res.body(file.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    async fn status(mode: DashboardMode, peer: &str) -> StatusCode {
        let req = TestRequest::get()
            .uri("/dashboard")
            .peer_addr(peer.parse().unwrap())
            .to_http_request();
        serve(req, mode, &PAGE).await.status()
    }

    #[actix_web::test]
    async fn loopback_only_unless_public() {
        for peer in ["127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"] {
            assert_eq!(
                status(DashboardMode::On, peer).await,
                StatusCode::OK,
                "{peer}"
            );
        }
        for peer in [
            "10.0.0.7:5000",
            "[2001:db8::1]:5000",
            "[::ffff:192.0.2.1]:5000",
        ] {
            assert_eq!(status(DashboardMode::On, peer).await, StatusCode::FORBIDDEN);
            assert_eq!(status(DashboardMode::Public, peer).await, StatusCode::OK);
        }
    }

    #[test]
    fn paths() {
        assert!(owns("/dashboard") && owns("/dashboard/app.js"));
        assert!(!owns("/dashboards") && !owns("/v1/dashboard"));
    }
}
