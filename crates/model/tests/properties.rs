//! Property tests: any valid document survives serialize → parse → validate → serialize with
//! nothing lost or changed, including absent-vs-null, int-vs-float and unknown fields.

use std::collections::BTreeMap;

use krkn_telemetry_model::*;
use proptest::prelude::*;
use serde_json::{Number, Value};

fn field<T: Clone + std::fmt::Debug + 'static>(
    inner: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Field<T>> {
    prop_oneof![
        1 => Just(Field::Missing),
        1 => Just(Field::Null),
        3 => inner.prop_map(Field::Set),
    ]
    .boxed()
}

/// A list field as a valid document may have it: absent or set, never `null`.
fn not_null<T>(field: Field<Vec<T>>) -> Field<Vec<T>> {
    match field {
        Field::Null => Field::Missing,
        other => other,
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-zA-Z0-9 ._/-]{1,24}", "\\PC{1,12}"]
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_./-]{0,30}"
}

fn non_negative_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        (0u64..10_000_000).prop_map(Number::from),
        (0.0f64..1.0e7).prop_map(|f| Number::from_f64(f).expect("finite")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1.0e9f64..1.0e9).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown keys: prefixed so they never collide with a known one.
fn extra() -> impl Strategy<Value = Extra> {
    prop::collection::btree_map("x_[a-z]{1,8}", json_value().prop_map(RawJson::from), 0..2)
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        text().prop_map(Scalar::Text),
        non_negative_number().prop_map(Scalar::Number),
    ]
}

fn pod() -> impl Strategy<Value = AffectedPod> {
    (
        field(name()),
        field(name()),
        field(non_negative_number()),
        field(non_negative_number()),
        field(non_negative_number()),
        extra(),
    )
        .prop_map(
            |(pod_name, namespace, total, ready, resched, extra)| AffectedPod {
                pod_name,
                namespace,
                total_recovery_time: total,
                pod_readiness_time: ready,
                pod_rescheduling_time: resched,
                extra,
            },
        )
}

fn pods() -> impl Strategy<Value = PodsStatus> {
    (
        field(prop::collection::vec(pod(), 0..3)),
        field(prop::collection::vec(pod(), 0..2)),
        field(text()),
        extra(),
    )
        .prop_map(|(recovered, unrecovered, error, extra)| PodsStatus {
            recovered,
            unrecovered,
            error,
            extra,
        })
}

fn vmis() -> impl Strategy<Value = VmisStatus> {
    let vmi = (
        field(name()),
        field(name()),
        field(non_negative_number()),
        extra(),
    )
        .prop_map(|(vmi_name, namespace, total, extra)| AffectedVmi {
            vmi_name,
            namespace,
            total_recovery_time: total,
            extra,
            ..Default::default()
        });
    (field(prop::collection::vec(vmi, 0..2)), field(text())).prop_map(|(recovered, error)| {
        VmisStatus {
            recovered,
            error,
            ..Default::default()
        }
    })
}

fn node() -> impl Strategy<Value = AffectedNode> {
    (
        field(name()),
        field(non_negative_number()),
        field(non_negative_number()),
    )
        .prop_map(|(node_name, ready, not_ready)| AffectedNode {
            node_name,
            ready_time: ready,
            not_ready_time: not_ready,
            ..Default::default()
        })
}

fn event() -> impl Strategy<Value = ClusterEvent> {
    (
        field(name()),
        field(prop::sample::select(RELEVANT_EVENT_REASONS)),
        field(text()),
        field(name()),
        field(prop_oneof![
            Just("Warning".to_owned()),
            Just("Normal".to_owned())
        ]),
        extra(),
    )
        .prop_map(
            |(name, reason, message, namespace, event_type, extra)| ClusterEvent {
                name,
                reason: reason.map_set(str::to_owned),
                message,
                namespace,
                event_type,
                extra,
                ..Default::default()
            },
        )
}

fn scenario() -> impl Strategy<Value = ScenarioTelemetry> {
    let times =
        (0u64..4_000_000_000, 0u64..100_000, any::<bool>()).prop_map(|(start, span, float)| {
            if float {
                let s = start as f64 + 0.5;
                (
                    Number::from_f64(s).expect("finite"),
                    Number::from_f64(s + span as f64).expect("finite"),
                )
            } else {
                (Number::from(start), Number::from(start + span))
            }
        });
    (
        times,
        name(),
        name(),
        any::<i64>(),
        prop_oneof![
            Just(Field::Missing),
            Just(Field::Null),
            Just(Field::Set(String::new()))
        ],
        json_value()
            .prop_filter("parameters must not be null or empty", |v| {
                !v.is_null() && v != &Value::from("")
            })
            .prop_map(RawJson::from),
        field(pods()),
        field(vmis()),
        field(prop::collection::vec(node(), 0..2)),
        field(prop::collection::vec(event(), 0..4)),
        extra(),
    )
        .prop_map(
            |(
                (start, end),
                scenario,
                kind,
                exit,
                b64,
                params,
                pods,
                vmis,
                nodes,
                events,
                extra,
            )| ScenarioTelemetry {
                start_timestamp: Field::Set(start),
                end_timestamp: Field::Set(end),
                scenario: Field::Set(scenario),
                scenario_type: Field::Set(kind),
                exit_status: Field::Set(exit),
                parameters_base64: b64,
                parameters: Field::Set(params),
                affected_pods: pods,
                affected_vmis: vmis,
                affected_nodes: nodes,
                cluster_events: events,
                extra,
            },
        )
}

