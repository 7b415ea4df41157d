//! A bound on what YAML aliases may expand to, checked before the YAML is built.
//!
//! An alias (`*a`) repeats the whole node its anchor (`&a`) names, so a few kilobytes of YAML
//! can stand for gigabytes (`a: &a [0, …]`, `b: [*a, *a, …]`: 21 KB expanded to an 18 MB
//! document and 1.26 GB of memory before this check). serde_norway's own repetition limit
//! counts alias jumps, not what they expand to, so it lets such a document through. The walk
//! here visits the YAML as the parser hands it out, aliases expanded, building nothing, and
//! stops as soon as the expansion passes the budget; only a YAML within it is then built.
//!
//! The cost of a node is one unit plus the bytes of a string or key (a float key costs one
//! unit but may take up to ~28 bytes of JSON, so the JSON can be larger than the units, in
//! proportion to the YAML). A YAML without aliases or `%TAG` directives (a tag handle expands
//! to its prefix at every use) costs at most about its own size, so the budget of a document,
//! twice the size of its YAML plus [`SLACK`], does not refuse one.

use std::cell::Cell;
use std::fmt;

use serde::de::VariantAccess;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// Units every document may spend beyond twice the size of its YAML.
pub const SLACK: u64 = 64 * 1024;

/// What the YAML of one document (all its `parameters_base64` together) may expand to.
#[derive(Debug)]
pub struct AliasBudget {
    remaining: Cell<u64>,
    total: u64,
    exceeded: Cell<bool>,
}

impl AliasBudget {
    /// A budget for `yaml_bytes` bytes of YAML: twice that plus [`SLACK`].
    pub fn for_yaml_bytes(yaml_bytes: u64) -> Self {
        let total = yaml_bytes.saturating_mul(2).saturating_add(SLACK);
        AliasBudget {
            remaining: Cell::new(total),
            total,
            exceeded: Cell::new(false),
        }
    }

    /// The budget this was made with.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Walks `yaml` with aliases expanded and charges it. `Err(true)` means the budget ran out
    /// (the YAML must not be built); `Err(false)` means the YAML itself is bad, which the
    /// caller reports through the real parse.
    pub fn charge(&self, yaml: &[u8]) -> Result<(), bool> {
        let walked = Measure(self).deserialize(serde_norway::Deserializer::from_slice(yaml));
        match walked {
            Ok(()) => Ok(()),
            Err(_) => Err(self.exceeded.get()),
        }
    }

    fn spend<E: de::Error>(&self, units: u64) -> Result<(), E> {
        match self.remaining.get().checked_sub(units) {
            Some(left) => {
                self.remaining.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom("the YAML expands beyond its budget"))
            }
        }
    }
}

/// The walk: a visitor that accepts every YAML value, charges it, and keeps nothing.
struct Measure<'b>(&'b AliasBudget);

impl<'de> DeserializeSeed<'de> for Measure<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Measure<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.spend(1)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.spend(1)
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.0.spend(1)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.spend(1)
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.0.spend(1)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.spend(1)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.spend(1 + text.len() as u64)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<(), E> {
        self.0.spend(1 + bytes.len() as u64)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.spend(1)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.spend(1)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.spend::<A::Error>(1)?;
        while seq.next_element_seed(Measure(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.spend::<A::Error>(1)?;
        while map.next_key_seed(Measure(self.0))?.is_some() {
            map.next_value_seed(Measure(self.0))?;
        }
        Ok(())
    }

    /// A tagged node (`!tag value`): the tag is charged as a string, then the value.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let (tag, variant) = data.variant::<String>()?;
        self.0.spend::<A::Error>(1 + tag.len() as u64)?;
        variant.newtype_variant_seed(Measure(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bomb(width: usize) -> String {
        let items: Vec<String> = (0..width).map(|i| i.to_string()).collect();
        let aliases = vec!["*a"; width].join(", ");
        format!("a: &a [{}]\nb: [{aliases}]\n", items.join(", "))
    }

    #[test]
    fn a_yaml_without_aliases_fits_its_budget() {
        let yaml = "scenarios:\n  - name: pod\n    config: {namespace: openshift-etcd, label: 'k8s-app=etcd'}\n    list: [1, 2.5, true, null, ~, 'x']\n";
        let budget = AliasBudget::for_yaml_bytes(yaml.len() as u64);
        assert_eq!(budget.charge(yaml.as_bytes()), Ok(()));
        assert!(budget.remaining.get() >= SLACK, "{budget:?}");
    }

    #[test]
    fn an_alias_bomb_runs_out_of_budget_early() {
        let yaml = bomb(3000);
        let budget = AliasBudget::for_yaml_bytes(yaml.len() as u64);
        assert_eq!(budget.charge(yaml.as_bytes()), Err(true));
        assert_eq!(budget.remaining.get(), 0);
    }

    #[test]
    fn a_few_aliases_are_fine() {
        let yaml = "base: &base {namespace: default, label: app=x}\nfirst: *base\nsecond: *base\n";
        let budget = AliasBudget::for_yaml_bytes(yaml.len() as u64);
        assert_eq!(budget.charge(yaml.as_bytes()), Ok(()));
    }

    #[test]
    fn tagged_values_and_bad_yaml_are_told_apart() {
        let budget = AliasBudget::for_yaml_bytes(100);
        assert_eq!(budget.charge(b"a: !custom {x: 1}\n"), Ok(()));
        assert_eq!(budget.charge(b"a: [unclosed\n"), Err(false));
    }
}
