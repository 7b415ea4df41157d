//! The rules of single values: lists not too long, required fields, names and texts within
//! their limits, non-negative counts and durations, unix times in range.

use chrono::format::{Item, Numeric, Pad, Parsed};
use serde_json::Number;

use super::Checker;
use crate::field::Field;
use crate::problem::Path;
use crate::scalar::Scalar;

impl Checker<'_> {
    pub(super) fn list<T>(
        &mut self,
        field: &Field<Vec<T>>,
        path: &Path<'_>,
        mut each: impl FnMut(&mut Self, &T, &Path<'_>),
    ) {
        if let Some(items) = field.get() {
            if items.len() > self.limits.max_items {
                self.too_many(path, items.len(), self.limits.max_items);
                return;
            }
            for (i, item) in items.iter().enumerate() {
                each(self, item, &path.index(i));
            }
        }
    }

    /// A list krkn-lib's parser iterates without a `None` check: `null` there makes the
    /// document unreadable to krkn-lib, so it is refused (an absent list is fine).
    pub(super) fn not_null<T>(&mut self, field: &Field<Vec<T>>, path: &Path<'_>) {
        if matches!(field, Field::Null) {
            self.problems.at(
                path,
                "must be a list, not null (krkn-lib cannot read a null list here; leave the \
                 field out or send [])",
            );
        }
    }

    pub(super) fn required<'v, T>(
        &mut self,
        field: &'v Field<T>,
        path: &Path<'_>,
    ) -> Option<&'v T> {
        match field {
            Field::Missing => {
                self.problems.at(path, "is missing");
                None
            }
            Field::Null => {
                self.problems.at(path, "must not be null");
                None
            }
            Field::Set(value) => Some(value),
        }
    }

    pub(super) fn non_empty_name(&mut self, value: &str, path: &Path<'_>) {
        if value.is_empty() {
            self.problems.at(path, "must not be empty");
        }
    }

    pub(super) fn too_many(&mut self, path: &Path<'_>, found: usize, limit: usize) {
        self.problems.at(
            path,
            format!("has {found} items, more than the limit of {limit}"),
        );
    }

    pub(super) fn name(&mut self, field: &Field<String>, path: &Path<'_>) {
        if let Some(value) = field.get() {
            self.name_str(value, path);
        }
    }

    pub(super) fn name_str(&mut self, value: &str, path: &Path<'_>) {
        if value.len() > self.limits.max_name_bytes {
            self.problems.at(
                path,
                format!(
                    "is {} bytes, more than the limit of {}",
                    value.len(),
                    self.limits.max_name_bytes
                ),
            );
        }
    }

    pub(super) fn text(&mut self, field: &Field<String>, path: &Path<'_>) {
        if let Some(value) = field.get()
            && value.len() > self.limits.max_text_bytes
        {
            self.problems.at(
                path,
                format!(
                    "is {} bytes, more than the limit of {}",
                    value.len(),
                    self.limits.max_text_bytes
                ),
            );
        }
    }

    pub(super) fn scalar_name(&mut self, field: &Field<Scalar>, path: &Path<'_>) {
        if let Some(value) = field.get()
            && value.text_len() > self.limits.max_name_bytes
        {
            self.problems.at(
                path,
                format!(
                    "is {} bytes, more than the limit of {}",
                    value.text_len(),
                    self.limits.max_name_bytes
                ),
            );
        }
    }

    pub(super) fn scalar_duration(&mut self, field: &Field<Scalar>, path: &Path<'_>) {
        match field.get() {
            Some(Scalar::Number(number)) => self.non_negative_number(number, path),
            Some(text @ Scalar::Text(_)) => self.scalar_name(&Field::Set(text.clone()), path),
            None => {}
        }
    }

    pub(super) fn non_negative_int(&mut self, value: i64, path: &Path<'_>) {
        if value < 0 {
            self.problems
                .at(path, format!("must not be negative, found {value}"));
        }
    }

    pub(super) fn duration(&mut self, field: &Field<Number>, path: &Path<'_>) {
        if let Some(number) = field.get() {
            self.non_negative_number(number, path);
        }
    }

    pub(super) fn non_negative_number(&mut self, number: &Number, path: &Path<'_>) {
        if number.as_f64().is_some_and(|v| v < 0.0) {
            self.problems
                .at(path, format!("must not be negative, found {number}"));
        }
    }

    pub(super) fn unix_time(&mut self, number: &Number, path: &Path<'_>) -> Option<f64> {
        let value = number.as_f64()?;
        if value < 0.0 {
            self.problems.at(
                path,
                format!("must be unix seconds, not negative ({number})"),
            );
            return None;
        }
        if value > self.limits.max_unix_seconds {
            self.problems.at(
                path,
                format!("is after the year 3000 ({number}): send unix seconds, not milliseconds"),
            );
            return None;
        }
        Some(value)
    }
}

pub(super) fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// `%Y-%m-%dT%H:%M:%SZ` as chrono's parsed form, built once: parsing the format string on every
/// document was 2% of a seed document's parse + validate + serialize.
const KRKN_TIMESTAMP: &[Item<'static>] = &[
    Item::Numeric(Numeric::Year, Pad::Zero),
    Item::Literal("-"),
    Item::Numeric(Numeric::Month, Pad::Zero),
    Item::Literal("-"),
    Item::Numeric(Numeric::Day, Pad::Zero),
    Item::Literal("T"),
    Item::Numeric(Numeric::Hour, Pad::Zero),
    Item::Literal(":"),
    Item::Numeric(Numeric::Minute, Pad::Zero),
    Item::Literal(":"),
    Item::Numeric(Numeric::Second, Pad::Zero),
    Item::Literal("Z"),
];

/// True for a UTC time the way krkn writes the run's `timestamp` (`2025-04-22T17:35:37Z`).
pub(super) fn is_krkn_timestamp(text: &str) -> bool {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, KRKN_TIMESTAMP.iter()).is_ok()
        && parsed.to_naive_datetime_with_offset(0).is_ok()
}
