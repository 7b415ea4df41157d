//! `parameters_base64`: arbitrary bytes as a scenario's `parameters_base64`.
//!
//! Every input is tried twice: as the base64 text itself (base64 errors, padding, whitespace)
//! and as raw YAML, base64-encoded here (what the YAML parser and the alias budget face).
//! Errors are answers; panics, timeouts and running out of memory are failures. When a YAML
//! decodes, the alias budget's promise is checked (see FUZZING.md for the arithmetic):
//!
//! 1. In the budget's own units (one per node plus the bytes of each string, key and tag),
//!    the YAML as built, aliases expanded, costs at most `2 * yaml bytes + SLACK`.
//! 2. Its JSON is at most `BYTES_PER_UNIT` bytes per unit of that budget.
//! 3. A YAML with no alias in it (no `*` byte) is never refused by the budget, unless it
//!    has a `%TAG` directive: a tag handle expands to its prefix at every use, which the
//!    budget rightly charges (the built YAML holds every expanded tag), so a long prefix used
//!    often is refused, under a message that blames aliases (FUZZING.md, findings).
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use krkn_telemetry_model::alias_budget::AliasBudget;
use krkn_telemetry_model::parameters::{decode_parameters_base64, decoded_len};
use libfuzzer_sys::fuzz_target;

/// The most JSON bytes one budget unit can become. The worst node is a float mapping key:
/// one unit, but up to 24 characters from ryu (`-2.2250738585072014e-308`), quoted, plus its
/// `:` and `,`: 28 bytes. (A float value: 24 + `,` = 25; a string: 1 + n units for at most
/// 2 + 6n bytes + separators, as control characters become `\u00XX`: under 6 per unit.)
const BYTES_PER_UNIT: u64 = 28;

/// The model's engine: standard alphabet, padding optional (parameters.rs).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    check(&STANDARD.encode(data));
});

fn check(encoded: &str) {
    let result = decode_parameters_base64(encoded);
    let total = AliasBudget::for_yaml_bytes(decoded_len(encoded)).total();
    let yaml = yaml_of(encoded);
    match result {
        Ok(json) => {
            assert!(
                json.is_object() || json.is_array(),
                "decoded parameters are neither a mapping nor a list: {json}"
            );
            let out = serde_json::to_vec(&json).expect("a JSON value serializes");
            let back: serde_json::Value =
                serde_json::from_slice(&out).expect("serialized JSON parses");
            assert!(back == json, "decoded JSON does not round-trip");
            let yaml = yaml.expect("the model decoded base64 this harness cannot");
            let built: serde_norway::Value =
                serde_norway::from_slice(&yaml).expect("the model parsed this YAML");
            let units = cost(&built);
            assert!(
                units <= total,
                "the YAML as built costs {units} units, over its budget of {total} \
                 ({} bytes of YAML)",
                yaml.len()
            );
            assert!(
                out.len() as u64 <= BYTES_PER_UNIT * total,
                "{} bytes of JSON from {} bytes of YAML: over {BYTES_PER_UNIT} x the budget of \
                 {total}",
                out.len(),
                yaml.len()
            );
        }
        Err(reason) => {
            assert!(
                reason.starts_with("invalid parameters format"),
                "error text does not start like upstream's 400: {reason}"
            );
            if reason.contains("expand the parameters past")
                && let Some(yaml) = yaml
            {
                assert!(
                    yaml.contains(&b'*') || contains(&yaml, b"%TAG"),
                    "a YAML without aliases was refused by the alias budget: {reason}"
                );
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The YAML bytes the model decodes `encoded` to, the way parameters.rs does.
fn yaml_of(encoded: &str) -> Option<Vec<u8>> {
    let compact: Vec<u8> = encoded
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    LENIENT.decode(compact).ok()
}

/// What alias_budget.rs charges for a YAML value: one unit per node, plus the bytes of every
/// string and key, plus `1 + len` for a tag (`!tag` as `Tag` displays it).
fn cost(value: &serde_norway::Value) -> u64 {
    use serde_norway::Value as Y;
    match value {
        Y::Null | Y::Bool(_) | Y::Number(_) => 1,
        Y::String(text) => 1 + text.len() as u64,
        Y::Sequence(items) => 1 + items.iter().map(cost).sum::<u64>(),
        Y::Mapping(entries) => {
            1 + entries
                .iter()
                .map(|(key, value)| cost(key) + cost(value))
                .sum::<u64>()
        }
        Y::Tagged(tagged) => tagged.tag.to_string().len() as u64 + cost(&tagged.value),
    }
}
