//! A minimal JSON text writer: the generator writes records straight into a
//! reused buffer instead of building `serde_json::Value` trees, which keeps
//! a 2 GB export well under a minute on one core.

use std::fmt::Write as _;

/// Writes one JSON value into a `String`, inserting commas itself.
pub(crate) struct Json {
    pub(crate) s: String,
    /// One entry per open object or array: whether it is still empty.
    first: Vec<bool>,
    /// A key was just written, so the next value needs no comma.
    after_key: bool,
}

impl Json {
    pub(crate) fn new() -> Json {
        Json {
            s: String::with_capacity(4096),
            first: Vec::with_capacity(8),
            after_key: false,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.s.clear();
        self.first.clear();
        self.after_key = false;
    }

    fn sep(&mut self) {
        if self.after_key {
            self.after_key = false;
        } else if let Some(f) = self.first.last_mut() {
            if *f {
                *f = false;
            } else {
                self.s.push(',');
            }
        }
    }

    pub(crate) fn obj(&mut self) -> &mut Self {
        self.sep();
        self.s.push('{');
        self.first.push(true);
        self
    }

    pub(crate) fn end(&mut self) -> &mut Self {
        self.first.pop();
        self.s.push('}');
        self
    }

    pub(crate) fn arr(&mut self) -> &mut Self {
        self.sep();
        self.s.push('[');
        self.first.push(true);
        self
    }

    pub(crate) fn end_arr(&mut self) -> &mut Self {
        self.first.pop();
        self.s.push(']');
        self
    }

    pub(crate) fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        escape_into(&mut self.s, k);
        self.s.push(':');
        self.after_key = true;
        self
    }

    pub(crate) fn str(&mut self, v: &str) -> &mut Self {
        self.sep();
        escape_into(&mut self.s, v);
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.sep();
        let _ = write!(self.s, "{v}");
        self
    }

    /// A float with a fixed number of decimals (always a valid JSON number).
    pub(crate) fn f64(&mut self, v: f64, decimals: usize) -> &mut Self {
        self.sep();
        let v = if v.is_finite() { v } else { 0.0 };
        let _ = write!(self.s, "{v:.decimals$}");
        self
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.sep();
        self.s.push_str(if v { "true" } else { "false" });
        self
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        self.sep();
        self.s.push_str("null");
        self
    }

    /// Splices already-serialized JSON text in as one value.
    pub(crate) fn raw(&mut self, json: &str) -> &mut Self {
        self.sep();
        self.s.push_str(json);
        self
    }

    pub(crate) fn kv(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).str(v)
    }

    pub(crate) fn kn(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k).u64(v)
    }

    /// `k: v` when `v` is set, `k: null` otherwise.
    pub(crate) fn kopt(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        self.key(k);
        match v {
            Some(v) => self.str(v),
            None => self.null(),
        }
    }
}

/// Appends `v` as a JSON string literal, escaping what JSON requires.
pub(crate) fn escape_into(out: &mut String, v: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in v.bytes().enumerate() {
        let rep = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // `b` is ASCII, so `start..i` lies on character boundaries.
        out.push_str(&v[start..i]);
        if rep.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(rep);
        }
        start = i + 1;
    }
    out.push_str(&v[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_nested_json() {
        let mut j = Json::new();
        j.obj()
            .kv("a", "x\"y\\z\n\u{1}é")
            .kn("n", 3)
            .key("arr")
            .arr()
            .u64(1)
            .str("two")
            .obj()
            .key("f")
            .f64(1.5, 2)
            .end()
            .null()
            .bool(true)
            .end_arr()
            .kopt("o", None)
            .end();
        let v: serde_json::Value = serde_json::from_str(&j.s).unwrap();
        assert_eq!(v["a"], "x\"y\\z\n\u{1}é");
        assert_eq!(v["arr"][2]["f"], 1.5);
        assert_eq!(v["arr"].as_array().unwrap().len(), 5);
        j.clear();
        j.obj().end();
        assert_eq!(j.s, "{}");
    }
}
