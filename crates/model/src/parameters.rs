//! Scenario parameters: decoding `parameters_base64`, hiding kubeconfigs, and normalising a
//! document into the form the service files.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Number, Value};

use crate::alias_budget::AliasBudget;
use crate::cluster::ResiliencyReport;
use crate::field::Field;
use crate::problem::{Path, Problems};
use crate::raw::RawJson;
use crate::scalar::Scalar;
use crate::scenario::{PodsStatus, VmisStatus};
use crate::telemetry::ChaosRunTelemetry;

/// The value every `kubeconfig` key gets, as krkn writes it.
pub const ANONYMIZED: &str = "anonymized";

/// Standard alphabet, padding optional: Python's `b64decode` output from krkn always pads, but
/// hand-made documents often do not, and the padding carries no information.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes `parameters_base64` (base64 of a scenario YAML) into JSON, as krkn-lib does: the YAML
/// must be a mapping or a list. The error text starts with `invalid parameters format`, like
/// upstream's 400. Aliases may not expand the YAML past twice its size plus
/// [`alias_budget::SLACK`](crate::alias_budget::SLACK).
pub fn decode_parameters_base64(encoded: &str) -> Result<Value, String> {
    let budget = AliasBudget::for_yaml_bytes(decoded_len(encoded));
    decode_parameters_base64_within(encoded, &budget)
}

/// The decoded size of a base64 text (an upper bound: whitespace and padding are counted).
pub fn decoded_len(encoded: &str) -> u64 {
    (encoded.len() as u64).div_ceil(4) * 3
}

