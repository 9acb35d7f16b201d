//! The one JSON writer for every object served: small and fast on the
//! hot paths. Keys are
//! known ASCII and written as they are; only values that may hold arbitrary
//! text are escaped, and only when they need it.

/// Writes one JSON object into a buffer.
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    /// `"key":`, with the comma before it when needed, in one copy. `key`
    /// must not need escaping (all of ours are ASCII identifiers).
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        let mut token = [0u8; 64];
        let k = key.as_bytes();
        let start = usize::from(self.first);
        if k.len() + 4 <= token.len() {
            token[0] = b',';
            token[1] = b'"';
            token[2..2 + k.len()].copy_from_slice(k);
            token[2 + k.len()..4 + k.len()].copy_from_slice(b"\":");
            self.out.extend_from_slice(&token[start..4 + k.len()]);
        } else {
            if start == 0 {
                self.out.push(b',');
            }
            write_str(self.out, key);
            self.out.push(b':');
        }
        self.first = false;
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        let out = self.key(key);
        write_str(out, value);
        self
    }

    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        let out = self.key(key);
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self
    }

    pub fn opt_int(&mut self, key: &str, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(key, v),
            None => self.null(key),
        }
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        let out = self.key(key);
        out.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key).extend_from_slice(b"null");
        self
    }

    /// A value that is already JSON.
    pub fn raw(&mut self, key: &str, json: &[u8]) -> &mut Self {
        self.key(key).extend_from_slice(json);
        self
    }

    /// An array of strings.
    pub fn str_array<'v>(&mut self, key: &str, values: impl Iterator<Item = &'v str>) -> &mut Self {
        let out = self.key(key);
        out.push(b'[');
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, v);
        }
        out.push(b']');
        self
    }

    /// A map of strings (metadata).
    pub fn string_map<'k>(
        &mut self,
        key: &str,
        entries: impl Iterator<Item = (&'k String, &'k String)>,
    ) -> &mut Self {
        self.nullable_string_map(key, entries.map(|(k, v)| (k.as_str(), Some(v.as_str()))))
    }

    /// A map of strings or nulls (metadata's previous values), keys escaped
    /// like values: they are user text.
    pub fn nullable_string_map<'k>(
        &mut self,
        key: &str,
        entries: impl Iterator<Item = (&'k str, Option<&'k str>)>,
    ) -> &mut Self {
        let out = self.key(key);
        out.push(b'{');
        for (i, (k, v)) in entries.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k);
            out.push(b':');
            match v {
                Some(v) => write_str(out, v),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
        self
    }

    /// A nested object written by `f`.
    pub fn object(&mut self, key: &str, f: impl FnOnce(&mut ObjectWriter<'_>)) -> &mut Self {
        let out = self.key(key);
        let mut inner = ObjectWriter::new(out);
        f(&mut inner);
        inner.end();
        self
    }

    pub fn end(&mut self) {
        self.out.push(b'}');
    }
}

/// A JSON string; the escaping path only for text that needs it.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json() {
        let mut out = Vec::new();
        let meta = [("k\"ey".to_string(), "line\nbreak é 💸".to_string())];
        ObjectWriter::new(&mut out)
            .str("a", "plain")
            .str("b", "quo\"te \\ back")
            .opt_str("c", None)
            .int("d", -42)
            .opt_int("e", Some(i64::MAX))
            .bool("f", false)
            .raw("g", b"[1,2]")
            .str_array("i", ["x", "y\"z"].into_iter())
            .string_map("h", meta.iter().map(|(k, v)| (k, v)))
            .end();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": "plain", "b": "quo\"te \\ back", "c": null, "d": -42,
                "e": i64::MAX, "f": false, "g": [1, 2], "i": ["x", "y\"z"], "h": {"k\"ey": "line\nbreak é 💸"}})
        );
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 9);
    }
}
