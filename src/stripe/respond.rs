//! Building JSON responses.

use crate::json::write_str;
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::HttpResponse;
use std::ops::Range;

/// Built once: a value from a string is checked byte by byte each time.
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

pub fn json_bytes(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, JSON))
        .body(body)
}

/// Builds a list page in one buffer: items are written in place, comma
/// first, as the page walk accepts them. Only a walk that ran backwards
/// (`ending_before`) costs a copy to put them in order; the look-ahead item
/// that only tells `has_more` is cut off.
pub struct ListBuf {
    out: Vec<u8>,
    head: usize,
}

impl ListBuf {
    pub fn new(limit: usize) -> Self {
        let mut out = Vec::with_capacity(64 + (limit + 1) * 560);
        out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
        let head = out.len();
        ListBuf { out, head }
    }

    /// Appends one item written by `write`; returns its byte range.
    pub fn item(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Range<usize> {
        if self.out.len() > self.head {
            self.out.push(b',');
        }
        let start = self.out.len();
        write(&mut self.out);
        start..self.out.len()
    }

    /// The list object of `items` (ranges from [`ListBuf::item`], in the
    /// order of the answer).
    pub fn finish(mut self, url: &str, items: &[Range<usize>], has_more: bool) -> Vec<u8> {
        let in_order = items.windows(2).all(|w| w[1].start == w[0].end + 1)
            && items.first().is_none_or(|r| r.start == self.head);
        let mut out = if in_order {
            self.out.truncate(items.last().map_or(self.head, |r| r.end));
            self.out
        } else {
            let mut sorted = Vec::with_capacity(self.out.len() + 64);
            sorted.extend_from_slice(&self.out[..self.head]);
            for (i, r) in items.iter().enumerate() {
                if i > 0 {
                    sorted.push(b',');
                }
                sorted.extend_from_slice(&self.out[r.clone()]);
            }
            sorted
        };
        out.extend_from_slice(b"],\"has_more\":");
        out.extend_from_slice(if has_more { b"true" } else { b"false" });
        out.extend_from_slice(b",\"url\":");
        write_str(&mut out, url);
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn list_buf_in_place_reversed_and_truncated() {
        let render = |order: &[u8], keep: usize| {
            let mut buf = super::ListBuf::new(3);
            let mut ranges: Vec<_> = order
                .iter()
                .map(|n| buf.item(|out| out.extend_from_slice(format!("{{\"n\":{n}}}").as_bytes())))
                .collect();
            ranges.truncate(keep);
            if order.first() > order.last() {
                ranges.reverse();
            }
            let v: serde_json::Value =
                serde_json::from_slice(&buf.finish("/v1/x", &ranges, false)).unwrap();
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["n"].as_u64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(render(&[1, 2, 3, 4], 3), vec![1, 2, 3]);
        assert_eq!(render(&[4, 3, 2], 2), vec![3, 4]);
        assert_eq!(render(&[], 0), Vec::<u64>::new());
        assert_eq!(render(&[7], 1), vec![7]);
    }
}