/// [`decode_parameters_base64`] charging a budget shared by every scenario of a document, so
/// that many small alias bombs cannot add up either.
pub fn decode_parameters_base64_within(
    encoded: &str,
    budget: &AliasBudget,
) -> Result<Value, String> {
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = BASE64
        .decode(compact.as_bytes())
        .map_err(|e| format!("invalid parameters format: not base64 ({e})"))?;
    if budget.charge(&bytes) == Err(true) {
        return Err(format!(
            "invalid parameters format: its YAML aliases (*name) or tag directives expand the \
             parameters past {} units (one per value plus the bytes of each string) for this \
             document's {} bytes of YAML; write the repeated values out or send them as JSON in \
             `parameters`",
            budget.total(),
            decoded_len(encoded)
        ));
    }
    let yaml: serde_norway::Value = serde_norway::from_slice(&bytes)
        .map_err(|e| format!("invalid parameters format: not YAML ({e})"))?;
    let json = yaml_to_json(yaml).map_err(|e| format!("invalid parameters format: {e}"))?;
    match json {
        Value::Object(_) | Value::Array(_) => Ok(json),
        other => Err(format!(
            "invalid parameters format: the YAML is a single {}, expected a mapping or a list",
            kind_name(&other)
        )),
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// YAML to JSON the way PyYAML + `json.dumps` do it: scalar keys become strings, tags are
/// dropped, and values JSON cannot hold (NaN, infinities, complex keys) are errors.
fn yaml_to_json(yaml: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Value::Number(
                    Number::from_f64(f)
                        .ok_or_else(|| format!("the number {n} has no JSON form"))?,
                )
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (key, value) in entries {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_owned(),
                    _ => {
                        return Err(
                            "a mapping key is a list or a mapping, which JSON cannot hold"
                                .to_owned(),
                        );
                    }
                };
                map.insert(key, yaml_to_json(value)?);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

/// Replaces the value of every `kubeconfig` key, at any depth, with `"anonymized"`; returns how
/// many were replaced. Credentials must never reach the store, whatever the sender did.
pub fn anonymize_kubeconfig(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => {
            let mut replaced = 0;
            for (key, item) in map.iter_mut() {
                if key == "kubeconfig" {
                    if item.as_str() != Some(ANONYMIZED) {
                        *item = Value::from(ANONYMIZED);
                        replaced += 1;
                    }
                } else {
                    replaced += anonymize_kubeconfig(item);
                }
            }
            replaced
        }
        Value::Array(items) => items.iter_mut().map(anonymize_kubeconfig).sum(),
        _ => 0,
    }
}

impl ChaosRunTelemetry {
    /// Turns the document into the form the service files, as krkn-lib's own parser would:
    /// `parameters_base64` decoded into `parameters` and blanked, every `kubeconfig` value
    /// anonymised, and absent fields filled with krkn-lib's defaults. A `parameters_base64` that
    /// does not decode is reported and left as it was.
    pub fn normalize(&mut self) -> Result<(), Problems> {
        let mut problems = Problems::default();
        let root = Path::ROOT;
        let scenarios_path = root.field("scenarios");
        let budget = self.parameters_budget();
        if let Some(scenarios) = self.scenarios.get_mut() {
            for (i, scenario) in scenarios.iter_mut().enumerate() {
                let encoded = scenario
                    .parameters_base64
                    .get()
                    .map(String::as_str)
                    .unwrap_or("");
                if !encoded.is_empty() {
                    match decode_parameters_base64_within(encoded, &budget) {
                        Ok(mut parameters) => {
                            anonymize_kubeconfig(&mut parameters);
                            scenario.parameters = Field::Set(RawJson::from_value(&parameters));
                            scenario.parameters_base64 = Field::Set(String::new());
                        }
                        Err(reason) => {
                            let item = scenarios_path.index(i);
                            problems.at(&item.field("parameters_base64"), reason);
                        }
                    }
                }
                if let Some(raw) = scenario.parameters.get_mut() {
                    // Most parameters hold no kubeconfig: only those that may name one are
                    // parsed and rewritten. An escape (`kube\u0063onfig`) may spell the key,
                    // so any text with one is parsed too; a value that does not parse (a
                    // number past a float's range) is refused rather than kept unread.
                    let text = raw.text();
                    if text.contains("kubeconfig") || text.contains("\\u") {
                        match raw.try_to_value() {
                            Ok(mut parameters) => {
                                if anonymize_kubeconfig(&mut parameters) > 0 {
                                    *raw = RawJson::from_value(&parameters);
                                }
                            }
                            Err(e) => problems.at(
                                &scenarios_path.index(i).field("parameters"),
                                format!("cannot be read to hide its kubeconfigs: {e}"),
                            ),
                        }
                    }
                }
                scenario.parameters_base64.fill_missing(String::new);
                scenario
                    .parameters
                    .fill_missing(|| RawJson::from_value(&Value::Object(Map::new())));
                scenario
                    .affected_pods
                    .fill_missing_or_null(PodsStatus::default);
                if let Some(pods) = scenario.affected_pods.get_mut() {
                    pods.recovered.fill_missing_or_null(Vec::new);
                    pods.unrecovered.fill_missing_or_null(Vec::new);
                    if pods.error.is_missing() {
                        pods.error = Field::Null;
                    }
                }
                scenario
                    .affected_vmis
                    .fill_missing_or_null(VmisStatus::default);
                if let Some(vmis) = scenario.affected_vmis.get_mut() {
                    vmis.recovered.fill_missing_or_null(Vec::new);
                    vmis.unrecovered.fill_missing_or_null(Vec::new);
                    if vmis.error.is_missing() {
                        vmis.error = Field::Null;
                    }
                }
                scenario.affected_nodes.fill_missing_or_null(Vec::new);
                scenario.cluster_events.fill_missing_or_null(Vec::new);
            }
        }
        self.fill_defaults();
        problems.into_result(())
    }

    /// The alias budget of every `parameters_base64` of the document together.
    pub fn parameters_budget(&self) -> AliasBudget {
        let yaml_bytes = self
            .scenarios
            .get()
            .into_iter()
            .flatten()
            .filter_map(|s| s.parameters_base64.get())
            .map(|encoded| decoded_len(encoded))
            .sum();
        AliasBudget::for_yaml_bytes(yaml_bytes)
    }

    /// Fills absent top-level fields with krkn-lib's defaults (`ChaosRunTelemetry()`).
    pub fn fill_defaults(&mut self) {
        self.scenarios.fill_missing(Vec::new);
        self.node_summary_infos.fill_missing_or_null(Vec::new);
        self.node_taints.fill_missing_or_null(Vec::new);
        self.kubernetes_objects_count
            .fill_missing_or_null(Default::default);
        self.network_plugins
            .fill_missing_or_null(|| vec!["Unknown".to_owned()]);
        self.total_node_count.fill_missing(|| 0);
        self.cloud_infrastructure
            .fill_missing(|| "Unknown".to_owned());
        self.cloud_type.fill_missing(|| "self-managed".to_owned());
        self.cluster_version.fill_missing(|| "Unknown".to_owned());
        self.major_version
            .fill_missing(|| Scalar::Number(Number::from_f64(0.0).unwrap_or(0.into())));
        self.run_uuid.fill_missing(String::new);
        self.timestamp.fill_missing(String::new);
        // krkn-lib reads an absent or empty check list back as None. (It never writes
        // `post_virt_checks` back: an absent one stays absent.)
        if self.virt_checks.is_missing() {
            self.virt_checks = Field::Null;
        }
        if self.health_checks.is_missing() {
            self.health_checks = Field::Null;
        }
        if self.object_state_checks.is_missing() {
            self.object_state_checks = Field::Null;
        }
        self.alerts.fill_missing(Vec::new);
        self.job_status.fill_missing(|| true);
        self.build_url.fill_missing(|| "manual".to_owned());
        self.tag.fill_missing(String::new);
        self.fips_enabled.fill_missing(|| false);
        self.etcd_encryption_enabled.fill_missing(|| false);
        self.ipsec_enabled.fill_missing(|| false);
        self.error_logs.fill_missing(Vec::new);
        self.overall_resiliency_report
            .fill_missing(|| ResiliencyReport {
                scenarios: Field::Set(Default::default()),
                resiliency_score: Field::Set(0.into()),
                passed_slos: Field::Set(0),
                total_slos: Field::Set(0),
                extra: Default::default(),
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn decodes_yaml_mapping_and_list() {
        let value = decode_parameters_base64(&b64("a: 1\nb: [x, y]\n")).expect("decodes");
        assert_eq!(value, serde_json::json!({"a": 1, "b": ["x", "y"]}));
        let list =
            decode_parameters_base64(&b64("- id: net\n  config: {k: v}\n")).expect("decodes");
        assert_eq!(
            list,
            serde_json::json!([{"id": "net", "config": {"k": "v"}}])
        );
    }

    #[test]
    fn scalar_yaml_is_refused() {
        let err = decode_parameters_base64(&b64("just text")).expect_err("scalar");
        assert!(err.starts_with("invalid parameters format"), "{err}");
        assert!(err.contains("single string"), "{err}");
    }

    #[test]
    fn non_string_keys_become_strings() {
        let value = decode_parameters_base64(&b64("1: one\ntrue: yes\n")).expect("decodes");
        assert_eq!(value, serde_json::json!({"1": "one", "true": "yes"}));
    }

    fn document(parameters: &str) -> ChaosRunTelemetry {
        let body = format!(
            r#"{{"scenarios": [{{"start_timestamp": 1, "end_timestamp": 2, "scenario": "s.yaml",
                "scenario_type": "pod_disruption_scenarios", "exit_status": 0,
                "parameters": {parameters}}}]}}"#
        );
        ChaosRunTelemetry::from_json(body.as_bytes()).expect("parses")
    }

    /// A key spelled with an escape is the same key to every JSON reader: it is anonymised
    /// too (found by reading the fuzz target's findings: `kube\u0063onfig` was kept).
    #[test]
    fn an_escaped_kubeconfig_key_is_anonymized() {
        let mut doc = document(r#"{"kube\u0063onfig": "token: SECRET"}"#);
        doc.normalize().expect("normalises");
        let text = serde_json::to_string(&doc).expect("json");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("anonymized"), "{text}");
    }

    /// A number past a float's range made the parameters unreadable, so their kubeconfig was
    /// kept (found by cargo fuzz): such parameters are refused, by validation and by
    /// normalisation.
    #[test]
    fn parameters_with_an_out_of_range_number_are_refused() {
        let mut doc = document(r#"{"kubeconfig": "token: SECRET", "n": 1e400}"#);
        let problems = doc.validate().expect_err("refused");
        assert!(
            problems.to_string().contains("scenarios[0].parameters"),
            "{problems}"
        );
        assert!(doc.normalize().is_err());
    }

    #[test]
    fn kubeconfig_is_anonymized_at_any_depth() {
        let mut value = serde_json::json!({
            "kubeconfig": "apiVersion: v1...",
            "kubeconfig_path": "/root/.kube/config",
            "deep": [{"x": {"kubeconfig": {"token": "secret"}}}]
        });
        assert_eq!(anonymize_kubeconfig(&mut value), 2);
        assert_eq!(value["kubeconfig"], "anonymized");
        assert_eq!(value["kubeconfig_path"], "/root/.kube/config");
        assert_eq!(value["deep"][0]["x"]["kubeconfig"], "anonymized");
    }
}
