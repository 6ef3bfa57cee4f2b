//! The record tree the walk edits: like `serde_json::Value`, but objects
//! keep their members in input order, so a changed record differs from the
//! input only where something was redacted; and strings and keys without
//! escapes borrow from the record's bytes instead of being copied.

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::borrow::Cow;

/// A parsed JSON value with ordered objects, borrowing from the text it
/// was parsed from where it can.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node<'de>, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

/// An object key, borrowed when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(Key)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Node<'de>, E> {
        serde_json::Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(k) = map.next_key_seed(Key)? {
            members.push((k, map.next_value()?));
        }
        Ok(Node::Object(members))
    }
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Number(n) => n.serialize(s),
            Node::String(v) => s.serialize_str(v),
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Node::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

impl Node<'_> {
    /// Appends this value's compact JSON to `out`: the same bytes as
    /// `serde_json::to_writer`, but a string or key that needs no escape
    /// (every one the record held without escapes) is copied as it is
    /// instead of being escaped byte by byte.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Number(n) => serde_json::to_writer(&mut *out, n)?,
            Node::String(v) => write_str(v, out)?,
            Node::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out)?;
                }
                out.push(b']');
            }
            Node::Object(members) => {
                out.push(b'{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(k, out)?;
                    out.push(b':');
                    v.write_json(out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
}

/// `s` as a JSON string: copied between quotes when no byte of it needs an
/// escape (a control byte, `"` or `\\`), else escaped by serde_json.
fn write_str(s: &str, out: &mut Vec<u8>) -> serde_json::Result<()> {
    // A plain fold, not `any`: it compiles to a vectorised search.
    let escape = s
        .bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if escape {
        return serde_json::to_writer(out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any JSON value, with strings of every kind of character.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        let text = "(\\PC|[\\x00-\\x1f\"\\\\/\\x7f]|\u{2028}){0,12}";
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<u64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            text.prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::vec((text, inner), 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The writer gives serde_json's bytes, for strings parsed with and
        /// without escapes (borrowed and owned) alike.
        #[test]
        fn write_json_is_serde_jsons_output(v in json()) {
            let text = serde_json::to_string(&v).unwrap();
            let node: Node<'_> = serde_json::from_str(&text).unwrap();
            let mut out = Vec::new();
            node.write_json(&mut out).unwrap();
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&node).unwrap());
        }
    }

    #[test]
    fn write_json_escapes_what_needs_it() {
        let node = Node::Object(vec![
            (
                Cow::Borrowed("k\"q"),
                Node::String(Cow::Borrowed("a\nb\\c\u{1}")),
            ),
            (
                Cow::Borrowed("plain"),
                Node::String(Cow::Borrowed("é/\u{7f}")),
            ),
        ]);
        let mut out = Vec::new();
        node.write_json(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"k\\\"q\":\"a\\nb\\\\c\\u0001\",\"plain\":\"é/\u{7f}\"}"
        );
    }

    #[test]
    fn round_trip_keeps_member_order() {
        let text = r#"{"z":1,"a":[true,null,"s",-2,1.5],"m":{"y":{},"b":[]}}"#;
        let node: Node = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&node).unwrap(), text);
    }

    #[test]
    fn strings_and_keys_without_escapes_borrow() {
        let text = r#"{"plain":"abc","esc\"aped":"a\nb","list":["x","y\u00e9"]}"#;
        let node: Node<'_> = serde_json::from_str(text).unwrap();
        let Node::Object(m) = &node else {
            panic!("not an object")
        };
        assert!(matches!(m[0].0, Cow::Borrowed("plain")));
        assert!(matches!(&m[0].1, Node::String(Cow::Borrowed("abc"))));
        assert!(matches!(&m[1].0, Cow::Owned(k) if k == "esc\"aped"));
        assert!(matches!(&m[1].1, Node::String(Cow::Owned(s)) if s == "a\nb"));
        assert_eq!(
            serde_json::to_string(&node).unwrap(),
            r#"{"plain":"abc","esc\"aped":"a\nb","list":["x","yé"]}"#
        );
    }
}
