//! Shape checks: the slow path that explains *every* type error in a document.
//!
//! The fast path deserializes straight into the typed model and stops at the first type error,
//! as serde does. When that fails, the document is parsed into a `serde_json::Value` and walked
//! with [`Shape::check`], which visits every known field and reports each one whose JSON type is
//! wrong, so a sender sees all of them at once. The walk is generated for every model object by
//! the same macro that generates its deserializer, so the two cannot drift apart.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Number, Value};

use crate::field::Field;
use crate::problem::{Path, Problems};
use crate::scalar::Scalar;

/// A type that can check a JSON value for its shape and explain every mismatch.
pub trait Shape {
    /// Reports into `problems` every place in `value` that cannot become `Self`.
    fn check(value: &Value, path: &Path<'_>, problems: &mut Problems);
}

/// Names a JSON value's kind for an error message (`found a string "abc"`).
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => {
            let mut shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            format!("the string {}", Value::from(shown))
        }
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn mismatch(value: &Value, path: &Path<'_>, problems: &mut Problems, expected: &str) {
    problems.at(
        path,
        format!("expected {expected}, found {}", describe(value)),
    );
}

macro_rules! leaf_shape {
    ($($ty:ty => $expected:literal),* $(,)?) => {
        $(
            impl Shape for $ty {
                fn check(value: &Value, path: &Path<'_>, problems: &mut Problems) {
                    if <$ty>::deserialize(value).is_err() {
                        mismatch(value, path, problems, $expected);
                    }
                }
            }
        )*
    };
}

leaf_shape! {
    String => "a string",
    i64 => "an integer",
    bool => "true or false",
    Number => "a number",
    Scalar => "a string or a number",
}

impl Shape for crate::raw::RawJson {
    fn check(_value: &Value, _path: &Path<'_>, _problems: &mut Problems) {}
}

impl<T: Shape> Shape for Field<T> {
    fn check(value: &Value, path: &Path<'_>, problems: &mut Problems) {
        if !value.is_null() {
            T::check(value, path, problems);
        }
    }
}

impl<T: Shape> Shape for Vec<T> {
    fn check(value: &Value, path: &Path<'_>, problems: &mut Problems) {
        match value {
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    T::check(item, &path.index(index), problems);
                }
            }
            other => mismatch(other, path, problems, "a list"),
        }
    }
}

impl<T: Shape> Shape for BTreeMap<String, T> {
    fn check(value: &Value, path: &Path<'_>, problems: &mut Problems) {
        match value {
            Value::Object(entries) => {
                for (key, item) in entries {
                    T::check(item, &path.field(key), problems);
                }
            }
            other => mismatch(other, path, problems, "an object"),
        }
    }
}

/// Defines a model object: the struct (every field a [`Field`], unknown keys kept in `extra`),
/// a fast deserializer that needs no buffering (serde's `flatten` would buffer every value),
/// and its [`Shape`] walk. Each field names its JSON key explicitly.
macro_rules! krkn_object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $key:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::schemars::JsonSchema)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $key, default, skip_serializing_if = "crate::Field::is_missing")]
                pub $field: crate::Field<$ty>,
            )*
            /// Keys this model does not know (newer krkn versions add fields): kept verbatim and
            /// written back out, never dropped.
            #[serde(flatten)]
            #[schemars(skip)]
            pub extra: crate::Extra,
        }

        impl $name {
            /// The JSON keys this object knows, in document order.
            pub const KEYS: &'static [&'static str] = &[$($key),*];
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[allow(non_camel_case_types)]
                enum Key {
                    $($field,)*
                    Other(String),
                }

                impl<'de> ::serde::Deserialize<'de> for Key {
                    fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                        struct KeyVisitor;
                        impl ::serde::de::Visitor<'_> for KeyVisitor {
                            type Value = Key;
                            fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                                f.write_str("a field name")
                            }
                            fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<Key, E> {
                                Ok(match v {
                                    $($key => Key::$field,)*
                                    other => Key::Other(other.to_owned()),
                                })
                            }
                        }
                        deserializer.deserialize_identifier(KeyVisitor)
                    }
                }

                struct ObjectVisitor;
                impl<'de> ::serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("an object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(__key) = map.next_key::<Key>()? {
                            match __key {
                                $(
                                    Key::$field => {
                                        if !out.$field.is_missing() {
                                            return Err(<A::Error as ::serde::de::Error>::duplicate_field($key));
                                        }
                                        out.$field = map.next_value()?;
                                    }
                                )*
                                Key::Other(name) => {
                                    let value: crate::raw::RawJson = map.next_value()?;
                                    if out.extra.insert(name.clone(), value).is_some() {
                                        return Err(<A::Error as ::serde::de::Error>::custom(
                                            format_args!("duplicate field `{name}`"),
                                        ));
                                    }
                                }
                            }
                        }
                        Ok(out)
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }

        impl crate::shape::Shape for $name {
            fn check(
                value: &::serde_json::Value,
                path: &crate::problem::Path<'_>,
                problems: &mut crate::problem::Problems,
            ) {
                let Some(map) = value.as_object() else {
                    problems.at(path, format!("expected an object, found {}", crate::shape::describe(value)));
                    return;
                };
                $(
                    if let Some(item) = map.get($key) {
                        <crate::Field<$ty> as crate::shape::Shape>::check(item, &path.field($key), problems);
                    }
                )*
            }
        }
    };
}

pub(crate) use krkn_object;
