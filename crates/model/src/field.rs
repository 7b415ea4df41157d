//! `Field<T>`: a document field that remembers whether it was absent, `null`, or set.
//!
//! krkn documents come from many krkn-lib versions. Some omit fields, some send `null`, and the
//! service must write back exactly what it was given (a missing field must not come back as a
//! default, a `null` must not become an empty list). A plain `Option<T>` cannot tell "absent"
//! from "null", so every field of the model is a `Field<T>`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One field of a krkn document: absent, explicitly `null`, or set to a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Field<T> {
    /// The key was not in the document; it is not written back out.
    #[default]
    Missing,
    /// The key was present with the value `null`; written back as `null`.
    Null,
    /// The key was present with a value.
    Set(T),
}

impl<T> Field<T> {
    /// True when the key was not in the document (used to skip it on output).
    pub fn is_missing(&self) -> bool {
        matches!(self, Field::Missing)
    }

    /// True when the key was absent or `null`: the cases krkn-lib treats as "no value".
    pub fn is_missing_or_null(&self) -> bool {
        !matches!(self, Field::Set(_))
    }

    /// The value when set.
    pub fn get(&self) -> Option<&T> {
        match self {
            Field::Set(value) => Some(value),
            _ => None,
        }
    }

    /// The value when set, mutably.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Set(value) => Some(value),
            _ => None,
        }
    }

    /// Sets the value, whatever the field held before.
    pub fn set(&mut self, value: T) {
        *self = Field::Set(value);
    }

    /// Fills an absent field with `default()`; `null` and set values are left alone.
    pub fn fill_missing(&mut self, default: impl FnOnce() -> T) {
        if self.is_missing() {
            *self = Field::Set(default());
        }
    }

    /// Fills an absent or `null` field with `default()`.
    pub fn fill_missing_or_null(&mut self, default: impl FnOnce() -> T) {
        if self.is_missing_or_null() {
            *self = Field::Set(default());
        }
    }

    /// The value as an `Option`, losing the absent/`null` distinction.
    pub fn into_option(self) -> Option<T> {
        match self {
            Field::Set(value) => Some(value),
            _ => None,
        }
    }
}

impl<T> From<T> for Field<T> {
    fn from(value: T) -> Self {
        Field::Set(value)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Set(value) => value.serialize(serializer),
            // `Missing` is skipped by `skip_serializing_if`; if a caller serializes it anyway,
            // `null` is the closest truthful rendering.
            Field::Missing | Field::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Field::Set(value),
            None => Field::Null,
        })
    }
}

impl<T: JsonSchema> JsonSchema for Field<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Nullable_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        Option::<T>::json_schema(generator)
    }
}
