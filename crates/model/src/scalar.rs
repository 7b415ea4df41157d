//! Values that real senders write either as a string or as a number.
//!
//! `major_version` is `"4.18"` from current krkn and `4.18` from older versions; a health
//! check's `status_code` is an int from `requests` but typed `str` in krkn-lib. [`Scalar`]
//! accepts both and writes back the form it was given, so a round trip never changes a type.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Number;

/// A string or a number, kept in the form the sender used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    /// Sent as a JSON string.
    Text(String),
    /// Sent as a JSON number (integer or float, kept as written).
    Number(Number),
}

impl Scalar {
    /// The value as text, the way krkn-lib would print it.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Text(text) => text.clone(),
            Scalar::Number(number) => number.to_string(),
        }
    }

    /// The value as a float, when it is a number or a string holding one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Text(text) => text.trim().parse().ok(),
            Scalar::Number(number) => number.as_f64(),
        }
    }

    /// Length of the text form in bytes (numbers are always short).
    pub fn text_len(&self) -> usize {
        match self {
            Scalar::Text(text) => text.len(),
            Scalar::Number(_) => 0,
        }
    }
}

impl From<&str> for Scalar {
    fn from(text: &str) -> Self {
        Scalar::Text(text.to_owned())
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(text) => f.write_str(text),
            Scalar::Number(number) => write!(f, "{number}"),
        }
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Text(text) => serializer.serialize_str(text),
            Scalar::Number(number) => number.serialize(serializer),
        }
    }
}

// Hand-written rather than `#[serde(untagged)]`: untagged enums buffer the value first, and
// this type sits on the hot path of every document.
impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;

        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Text(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.into()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.into()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Number::from_f64(v)
                    .map(Scalar::Number)
                    .ok_or_else(|| E::custom("a finite number"))
            }
        }

        deserializer.deserialize_any(ScalarVisitor)
    }
}
