//! Cluster events for each scenario (`events_backup`): events with a reason in krkn's relevant
//! list, whose time lies inside the scenario's window, in the namespaces the scenario names.
//!
//! krkn-lib lists events once per scenario and namespace; we list them once (paged) and sort
//! them into every scenario, in the order they happened. An event's time is `firstTimestamp` as in krkn-lib, else
//! `eventTime`, else its creation (events.k8s.io-style events have no `firstTimestamp`, and
//! krkn-lib silently drops them). The window is inclusive, in whole seconds.

use k8s_openapi::api::core::v1::Event;
use krkn_telemetry_model::{ClusterEvent, Field, ScenarioTelemetry, is_relevant_event_reason};
use kube::api::{Api, ListParams};
use regex::Regex;
use serde_json::Value;

use super::ProbeError;

/// Where and when one scenario looks for events.
#[derive(Debug, Clone)]
pub struct EventWindow {
    /// First second of the scenario (inclusive).
    pub start: i64,
    /// Last second of the scenario (inclusive).
    pub end: i64,
    /// Namespaces the scenario named (`namespace` keys in its parameters).
    pub namespaces: Vec<String>,
    /// `namespace_pattern` regexes of the scenario, matched at the start of a namespace.
    pub patterns: Vec<Regex>,
}

impl EventWindow {
    /// The window of a scenario, with the namespaces its parameters name; `None` when the
    /// scenario has no usable start and end.
    pub fn of(scenario: &ScenarioTelemetry) -> Option<EventWindow> {
        let start = scenario.start_timestamp.get()?.as_f64()?;
        let end = scenario.end_timestamp.get()?.as_f64()?;
        let mut window = EventWindow {
            start: start.floor() as i64,
            end: end.floor() as i64,
            namespaces: Vec::new(),
            patterns: Vec::new(),
        };
        if let Some(parameters) = scenario.parameters.get() {
            window.scan(&parameters.to_value());
        }
        Some(window)
    }

    fn scan(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    match (key.as_str(), item) {
                        ("namespace", Value::String(ns)) if !ns.is_empty() => {
                            self.namespaces.push(ns.clone())
                        }
                        ("namespace_pattern", Value::String(p)) => {
                            // A pattern that is not a regex cannot match; krkn would fail on it.
                            if let Ok(re) = Regex::new(&format!("^(?:{p})")) {
                                self.patterns.push(re);
                            }
                        }
                        _ => self.scan(item),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.scan(i)),
            _ => {}
        }
    }

    fn wants_namespace(&self, namespace: &str) -> bool {
        (self.namespaces.is_empty() && self.patterns.is_empty())
            || self.namespaces.iter().any(|n| n == namespace)
            || self.patterns.iter().any(|p| p.is_match(namespace))
    }

    /// True when `event` belongs to this scenario.
    pub fn contains(&self, event: &Event) -> bool {
        let Some(at) = event_second(event) else {
            return false;
        };
        event
            .reason
            .as_deref()
            .is_some_and(is_relevant_event_reason)
            && (self.start..=self.end).contains(&at)
            && self.wants_namespace(event.metadata.namespace.as_deref().unwrap_or_default())
    }
}

/// The second an event happened: `firstTimestamp`, else `eventTime`, else its creation.
pub fn event_second(event: &Event) -> Option<i64> {
    event
        .first_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .or_else(|| event.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| {
            event
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_second())
        })
}

/// The model's `ClusterEvent` for a Kubernetes event.
pub fn to_cluster_event(event: &Event) -> ClusterEvent {
    let text = |value: Option<&String>| value.cloned().map_or(Field::Null, Field::Set);
    let involved = &event.involved_object;
    ClusterEvent {
        name: text(event.metadata.name.as_ref()),
        creation: event
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(Field::Null, |t| Field::Set(t.0.to_string())),
        reason: text(event.reason.as_ref()),
        message: text(event.message.as_ref()),
        namespace: text(event.metadata.namespace.as_ref()),
        source_component: text(event.source.as_ref().and_then(|s| s.component.as_ref())),
        involved_object_kind: text(involved.kind.as_ref()),
        involved_object_name: text(involved.name.as_ref()),
        involved_object_namespace: text(involved.namespace.as_ref()),
        event_type: text(event.type_.as_ref()),
        ..ClusterEvent::default()
    }
}

/// Lists every event once (paged) and returns, for each window, the events that belong to it.
pub async fn collect(
    client: &kube::Client,
    windows: &[Option<EventWindow>],
    page_size: u32,
) -> Result<Vec<Vec<ClusterEvent>>, ProbeError> {
    let api: Api<Event> = Api::all(client.clone());
    let mut found: Vec<Vec<(i64, ClusterEvent)>> = vec![Vec::new(); windows.len()];
    let mut params = ListParams::default().limit(page_size);
    loop {
        let page = api.list(&params).await?;
        for event in &page.items {
            for (index, window) in windows.iter().enumerate() {
                if window.as_ref().is_some_and(|w| w.contains(event)) {
                    let at = event_second(event).unwrap_or_default();
                    found[index].push((at, to_cluster_event(event)));
                }
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    // In the order they happened (the API lists by namespace and name).
    Ok(found
        .into_iter()
        .map(|mut events| {
            events.sort_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| a.1.name.get().cmp(&b.1.name.get()))
            });
            events.into_iter().map(|(_, event)| event).collect()
        })
        .collect())
}
