//! The YAML of the manifests: a small tree and a block-style writer for it.
//!
//! The documents have a fixed shape (maps, lists, text, integers), so a writer of our own is
//! enough and keeps a YAML library out of the tool. Every text value is written double-quoted,
//! with JSON's escapes (a subset of YAML's), so values such as `"true"`, `"5"` or `"0x10"` stay
//! strings, as Kubernetes and KEDA need them (KEDA's trigger metadata is a map of strings).
//! Keys are written plain when they are simple names and double-quoted otherwise (also words
//! such as `on` or `null`, which YAML 1.1 parsers would not read as text).

/// A YAML value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A string, always written quoted.
    Text(String),
    /// An integer.
    Integer(i64),
    /// `true` or `false`.
    Bool(bool),
    /// A mapping, in this order.
    Map(Vec<(String, Node)>),
    /// A sequence.
    List(Vec<Node>),
}

impl Node {
    /// A text node.
    pub fn text(value: impl Into<String>) -> Node {
        Node::Text(value.into())
    }

    /// A map from `(key, value)` pairs, in order.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Node)>) -> Node {
        Node::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A map of text values, in order.
    pub fn text_map<K: Into<String>, V: Into<String>>(entries: impl IntoIterator<Item = (K, V)>) -> Node {
        Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), Node::Text(v.into())))
                .collect(),
        )
    }

    /// The value of `key`, if this is a map that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Writes `documents` as one YAML stream, separated by `---` lines. (Core Tools also ends the
/// last one with `---`, which some parsers read as one more, empty, document.)
pub fn write_stream(documents: &[Node]) -> String {
    let mut out = String::new();
    for (index, document) in documents.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        write_block(document, 0, &mut out);
    }
    out
}

/// Writes `node` as a block at `indent` spaces; a scalar is written on its own line.
fn write_block(node: &Node, indent: usize, out: &mut String) {
    match node {
        Node::Map(entries) if !entries.is_empty() => {
            for (key, value) in entries {
                push_indent(indent, out);
                write_entry(key, value, indent, out);
            }
        }
        Node::List(items) if !items.is_empty() => {
            for item in items {
                push_indent(indent, out);
                write_item(item, indent, out);
            }
        }
        scalar => {
            push_indent(indent, out);
            write_inline(scalar, out);
            out.push('\n');
        }
    }
}

/// `key: value` after the indentation has been written.
fn write_entry(key: &str, value: &Node, indent: usize, out: &mut String) {
    write_key(key, out);
    out.push(':');
    if is_block(value) {
        out.push('\n');
        // Lists under a key are written at the key's indentation (the usual Kubernetes style).
        let child = if matches!(value, Node::List(_)) {
            indent
        } else {
            indent + 2
        };
        write_block(value, child, out);
    } else {
        out.push(' ');
        write_inline(value, out);
        out.push('\n');
    }
}

/// `- item` after the indentation has been written: a map's first entry shares the dash's line.
fn write_item(item: &Node, indent: usize, out: &mut String) {
    match item {
        Node::Map(entries) if !entries.is_empty() => {
            out.push_str("- ");
            for (index, (key, value)) in entries.iter().enumerate() {
                if index > 0 {
                    push_indent(indent + 2, out);
                }
                write_entry(key, value, indent + 2, out);
            }
        }
        Node::List(items) if !items.is_empty() => {
            out.push_str("-\n");
            write_block(item, indent + 2, out);
        }
        scalar => {
            out.push_str("- ");
            write_inline(scalar, out);
            out.push('\n');
        }
    }
}

fn is_block(node: &Node) -> bool {
    match node {
        Node::Map(entries) => !entries.is_empty(),
        Node::List(items) => !items.is_empty(),
        _ => false,
    }
}

/// A scalar, or an empty map or list, on the current line.
fn write_inline(node: &Node, out: &mut String) {
    match node {
        Node::Text(text) => write_quoted(text, out),
        Node::Integer(number) => out.push_str(&number.to_string()),
        Node::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
        Node::Map(_) => out.push_str("{}"),
        Node::List(_) => out.push_str("[]"),
    }
}

/// Words YAML 1.1 parsers read as booleans or null even as keys.
const RESERVED_WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "y", "n", "null"];

fn write_key(key: &str, out: &mut String) {
    let plain = !RESERVED_WORDS.contains(&key.to_ascii_lowercase().as_str())
        && key
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    if plain {
        out.push_str(key);
    } else {
        write_quoted(key, out);
    }
}

/// A double-quoted scalar. JSON's string escapes are all valid in YAML's double-quoted style.
fn write_quoted(text: &str, out: &mut String) {
    out.push_str(&serde_json::Value::String(text.to_owned()).to_string());
}

fn push_indent(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_block_style_with_quoted_text() {
        let document = Node::map([
            ("apiVersion", Node::text("v1")),
            ("kind", Node::text("Secret")),
            (
                "data",
                Node::text_map([("FLAG", "true"), ("Odd key", "5"), ("On", "x")]),
            ),
            (
                "items",
                Node::List(vec![
                    Node::map([("name", Node::text("a\"b\n")), ("port", Node::Integer(80))]),
                    Node::text("plain"),
                    Node::List(vec![Node::Bool(false)]),
                ]),
            ),
            ("empty", Node::Map(Vec::new())),
            ("none", Node::List(Vec::new())),
        ]);
        let text = write_stream(&[document.clone(), document]);
        let expected = r#"apiVersion: "v1"
kind: "Secret"
data:
  FLAG: "true"
  "Odd key": "5"
  "On": "x"
items:
- name: "a\"b\n"
  port: 80
- "plain"
-
  - false
empty: {}
none: []
"#;
        assert_eq!(text, format!("{expected}---\n{expected}"));
    }

    #[test]
    fn get_reads_a_map_entry() {
        let node = Node::map([("a", Node::Integer(1))]);
        assert_eq!(node.get("a"), Some(&Node::Integer(1)));
        assert_eq!(node.get("b"), None);
        assert_eq!(Node::Integer(1).get("a"), None);
    }
}