fn node_info() -> impl Strategy<Value = NodeInfo> {
    (
        field(0i64..5000),
        field(name()),
        field(name()),
        field(name()),
        field(text()),
        extra(),
    )
        .prop_map(
            |(count, architecture, instance_type, nodes_type, os_version, extra)| NodeInfo {
                count,
                architecture,
                instance_type,
                nodes_type,
                os_version,
                extra,
                ..Default::default()
            },
        )
}

fn taint() -> impl Strategy<Value = Taint> {
    (field(name()), field(name()), field(name()), field(text())).prop_map(
        |(node_name, effect, key, value)| Taint {
            node_name,
            effect,
            key,
            value,
            extra: Default::default(),
        },
    )
}

fn checks() -> impl Strategy<Value = (Field<Vec<HealthCheck>>, Field<Vec<VirtCheck>>)> {
    let health = (
        field(text()),
        field(any::<bool>()),
        field(scalar()),
        field(non_negative_number().prop_map(Scalar::Number)),
    )
        .prop_map(|(url, status, status_code, duration)| HealthCheck {
            url,
            status,
            status_code,
            duration,
            ..Default::default()
        });
    let virt = (
        field(name()),
        field(any::<bool>()),
        field(prop_oneof![
            Just(Scalar::from("")),
            non_negative_number().prop_map(Scalar::Number)
        ]),
    )
        .prop_map(|(vm_name, ssh_status, duration)| VirtCheck {
            vm_name,
            ssh_status,
            duration,
            ..Default::default()
        });
    (
        field(prop::collection::vec(health, 0..3)),
        field(prop::collection::vec(virt, 0..3)),
    )
}

fn object_check() -> impl Strategy<Value = ObjectStateCheck> {
    (
        field(name()),
        field(any::<bool>()),
        field(0i64..100),
        field(0i64..100),
        field(text()),
        extra(),
    )
        .prop_map(
            |(check_name, passed, checked, failed, message, extra)| ObjectStateCheck {
                check_name,
                passed,
                objects_checked: checked,
                objects_failed: failed,
                message,
                extra,
                ..Default::default()
            },
        )
}

fn alert() -> impl Strategy<Value = AlertEvaluation> {
    (
        field(text()),
        field(name()),
        field(any::<bool>()),
        field(prop_oneof![
            Just("pre".to_owned()),
            Just("during".to_owned()),
            Just("post".to_owned())
        ]),
    )
        .prop_map(|(name, severity, status, phase)| AlertEvaluation {
            name,
            severity,
            status,
            phase,
            ..Default::default()
        })
}

fn resiliency() -> impl Strategy<Value = ResiliencyReport> {
    (
        0i64..100,
        0i64..100,
        prop::collection::btree_map(name(), non_negative_number(), 0..3),
    )
        .prop_map(|(a, b, scores)| ResiliencyReport {
            scenarios: Field::Set(scores),
            resiliency_score: Field::Set(Number::from(a.max(b))),
            passed_slos: Field::Set(a.min(b)),
            total_slos: Field::Set(a.max(b)),
            extra: Default::default(),
        })
}

