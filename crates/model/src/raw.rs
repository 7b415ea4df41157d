//! `RawJson`: a JSON value kept as the exact text the sender wrote.
//!
//! Scenario parameters, error logs and unknown fields are opaque to this service: it stores
//! them, it never interprets them. Keeping them as text instead of a `Value` tree means one
//! allocation instead of one per node when parsing, and byte-exact output (a 30-digit integer
//! or `1.50` comes back as written, where a `Value` would turn them into floats).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A JSON value held as its text.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Renders a `Value` (compact).
    pub fn from_value(value: &Value) -> Self {
        // A `Value` always renders to valid JSON.
        RawJson(serde_json::value::to_raw_value(value).unwrap_or_else(|_| null_raw()))
    }

    /// The JSON text, exactly as received.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// Parses the text into a `Value` (it was valid JSON when it was stored); `null` when it
    /// holds a number no 64-bit float can carry (see [`RawJson::try_to_value`]).
    pub fn to_value(&self) -> Value {
        self.try_to_value().unwrap_or(Value::Null)
    }

    /// Parses the text into a `Value`. The raw text was checked for JSON syntax only, so a
    /// number past a 64-bit float's range (`1e400`) is an error here.
    pub fn try_to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// True for the JSON string `""`.
    pub fn is_empty_string(&self) -> bool {
        self.0.get() == "\"\""
    }
}

fn null_raw() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).unwrap_or_else(|_| unreachable!("null is JSON"))
}

impl Default for RawJson {
    fn default() -> Self {
        RawJson(null_raw())
    }
}

/// Equal when the texts are equal, or else when they hold the same JSON value (whitespace and
/// key order do not matter; the slow comparison runs only when the texts differ).
impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get() || self.to_value() == other.to_value()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        RawJson::from_value(&value)
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Deepest nesting accepted inside an opaque value. serde_json skips raw values without a
/// depth limit, but a stored document must stay readable by every JSON parser (serde_json
/// stops at 128 levels), so deeper values are refused when they arrive.
pub const MAX_RAW_DEPTH: usize = 100;

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if nesting_exceeds(raw.get(), MAX_RAW_DEPTH) {
            return Err(serde::de::Error::custom(format_args!(
                "a value is nested more than {MAX_RAW_DEPTH} levels deep"
            )));
        }
        Ok(RawJson(raw))
    }
}

/// True when `[`/`{` nest deeper than `limit` outside strings in valid JSON text.
///
/// String contents are skipped with `memchr` (they are most of the bytes of real parameters):
/// a byte-at-a-time scan was 8% of a seed document's parse + validate + serialize.
fn nesting_exceeds(text: &str, limit: usize) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => at = string_end(bytes, at + 1),
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    false
}

/// Index of the `"` closing the string whose contents start at `from` (the text's length when
/// it is unterminated).
fn string_end(bytes: &[u8], mut from: usize) -> usize {
    while let Some(offset) = bytes
        .get(from..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        let at = from + offset;
        if bytes[at] == b'"' {
            return at;
        }
        // A backslash escapes the next byte, whatever it is.
        from = at + 2;
    }
    bytes.len()
}

impl JsonSchema for RawJson {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "AnyValue".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        Schema::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings_only() {
        assert!(!nesting_exceeds(
            r#"{"a": "[[[[[[", "b": "\"[[[[", "c": "\\"}"#,
            1
        ));
        assert!(nesting_exceeds("[[[1]]]", 2));
        assert!(!nesting_exceeds("[[1],[2],[3]]", 2));
        assert!(nesting_exceeds(r#"["\\", [["x"]]]"#, 2));
        assert!(!nesting_exceeds(r#"["\"]]]", [1]]"#, 2));
        assert!(!nesting_exceeds(r#""unterminated [[[["#, 1));
    }

    /// The plain byte-at-a-time scan the fast one replaced.
    fn nesting_exceeds_reference(text: &str, limit: usize) -> bool {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for &byte in text.as_bytes() {
            if in_string {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > limit {
                        return true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        false
    }

    proptest::proptest! {
        #[test]
        fn nesting_scan_agrees_with_the_byte_at_a_time_scan(
            text in "[\\[\\]{}\"\\\\ a]{0,40}",
            limit in 0usize..6,
        ) {
            proptest::prop_assert_eq!(
                nesting_exceeds(&text, limit),
                nesting_exceeds_reference(&text, limit)
            );
        }
    }

    #[test]
    fn deep_opaque_values_are_refused() {
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_RAW_DEPTH + 1),
            "]".repeat(MAX_RAW_DEPTH + 1)
        );
        let err = serde_json::from_str::<RawJson>(&deep).expect_err("too deep");
        assert!(err.to_string().contains("nested more than"), "{err}");
        let fine = format!("{}{}", "[".repeat(MAX_RAW_DEPTH), "]".repeat(MAX_RAW_DEPTH));
        assert!(serde_json::from_str::<RawJson>(&fine).is_ok());
    }
}
