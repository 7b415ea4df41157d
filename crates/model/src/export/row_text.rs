//! A row as the JSON text the index stores, and reading it back without building a tree
//! (exports copy the text as it is for NDJSON, or walk it in order for CSV).

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{COLUMNS, OBJECTS_PREFIX, PARAMETERS_PREFIX, Row};

/// A row as the JSON text the index stores: the fixed columns in [`COLUMNS`] order (each one
/// present, `null` when unknown), then the data's columns sorted by name. Exports copy this
/// text as it is (NDJSON) or walk it in order (CSV) without building a tree.
pub fn render_row(row: &Row) -> String {
    let mut out = Vec::with_capacity(2048);
    out.push(b'{');
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, name: &str, value: &Value| {
        if !first {
            out.push(b',');
        }
        first = false;
        // Strings and values always serialize.
        let _ = serde_json::to_writer(&mut *out, name);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, value);
    };
    for column in COLUMNS {
        field(
            &mut out,
            column.name,
            row.get(column.name).unwrap_or(&Value::Null),
        );
    }
    for (name, value) in row {
        if is_dynamic_column(name) {
            field(&mut out, name, value);
        }
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

/// The entries of a rendered row in their order, keys and values borrowed from the text
/// (a key is copied only when it holds an escape).
pub fn row_entries(text: &str) -> Result<Vec<(Cow<'_, str>, &RawValue)>, serde_json::Error> {
    struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);
    struct Key<'a>(Cow<'a, str>);
    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a column name")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
            }
            deserializer.deserialize_str(KeyVisitor)
        }
    }
    impl<'de> Deserialize<'de> for Entries<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct EntriesVisitor;
            impl<'de> Visitor<'de> for EntriesVisitor {
                type Value = Entries<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an export row (a JSON object)")
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Entries<'de>, A::Error> {
                    let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(64));
                    while let Some((Key(key), value)) =
                        map.next_entry::<Key<'de>, &'de RawValue>()?
                    {
                        entries.push((key, value));
                    }
                    Ok(Entries(entries))
                }
            }
            deserializer.deserialize_map(EntriesVisitor)
        }
    }
    serde_json::from_str::<Entries<'_>>(text).map(|e| e.0)
}

/// The text of a scalar cell for CSV: strings unquoted, `null` empty, numbers and booleans as
/// written.
pub fn cell_text(value: &RawValue) -> Cow<'_, str> {
    let raw = value.get();
    match raw.as_bytes().first() {
        Some(b'"') if !raw.contains('\\') => Cow::Borrowed(&raw[1..raw.len() - 1]),
        Some(b'"') => serde_json::from_str::<String>(raw).map_or(Cow::Borrowed(""), Cow::Owned),
        _ if raw == "null" => Cow::Borrowed(""),
        _ => Cow::Borrowed(raw),
    }
}

/// True for the columns that depend on the data (`parameters.*`, `objects.*`, `parameters`).
pub fn is_dynamic_column(name: &str) -> bool {
    name.starts_with(PARAMETERS_PREFIX) || name.starts_with(OBJECTS_PREFIX) || name == "parameters"
}
