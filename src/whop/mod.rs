//! Whop's HTTP surface, `/api/v1/...`: Whop's top-ups (`POST /topups`, a
//! JSON body, amounts in the major unit), Whop's error envelope and its
//! webhooks, over the same engine, clock, faults and events as Stripe's
//! surface. Whop accounts are apart from Stripe's (the account id names
//! the provider).

mod auth;
mod body;
mod error;
mod test_helpers;
mod topups;
mod webhooks;

pub use webhooks::{delivered, delivery};

use crate::faults::Injection;
use crate::stripe::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use error::WhopError;
use std::time::Instant;

/// Where Whop's SDKs send requests (`baseURL` = server + this).
pub const PREFIX: &str = "/api/v1";

/// Whether `path` belongs to this surface.
pub fn owns(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn unknown_route(req: &HttpRequest) -> WhopError {
    WhopError::new(
        StatusCode::NOT_FOUND,
        format!("Not found: {} {}", req.method(), req.path()),
    )
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    unknown_route(&req).error_response()
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(not_found))
}

/// Registers every route, under [`PREFIX`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .wrap(from_fn(whop_layer))
            .service(
                resource("/topups")
                    .route(web::get().to(topups::list))
                    .route(web::post().to(topups::create)),
            )
            .service(resource("/topups/{id}").route(web::get().to(topups::retrieve)))
            .service(resource("/test_helpers/clock").route(web::get().to(test_helpers::clock)))
            .service(
                resource("/test_helpers/clock/advance")
                    .route(web::post().to(test_helpers::advance)),
            )
            .service(
                resource("/test_helpers/topups/{id}/{action}")
                    .route(web::post().to(test_helpers::transition)),
            )
            .service(resource("/test_helpers/reset").route(web::post().to(test_helpers::reset)))
            .service(resource("/test_helpers/stream").route(web::get().to(test_helpers::stream)))
            .default_service(web::to(not_found)),
    );
}

/// Faults (in Whop's envelope) and one log line per request.
async fn whop_layer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let injection = match req.app_data::<web::Data<AppState>>() {
        Some(state) if state.faults.is_active() => {
            state.faults.decide(req.method().as_str(), req.path())
        }
        _ => Injection::default(),
    };
    let logged =
        log::log_enabled!(log::Level::Info).then(|| (req.method().clone(), req.path().to_owned()));
    if let Some(delay) = injection.delay {
        tokio::time::sleep(delay).await;
    }
    // An injected error answers before any handler runs: it changes nothing.
    let res = match injection.error {
        Some(status) => req
            .into_response(WhopError::injected(status).error_response())
            .map_into_right_body(),
        None => next.call(req).await?.map_into_left_body(),
    };
    if let Some((method, path)) = logged {
        log::info!(
            "{method} {path} {} {:.3}ms",
            res.status().as_u16(),
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn owns_its_prefix_only() {
        assert!(super::owns("/api/v1/topups"));
        assert!(super::owns("/api/v1"));
        assert!(!super::owns("/api/v10/topups"));
        assert!(!super::owns("/v1/topups"));
    }
}
