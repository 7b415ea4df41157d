//! Validation: the rules a document must meet before it is filed, all checked in one pass.
//!
//! | rule | where | limit |
//! |---|---|---|
//! | upstream rule: no scenario attribute other than `parameters_base64` null or empty | `scenarios[i].*` | — |
//! | `scenarios` present and a list | `scenarios` | ≤ [`Limits::max_scenarios`] |
//! | other lists | any list | ≤ [`Limits::max_items`] items |
//! | not `null` where krkn-lib's parser iterates the list unchecked | `node_summary_infos`, `node_taints` | — |
//! | `parameters_base64` aliases | all of a document's YAML together | expansion ≤ 2 × its size + 64 KiB ([`crate::alias_budget`]) |
//! | names, versions, types, ids | short strings | ≤ [`Limits::max_name_bytes`] |
//! | messages, URLs, errors | free text | ≤ [`Limits::max_text_bytes`] |
//! | `parameters_base64` | base64 of YAML, a mapping or a list | ≤ [`Limits::max_parameters_bytes`] |
//! | scenario timestamps | finite, ≥ 0, ≤ [`Limits::max_unix_seconds`], end ≥ start | — |
//! | counts and durations | `count`, `total_node_count`, object counts, recovery times, SLOs | ≥ 0 |
//! | `passed_slos` | resiliency report | ≤ `total_slos` |
//! | `timestamp` | top level | empty or `%Y-%m-%dT%H:%M:%SZ` |
//!
//! Unknown fields are never checked: they belong to newer senders and are kept as they are.

mod values;

use crate::alias_budget::AliasBudget;
use crate::cluster::{
    AlertEvaluation, HealthCheck, NodeInfo, ObjectStateCheck, ResiliencyReport, Taint, VirtCheck,
};
use crate::field::Field;
use crate::parameters::decode_parameters_base64_within;
use crate::problem::{Path, Problems};
use crate::scenario::{
    AffectedNode, AffectedPod, AffectedVmi, ClusterEvent, PodsStatus, ScenarioTelemetry, VmisStatus,
};
use crate::telemetry::ChaosRunTelemetry;
use values::{is_krkn_timestamp, truncate};

/// Size limits applied by [`ChaosRunTelemetry::validate_with`]. The defaults are generous for
/// real clusters (a 5,000-node cluster fits) and stop documents that would hurt the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most scenarios in one run.
    pub max_scenarios: usize,
    /// Most items in any other list (nodes, taints, events of one scenario, pods, ...).
    pub max_items: usize,
    /// Longest name-like string in bytes (names, versions, types, uuids).
    pub max_name_bytes: usize,
    /// Longest free-text string in bytes (event messages, URLs, error text).
    pub max_text_bytes: usize,
    /// Longest `parameters_base64` in bytes.
    pub max_parameters_bytes: usize,
    /// Latest accepted scenario timestamp (unix seconds); later values are most likely
    /// milliseconds sent by mistake.
    pub max_unix_seconds: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_scenarios: 10_000,
            max_items: 100_000,
            max_name_bytes: 1024,
            max_text_bytes: 64 * 1024,
            max_parameters_bytes: 1024 * 1024,
            // 3000-01-01T00:00:00Z
            max_unix_seconds: 32_503_680_000.0,
        }
    }
}

impl ChaosRunTelemetry {
    /// Checks every rule with the default [`Limits`]; returns every problem found.
    pub fn validate(&self) -> Result<(), Problems> {
        self.validate_with(&Limits::default())
    }

    /// Checks every rule with the given limits; returns every problem found.
    pub fn validate_with(&self, limits: &Limits) -> Result<(), Problems> {
        let mut checker = Checker {
            limits,
            problems: Problems::default(),
            parameters_budget: self.parameters_budget(),
        };
        checker.telemetry(self, &Path::ROOT);
        checker.problems.into_result(())
    }
}

struct Checker<'l> {
    limits: &'l Limits,
    problems: Problems,
    /// What the aliases of all `parameters_base64` together may expand to.
    parameters_budget: AliasBudget,
}

