//! A YAML document as a tree of nodes that each know where they were written (line and
//! column), read with `serde-saphyr`'s [`Spanned`]. The spec readers walk this tree by hand
//! instead of deriving `Deserialize`, so that they can report every problem (unknown fields,
//! wrong types, bad values) in one pass rather than stopping at the first.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::Pos;

/// One YAML node with its position.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: Pos,
    /// The scalar as written in the source (for numbers and booleans, so `012345678901` keeps
    /// its leading zero); `None` for strings, collections and when unavailable.
    pub raw: Option<String>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub name: String,
    pub pos: Pos,
}

impl Kind {
    /// What the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "nothing (null)",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The node as a scalar string: strings as they are, numbers and booleans as written.
    pub fn scalar(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Bool(b) => Some(self.raw.clone().unwrap_or_else(|| b.to_string())),
            Kind::Int(i) => Some(self.raw.clone().unwrap_or_else(|| i.to_string())),
            Kind::Float(f) => Some(self.raw.clone().unwrap_or_else(|| f.to_string())),
            _ => None,
        }
    }

    /// The node as JSON (for inline policy documents).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn pos_of(loc: &Location) -> Pos {
    Pos {
        line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
        col: u32::try_from(loc.column()).unwrap_or(u32::MAX),
    }
}

fn convert(text: &str, spanned: Spanned<RawKind>) -> Node {
    let loc = spanned.referenced;
    let pos = pos_of(&loc);
    let raw_text = || {
        let span = loc.span();
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let len = usize::try_from(span.byte_len()?).ok()?;
        text.get(start..start.checked_add(len)?).map(str::to_string)
    };
    let (kind, raw) = match spanned.value.0 {
        RawInner::Null => (Kind::Null, None),
        RawInner::Bool(b) => (Kind::Bool(b), raw_text()),
        RawInner::Int(i) => (Kind::Int(i), raw_text()),
        RawInner::Float(f) => (Kind::Float(f), raw_text()),
        RawInner::Str(s) => (Kind::Str(s), None),
        RawInner::Seq(items) => (
            Kind::Seq(items.into_iter().map(|n| convert(text, n)).collect()),
            None,
        ),
        RawInner::Map(entries) => (
            Kind::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.value,
                                pos: pos_of(&k.referenced),
                            },
                            convert(text, v),
                        )
                    })
                    .collect(),
            ),
            None,
        ),
    };
    // Keep the raw text only when it is a plain number/boolean as written (no quotes, no
    // flow punctuation picked up by the span).
    let raw = raw.filter(|r| !r.is_empty() && !r.contains([',', ']', '}', '\n', '#']));
    Node {
        pos,
        raw: raw.map(|r| r.trim().to_string()),
        kind,
    }
}

/// The tree as serde-saphyr hands it over, before raw scalar text is attached.
struct RawKind(RawInner);

enum RawInner {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawKind>>),
    Map(Vec<(Spanned<String>, Spanned<RawKind>)>),
}

impl<'de> Deserialize<'de> for RawKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawKind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<RawKind, E> {
                Ok(RawKind(RawInner::Null))
            }
            fn visit_none<E>(self) -> Result<RawKind, E> {
                Ok(RawKind(RawInner::Null))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawKind, D::Error> {
                RawKind::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<RawKind, E> {
                Ok(RawKind(RawInner::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawKind, E> {
                Ok(RawKind(RawInner::Int(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawKind, E> {
                Ok(match i64::try_from(v) {
                    Ok(i) => RawKind(RawInner::Int(i)),
                    Err(_) => RawKind(RawInner::Str(v.to_string())),
                })
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawKind, E> {
                Ok(RawKind(RawInner::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<RawKind, E> {
                Ok(RawKind(RawInner::Str(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<RawKind, E> {
                Ok(RawKind(RawInner::Str(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<RawKind, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element()? {
                    items.push(item);
                }
                Ok(RawKind(RawInner::Seq(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<RawKind, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = a.next_key::<Spanned<String>>()? {
                    let value = a.next_value()?;
                    entries.push((key, value));
                }
                Ok(RawKind(RawInner::Map(entries)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML syntax error, with its position when the parser knows it.
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses `text` into a tree. An empty document is a null node at 1:1.
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    match serde_saphyr::from_str::<Spanned<RawKind>>(text) {
        Ok(root) => Ok(convert(text, root)),
        Err(e) => {
            let pos = e
                .location()
                .map(|l| pos_of(&l))
                .unwrap_or(Pos { line: 1, col: 1 });
            Err(SyntaxError {
                pos,
                message: first_line(&e.to_string()),
            })
        }
    }
}

/// The first line of serde-saphyr's message, without its `error: line L column C:` prefix
/// (irsa puts the position in front itself).
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    let line = line.strip_prefix("error:").unwrap_or(line).trim();
    match line.strip_prefix("line ") {
        Some(rest) => match rest.split_once(": ") {
            Some((_, msg)) => msg.to_string(),
            None => line.to_string(),
        },
        None => line.to_string(),
    }
}
