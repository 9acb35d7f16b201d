//! Building JSON responses.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::HttpResponse;
use serde::Serialize;

pub fn json_bytes(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(body)
}

pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Our objects are maps of strings and numbers; serializing them into a
    // Vec cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Stripe's list object around already-serialized items.
pub fn list_json(url: &str, items: &[Vec<u8>], has_more: bool) -> Vec<u8> {
    let len: usize = items.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(len + items.len() + 64 + url.len());
    out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"],\"has_more\":");
    out.extend_from_slice(if has_more { b"true" } else { b"false" });
    out.extend_from_slice(b",\"url\":");
    out.extend_from_slice(&to_json(url));
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn list_shape() {
        let body = super::list_json(
            "/v1/topups",
            &[b"{\"id\":1}".to_vec(), b"{\"id\":2}".to_vec()],
            true,
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["object"], "list");
        assert_eq!(v["data"][1]["id"], 2);
        assert_eq!(v["has_more"], true);
        assert_eq!(v["url"], "/v1/topups");
    }
}