impl Checker<'_> {
    /// Every rule of the document's top level, and of what it holds.
    fn telemetry(&mut self, doc: &ChaosRunTelemetry, root: &Path<'_>) {
        self.scenarios(doc, root);

        self.not_null(&doc.node_summary_infos, &root.field("node_summary_infos"));
        self.list(
            &doc.node_summary_infos,
            &root.field("node_summary_infos"),
            Self::node_info,
        );
        self.not_null(&doc.node_taints, &root.field("node_taints"));
        self.list(&doc.node_taints, &root.field("node_taints"), Self::taint);

        self.object_counts(doc, root);
        self.network_plugins(doc, root);

        if let Some(total) = doc.total_node_count.get() {
            self.non_negative_int(*total, &root.field("total_node_count"));
        }
        self.name(
            &doc.cloud_infrastructure,
            &root.field("cloud_infrastructure"),
        );
        self.name(&doc.cloud_type, &root.field("cloud_type"));
        self.name(&doc.cluster_version, &root.field("cluster_version"));
        self.scalar_name(&doc.major_version, &root.field("major_version"));
        self.name(&doc.run_uuid, &root.field("run_uuid"));
        self.text(&doc.build_url, &root.field("build_url"));
        self.text(&doc.tag, &root.field("tag"));

        self.timestamp(doc, root);

        self.list(
            &doc.health_checks,
            &root.field("health_checks"),
            Self::health_check,
        );
        self.list(
            &doc.virt_checks,
            &root.field("virt_checks"),
            Self::virt_check,
        );
        self.list(
            &doc.post_virt_checks,
            &root.field("post_virt_checks"),
            Self::virt_check,
        );
        self.list(
            &doc.object_state_checks,
            &root.field("object_state_checks"),
            Self::object_check,
        );
        self.list(&doc.alerts, &root.field("alerts"), Self::alert);
        self.list(&doc.error_logs, &root.field("error_logs"), |_, _, _| {});
        if let Some(report) = doc.overall_resiliency_report.get() {
            self.resiliency(report, &root.field("overall_resiliency_report"));
        }
    }

    /// `scenarios`: present, a list, not too long, each scenario checked.
    fn scenarios(&mut self, doc: &ChaosRunTelemetry, root: &Path<'_>) {
        let path = root.field("scenarios");
        match &doc.scenarios {
            Field::Missing => self
                .problems
                .at(&path, "is missing: a run has a list of scenarios"),
            Field::Null => self
                .problems
                .at(&path, "must be a list of scenarios, not null"),
            Field::Set(scenarios) => {
                if scenarios.len() > self.limits.max_scenarios {
                    self.too_many(&path, scenarios.len(), self.limits.max_scenarios);
                }
                for (i, scenario) in scenarios.iter().enumerate() {
                    self.scenario(scenario, &path.index(i));
                }
            }
        }
    }

    /// `kubernetes_objects_count`: named kinds, non-negative counts, not too many.
    fn object_counts(&mut self, doc: &ChaosRunTelemetry, root: &Path<'_>) {
        let counts_path = root.field("kubernetes_objects_count");
        if let Some(counts) = doc.kubernetes_objects_count.get() {
            if counts.len() > self.limits.max_items {
                self.too_many(&counts_path, counts.len(), self.limits.max_items);
            }
            for (kind, count) in counts {
                let kind_path = counts_path.field(kind);
                if kind.is_empty() {
                    self.problems
                        .at(&counts_path, "object kinds must not be empty");
                } else if kind.len() > self.limits.max_name_bytes {
                    self.problems.at(
                        &counts_path,
                        format!(
                            "an object kind is longer than {} bytes",
                            self.limits.max_name_bytes
                        ),
                    );
                }
                self.non_negative_int(*count, &kind_path);
            }
        }
    }

    /// `network_plugins`: short names, not too many.
    fn network_plugins(&mut self, doc: &ChaosRunTelemetry, root: &Path<'_>) {
        let plugins_path = root.field("network_plugins");
        if let Some(plugins) = doc.network_plugins.get() {
            if plugins.len() > self.limits.max_items {
                self.too_many(&plugins_path, plugins.len(), self.limits.max_items);
            }
            for (i, plugin) in plugins.iter().enumerate() {
                self.name_str(plugin, &plugins_path.index(i));
            }
        }
    }

    /// `timestamp`: empty or krkn's UTC form.
    fn timestamp(&mut self, doc: &ChaosRunTelemetry, root: &Path<'_>) {
        let timestamp_path = root.field("timestamp");
        if let Some(timestamp) = doc.timestamp.get()
            && !timestamp.is_empty()
            && !is_krkn_timestamp(timestamp)
        {
            self.problems.at(
                &timestamp_path,
                format!(
                    "must be a UTC time like 2025-04-22T17:35:37Z, found {:?}",
                    truncate(timestamp)
                ),
            );
        }
    }

    fn scenario(&mut self, scenario: &ScenarioTelemetry, path: &Path<'_>) {
        // The upstream rule: every attribute but `parameters_base64` must be neither null nor
        // empty. The nested objects and lists are exempt because krkn-lib replaces a null with
        // an empty value before it checks.
        let start = self.required(&scenario.start_timestamp, &path.field("start_timestamp"));
        let end = self.required(&scenario.end_timestamp, &path.field("end_timestamp"));
        if let Some(name) = self.required(&scenario.scenario, &path.field("scenario")) {
            self.non_empty_name(name, &path.field("scenario"));
        }
        if let Some(kind) = self.required(&scenario.scenario_type, &path.field("scenario_type")) {
            self.non_empty_name(kind, &path.field("scenario_type"));
        }
        self.required(&scenario.exit_status, &path.field("exit_status"));

        let encoded = scenario
            .parameters_base64
            .get()
            .map(String::as_str)
            .unwrap_or("");
        let params_path = path.field("parameters_base64");
        if encoded.len() > self.limits.max_parameters_bytes {
            self.problems.at(
                &params_path,
                format!(
                    "is {} bytes, more than the limit of {}",
                    encoded.len(),
                    self.limits.max_parameters_bytes
                ),
            );
        } else if !encoded.is_empty() {
            if let Err(reason) = decode_parameters_base64_within(encoded, &self.parameters_budget) {
                self.problems.at(&params_path, reason);
            }
        } else {
            let parameters_path = path.field("parameters");
            match &scenario.parameters {
                Field::Missing => self.problems.at(
                    &parameters_path,
                    "is missing (send parameters or parameters_base64)",
                ),
                Field::Null => self.problems.at(
                    &parameters_path,
                    "must not be null (send parameters or parameters_base64)",
                ),
                Field::Set(raw) if raw.is_empty_string() => self.problems.at(
                    &parameters_path,
                    "must not be empty (send parameters or parameters_base64)",
                ),
                Field::Set(raw) => {
                    if let Err(e) = raw.try_to_value() {
                        self.problems.at(
                            &parameters_path,
                            format!("holds a value JSON readers cannot carry ({e}); send large numbers as strings"),
                        );
                    }
                }
            }
        }

        let start_value = start.and_then(|n| self.unix_time(n, &path.field("start_timestamp")));
        let end_value = end.and_then(|n| self.unix_time(n, &path.field("end_timestamp")));
        if let (Some(start), Some(end)) = (start_value, end_value)
            && end < start
        {
            self.problems.at(
                &path.field("end_timestamp"),
                format!("must not be before start_timestamp ({end} < {start})"),
            );
        }

        if let Some(pods) = scenario.affected_pods.get() {
            self.pods(pods, &path.field("affected_pods"));
        }
        if let Some(vmis) = scenario.affected_vmis.get() {
            self.vmis(vmis, &path.field("affected_vmis"));
        }
        self.list(
            &scenario.affected_nodes,
            &path.field("affected_nodes"),
            Self::affected_node,
        );
        self.list(
            &scenario.cluster_events,
            &path.field("cluster_events"),
            Self::event,
        );
    }

    fn pods(&mut self, pods: &PodsStatus, path: &Path<'_>) {
        self.list(&pods.recovered, &path.field("recovered"), Self::pod);
        self.list(&pods.unrecovered, &path.field("unrecovered"), Self::pod);
        self.text(&pods.error, &path.field("error"));
    }

    fn pod(&mut self, pod: &AffectedPod, path: &Path<'_>) {
        self.name(&pod.pod_name, &path.field("pod_name"));
        self.name(&pod.namespace, &path.field("namespace"));
        self.duration(&pod.total_recovery_time, &path.field("total_recovery_time"));
        self.duration(&pod.pod_readiness_time, &path.field("pod_readiness_time"));
        self.duration(
            &pod.pod_rescheduling_time,
            &path.field("pod_rescheduling_time"),
        );
    }

    fn vmis(&mut self, vmis: &VmisStatus, path: &Path<'_>) {
        self.list(&vmis.recovered, &path.field("recovered"), Self::vmi);
        self.list(&vmis.unrecovered, &path.field("unrecovered"), Self::vmi);
        self.text(&vmis.error, &path.field("error"));
    }

    fn vmi(&mut self, vmi: &AffectedVmi, path: &Path<'_>) {
        self.name(&vmi.vmi_name, &path.field("vmi_name"));
        self.name(&vmi.namespace, &path.field("namespace"));
        self.duration(&vmi.total_recovery_time, &path.field("total_recovery_time"));
        self.duration(&vmi.vmi_readiness_time, &path.field("vmi_readiness_time"));
        self.duration(
            &vmi.vmi_rescheduling_time,
            &path.field("vmi_rescheduling_time"),
        );
    }

    fn affected_node(&mut self, node: &AffectedNode, path: &Path<'_>) {
        self.name(&node.node_name, &path.field("node_name"));
        self.name(&node.node_id, &path.field("node_id"));
        self.duration(&node.not_ready_time, &path.field("not_ready_time"));
        self.duration(&node.ready_time, &path.field("ready_time"));
        self.duration(&node.stopped_time, &path.field("stopped_time"));
        self.duration(&node.running_time, &path.field("running_time"));
        self.duration(&node.terminating_time, &path.field("terminating_time"));
    }

    fn event(&mut self, event: &ClusterEvent, path: &Path<'_>) {
        self.name(&event.name, &path.field("name"));
        self.name(&event.creation, &path.field("creation"));
        self.name(&event.reason, &path.field("reason"));
        self.text(&event.message, &path.field("message"));
        self.name(&event.namespace, &path.field("namespace"));
        self.name(&event.source_component, &path.field("source_component"));
        self.name(
            &event.involved_object_kind,
            &path.field("involved_object_kind"),
        );
        self.name(
            &event.involved_object_name,
            &path.field("involved_object_name"),
        );
        self.name(
            &event.involved_object_namespace,
            &path.field("involved_object_namespace"),
        );
        self.name(&event.event_type, &path.field("type"));
    }

    fn node_info(&mut self, info: &NodeInfo, path: &Path<'_>) {
        if let Some(count) = info.count.get() {
            self.non_negative_int(*count, &path.field("count"));
        }
        self.name(&info.architecture, &path.field("architecture"));
        self.name(&info.instance_type, &path.field("instance_type"));
        self.name(&info.nodes_type, &path.field("nodes_type"));
        self.name(&info.kernel_version, &path.field("kernel_version"));
        self.name(&info.kubelet_version, &path.field("kubelet_version"));
        self.name(&info.os_version, &path.field("os_version"));
    }

    fn taint(&mut self, taint: &Taint, path: &Path<'_>) {
        self.name(&taint.node_name, &path.field("node_name"));
        self.name(&taint.effect, &path.field("effect"));
        self.name(&taint.key, &path.field("key"));
        self.text(&taint.value, &path.field("value"));
    }

    fn health_check(&mut self, check: &HealthCheck, path: &Path<'_>) {
        self.text(&check.url, &path.field("url"));
        self.scalar_name(&check.status_code, &path.field("status_code"));
        self.scalar_name(&check.start_timestamp, &path.field("start_timestamp"));
        self.scalar_name(&check.end_timestamp, &path.field("end_timestamp"));
        self.scalar_duration(&check.duration, &path.field("duration"));
    }

    fn virt_check(&mut self, check: &VirtCheck, path: &Path<'_>) {
        self.name(&check.vm_name, &path.field("vm_name"));
        self.name(&check.ip_address, &path.field("ip_address"));
        self.name(&check.new_ip_address, &path.field("new_ip_address"));
        self.name(&check.namespace, &path.field("namespace"));
        self.name(&check.node_name, &path.field("node_name"));
        self.name(&check.check_type, &path.field("check_type"));
        self.scalar_name(&check.start_timestamp, &path.field("start_timestamp"));
        self.scalar_name(&check.end_timestamp, &path.field("end_timestamp"));
        self.scalar_duration(&check.duration, &path.field("duration"));
        self.name(&check.phase, &path.field("phase"));
    }

    fn object_check(&mut self, check: &ObjectStateCheck, path: &Path<'_>) {
        self.name(&check.check_name, &path.field("check_name"));
        self.name(&check.kind, &path.field("kind"));
        self.name(&check.namespace, &path.field("namespace"));
        self.text(&check.object_name, &path.field("object_name"));
        self.name(&check.condition_type, &path.field("condition_type"));
        self.name(&check.condition_status, &path.field("condition_status"));
        if let Some(count) = check.objects_checked.get() {
            self.non_negative_int(*count, &path.field("objects_checked"));
        }
        if let Some(count) = check.objects_failed.get() {
            self.non_negative_int(*count, &path.field("objects_failed"));
        }
        self.scalar_name(&check.start_timestamp, &path.field("start_timestamp"));
        self.scalar_name(&check.end_timestamp, &path.field("end_timestamp"));
        self.scalar_duration(&check.duration, &path.field("duration"));
        self.text(&check.message, &path.field("message"));
        self.name(&check.phase, &path.field("phase"));
    }

    fn alert(&mut self, alert: &AlertEvaluation, path: &Path<'_>) {
        self.text(&alert.name, &path.field("name"));
        self.name(&alert.severity, &path.field("severity"));
        self.text(&alert.message, &path.field("message"));
        self.name(&alert.starts_at, &path.field("starts_at"));
        self.name(&alert.phase, &path.field("phase"));
    }

    fn resiliency(&mut self, report: &ResiliencyReport, path: &Path<'_>) {
        if let Some(scores) = report.scenarios.get() {
            let scores_path = path.field("scenarios");
            if scores.len() > self.limits.max_items {
                self.too_many(&scores_path, scores.len(), self.limits.max_items);
            }
        }
        let passed = report.passed_slos.get().copied();
        let total = report.total_slos.get().copied();
        if let Some(passed) = passed {
            self.non_negative_int(passed, &path.field("passed_slos"));
        }
        if let Some(total) = total {
            self.non_negative_int(total, &path.field("total_slos"));
        }
        if let (Some(passed), Some(total)) = (passed, total)
            && passed > total
        {
            self.problems.at(
                &path.field("passed_slos"),
                format!("must not exceed total_slos ({passed} > {total})"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krkn_timestamps_parse_as_the_strftime_format_does() {
        for text in [
            "2025-04-22T17:35:37Z",
            "2024-02-29T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-04-22T24:00:00Z",
            "2025-04-22T17:35:37",
            "2025-04-22 17:35:37Z",
            "2025-04-22T17:35:37+00:00",
            "2025-4-2T7:5:7Z",
            " 2025-04-22T17:35:37Z",
            "2025-04-22T17:35:37Zx",
            "2025-04-22T17:35:60Z",
            "",
        ] {
            let reference =
                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ").is_ok();
            assert_eq!(is_krkn_timestamp(text), reference, "{text:?}");
        }
    }
}