fn document() -> impl Strategy<Value = ChaosRunTelemetry> {
    let cluster = (
        prop::collection::vec(scenario(), 0..4),
        field(prop::collection::vec(node_info(), 0..3)),
        field(prop::collection::vec(taint(), 0..3)),
        field(prop::collection::btree_map(
            "[A-Z][a-zA-Z]{0,15}",
            0i64..1_000_000,
            0..4,
        )),
        field(prop::collection::vec(name(), 0..3)),
        field(0i64..10_000),
        field(name()),
        field(name()),
        field(text()),
        field(scalar()),
        field(prop::collection::vec(object_check(), 0..2)),
        field(prop::collection::vec(alert(), 0..2)),
    );
    let run = (
        field(name()),
        field(prop_oneof![
            Just(String::new()),
            Just("2025-04-22T17:35:37Z".to_owned())
        ]),
        checks(),
        field(any::<bool>()),
        field(text()),
        field(text()),
        (
            field(any::<bool>()),
            field(any::<bool>()),
            field(any::<bool>()),
        ),
        field(prop::collection::vec(
            json_value().prop_map(RawJson::from),
            0..3,
        )),
        field(resiliency()),
        extra(),
    );
    (cluster, run).prop_map(|(c, r)| {
        let (health_checks, virt_checks) = r.2;
        ChaosRunTelemetry {
            scenarios: Field::Set(c.0),
            // krkn-lib cannot read these back as null, so a valid document never has one.
            node_summary_infos: not_null(c.1),
            node_taints: not_null(c.2),
            kubernetes_objects_count: c.3.map_set(|m: BTreeMap<String, i64>| m),
            network_plugins: c.4,
            total_node_count: c.5,
            cloud_infrastructure: c.6,
            cloud_type: c.7,
            cluster_version: c.8,
            major_version: c.9,
            run_uuid: r.0,
            timestamp: r.1,
            post_virt_checks: virt_checks.clone(),
            health_checks,
            virt_checks,
            job_status: r.3,
            build_url: r.4,
            tag: r.5,
            fips_enabled: r.6.0,
            etcd_encryption_enabled: r.6.1,
            ipsec_enabled: r.6.2,
            error_logs: r.7,
            overall_resiliency_report: r.8,
            extra: r.9,
            object_state_checks: c.10,
            alerts: c.11,
        }
    })
}

trait MapSet<T> {
    fn map_set<U>(self, f: impl FnOnce(T) -> U) -> Field<U>;
}

impl<T> MapSet<T> for Field<T> {
    fn map_set<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Missing => Field::Missing,
            Field::Null => Field::Null,
            Field::Set(v) => Field::Set(f(v)),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_valid_document_round_trips(doc in document()) {
        doc.validate().map_err(|p| TestCaseError::fail(format!("generated document invalid: {p}")))?;
        let bytes = serde_json::to_vec(&doc).expect("serializes");
        let parsed = ChaosRunTelemetry::from_json(&bytes)
            .map_err(|p| TestCaseError::fail(format!("does not parse back: {p}")))?;
        prop_assert_eq!(&parsed, &doc);
        parsed.validate().map_err(|p| TestCaseError::fail(format!("invalid after round trip: {p}")))?;
        let again: Value = serde_json::from_slice(&serde_json::to_vec(&parsed).expect("serializes")).expect("json");
        let first: Value = serde_json::from_slice(&bytes).expect("json");
        prop_assert_eq!(again, first);
    }

    #[test]
    fn normalizing_twice_changes_nothing(doc in document()) {
        let mut once = doc.clone();
        once.normalize().map_err(|p| TestCaseError::fail(format!("normalize failed: {p}")))?;
        let mut twice = once.clone();
        twice.normalize().map_err(|p| TestCaseError::fail(format!("normalize failed: {p}")))?;
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = ChaosRunTelemetry::from_json(&bytes);
        let _ = TelemetryFile::parse(&bytes);
    }
}

/// Names as a hostile client may send them: any text, with the pieces of a path escape
/// (`..`, `/`, `\`, NUL, `%2F`, dots, unicode) well represented.
fn hostile_name() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("..".to_owned()),
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("\0".to_owned()),
        Just("%2F".to_owned()),
        Just(".".to_owned()),
        Just("telemetry.json".to_owned()),
        "[a-z0-9-]{1,8}",
        "\\PC{1,4}",
    ];
    prop::collection::vec(piece, 0..6).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever group, request id and file name a client sends, a key the store is given
    /// lies inside `<group>/<request_id>/`: exactly three plain segments, none empty, `.`,
    /// `..` or hidden, no separator or NUL inside one (the only way into a key is RunKey and
    /// ArtifactName, so this holds for every route).
    #[test]
    fn no_input_makes_a_key_outside_its_run(group in hostile_name(), id in hostile_name(), file in hostile_name()) {
        let checked = |key: &str, run: &RunKey| {
            let prefix = format!("{}/{}/", run.group(), run.request_id());
            prop_assert!(key.starts_with(&prefix), "{key:?} outside {prefix:?}");
            let segments: Vec<&str> = key.split('/').collect();
            prop_assert_eq!(segments.len(), 3, "{:?}", key);
            for segment in segments {
                prop_assert!(!segment.is_empty() && segment != "." && segment != "..", "{:?}", key);
                prop_assert!(!segment.starts_with('.'), "{:?}", key);
                prop_assert!(!segment.contains(['\\', '\0']), "{:?}", key);
            }
            Ok(())
        };
        if let Ok(run) = RunKey::new(&group, &id) {
            checked(&run.telemetry_key(), &run)?;
            if let Ok(artifact) = ArtifactName::new(&file) {
                checked(&run.object_key(&artifact), &run)?;
            }
        }
        if let Ok(run) = RunKey::parse(&format!("{group}/{id}")) {
            checked(&run.telemetry_key(), &run)?;
        }
    }
}
