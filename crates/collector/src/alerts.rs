//! Critical alerts from Prometheus: which `ALERTS{severity="critical",alertstate="firing"}`
//! series fired during the run window and after it (`critical-alerts-NN.log`).
//!
//! krkn queries a range for the chaos window and an instant ("now") for after it, and keeps
//! every series it gets, duplicates included. We do the same queries, then keep each alert once
//! (by name, state, namespace and severity, in the order first seen) and at most
//! [`MAX_ALERTS_PER_WINDOW`] per window, so a cluster in meltdown cannot make the summary
//! unbounded. "After the run" is `(end, end + post_window]`, clamped to now; when that is empty
//! (collecting right after the run) it is the instant query at now, as krkn does.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use krkn_telemetry_model::{ChaosRunAlert, ChaosRunAlertSummary, Field, Secret};
use serde::Deserialize;
use serde_json::Value;

/// The query krkn's check uses, restricted to firing alerts.
pub const CRITICAL_ALERTS_QUERY: &str = r#"ALERTS{severity="critical",alertstate="firing"}"#;

/// At most this many distinct alerts are kept per window; the rest are counted in a warning.
pub const MAX_ALERTS_PER_WINDOW: usize = 500;

/// Why Prometheus gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    /// The request failed (connection, TLS, timeout).
    #[error("cannot query Prometheus at {url}")]
    Request {
        /// The query URL, without credentials.
        url: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// Prometheus answered with an error.
    #[error("Prometheus at {url} answered {status}: {message}")]
    Answer {
        /// The query URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Prometheus's error text.
        message: String,
    },
    /// The CA file could not be used.
    #[error("Prometheus CA file {path}: {reason}")]
    Ca {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// How to reach Prometheus.
#[derive(Debug, Clone, Default)]
pub struct PrometheusSettings {
    /// Base URL (`https://prometheus-k8s-openshift-monitoring.apps…`).
    pub url: String,
    /// Sent as `Authorization: Bearer` when not empty.
    pub bearer_token: Secret,
    /// Extra CA to trust (an OpenShift route's ingress CA, the service CA in a pod).
    pub ca_file: Option<std::path::PathBuf>,
    /// Skip TLS verification, as krkn does (`disable_ssl=True`).
    pub insecure: bool,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// A Prometheus HTTP API client.
#[derive(Debug, Clone)]
pub struct Prometheus {
    base: String,
    token: Secret,
    http: reqwest::Client,
}

/// Prometheus's answer envelope: `{"status": "success", "data": …}` or an `error`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    status: String,
    #[serde(default = "Option::default")]
    data: Option<T>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ApiData {
    #[serde(default)]
    result: Vec<Series>,
}

#[derive(Debug, Deserialize)]
struct Series {
    #[serde(default)]
    metric: serde_json::Map<String, Value>,
}

impl Prometheus {
    /// A client for `settings`.
    pub fn new(settings: &PrometheusSettings) -> Result<Self, PrometheusError> {
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .danger_accept_invalid_certs(settings.insecure);
        if let Some(path) = &settings.ca_file {
            let ca = |reason: String| PrometheusError::Ca {
                path: path.display().to_string(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| ca(e.to_string()))?;
            for cert in
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca(e.to_string()))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|source| PrometheusError::Request {
            url: settings.url.clone(),
            source,
        })?;
        Ok(Prometheus {
            base: settings.url.trim_end_matches('/').to_owned(),
            token: settings.bearer_token.clone(),
            http,
        })
    }

    /// `GET` of an API path with query parameters (and the bearer token); returns the URL
    /// (for messages), the status and the body.
    pub async fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<(String, u16, bytes::Bytes), PrometheusError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.get(&url).query(params);
        if !self.token.is_empty() {
            request = request.bearer_auth(self.token.expose());
        }
        let failed = |source| PrometheusError::Request {
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(failed)?;
        Ok((url, status, body))
    }

    /// `GET` of an API path; the `data` of Prometheus's answer envelope (its default when
    /// absent), or an error with Prometheus's own text.
    pub async fn data<T: serde::de::DeserializeOwned + Default>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, PrometheusError> {
        let (url, status, body) = self.get(path, params).await?;
        match serde_json::from_slice::<Envelope<T>>(&body) {
            Ok(answer) if answer.status == "success" => Ok(answer.data.unwrap_or_default()),
            Ok(answer) => Err(PrometheusError::Answer {
                url,
                status,
                message: answer.error.unwrap_or_else(|| "no error text".into()),
            }),
            Err(e) => Err(PrometheusError::Answer {
                url,
                status,
                message: format!(
                    "not a Prometheus API answer ({e}): {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ),
            }),
        }
    }

    async fn series(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<Vec<Series>, PrometheusError> {
        Ok(self.data::<ApiData>(path, params).await?.result)
    }

    /// Series of `query` with a sample anywhere in `[start, end]` (unix seconds).
    pub async fn range(
        &self,
        query: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<serde_json::Map<String, Value>>, PrometheusError> {
        // Prometheus refuses more than 11,000 points per series; 10 s steps as krkn, wider for
        // long windows.
        let step = ((end - start) / 10_000).max(10);
        let params = [
            ("query", query.to_owned()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", format!("{step}s")),
        ];
        let series = self.series("/api/v1/query_range", &params).await?;
        Ok(series.into_iter().map(|s| s.metric).collect())
    }

    /// Series of `query` at `time` (unix seconds).
    pub async fn instant(
        &self,
        query: &str,
        time: i64,
    ) -> Result<Vec<serde_json::Map<String, Value>>, PrometheusError> {
        let params = [("query", query.to_owned()), ("time", time.to_string())];
        let series = self.series("/api/v1/query", &params).await?;
        Ok(series.into_iter().map(|s| s.metric).collect())
    }
}

/// The run window to ask about, in unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertWindow {
    /// Start of the chaos.
    pub start: i64,
    /// End of the chaos.
    pub end: i64,
    /// How long after the end counts as "after the run".
    pub post_window: i64,
}

/// Alerts of one window after de-duplication and the cap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertList {
    /// Distinct alerts, first seen first.
    pub alerts: Vec<ChaosRunAlert>,
    /// Distinct alerts dropped by the cap.
    pub dropped: usize,
}

/// Turns Prometheus series into distinct `ChaosRunAlert`s (missing labels read `none`, as krkn
/// writes them), capped at [`MAX_ALERTS_PER_WINDOW`].
pub fn distinct_alerts(series: &[serde_json::Map<String, Value>]) -> AlertList {
    let mut seen = HashSet::new();
    let mut list = AlertList::default();
    for metric in series {
        let label = |name: &str| {
            metric
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("none")
                .to_owned()
        };
        let key = [
            label("alertname"),
            label("alertstate"),
            label("namespace"),
            label("severity"),
        ];
        if !seen.insert(key.clone()) {
            continue;
        }
        if list.alerts.len() == MAX_ALERTS_PER_WINDOW {
            list.dropped += 1;
            continue;
        }
        let [alertname, alertstate, namespace, severity] = key;
        list.alerts.push(ChaosRunAlert {
            alertname: Field::Set(alertname),
            alertstate: Field::Set(alertstate),
            namespace: Field::Set(namespace),
            severity: Field::Set(severity),
            ..ChaosRunAlert::default()
        });
    }
    list
}

/// The critical alerts during and after `window`, with `now` as the present.
pub async fn critical_alerts(
    prometheus: &Prometheus,
    window: AlertWindow,
    now: i64,
) -> Result<(AlertList, AlertList), PrometheusError> {
    let during = prometheus.range(CRITICAL_ALERTS_QUERY, window.start, window.end);
    let post_end = now.min(window.end.saturating_add(window.post_window));
    let after = async {
        if post_end > window.end {
            prometheus
                .range(CRITICAL_ALERTS_QUERY, window.end + 1, post_end)
                .await
        } else {
            prometheus.instant(CRITICAL_ALERTS_QUERY, now).await
        }
    };
    let (during, after) = tokio::try_join!(during, after)?;
    Ok((distinct_alerts(&during), distinct_alerts(&after)))
}

/// The summary krkn uploads as `critical-alerts-00.log`.
pub fn summary(
    run_id: &str,
    scenario: &str,
    during: &AlertList,
    after: &AlertList,
) -> ChaosRunAlertSummary {
    ChaosRunAlertSummary {
        run_id: Field::Set(run_id.to_owned()),
        scenario: Field::Set(scenario.to_owned()),
        chaos_alerts: Field::Set(during.alerts.clone()),
        post_chaos_alerts: Field::Set(after.alerts.clone()),
        ..ChaosRunAlertSummary::default()
    }
}

/// Writes `value` as pretty JSON to `path`, or to stdout when `path` is `None`.
pub fn write_json(value: &impl serde::Serialize, path: Option<&Path>) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    text.push(b'\n');
    match path {
        Some(path) => crate::archive::write_atomically(path, &text),
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&text)?;
            stdout.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metric(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn alerts_are_kept_once_in_first_seen_order() {
        let series = [
            metric(
                json!({"alertname": "B", "alertstate": "firing", "namespace": "x", "severity": "critical", "pod": "1"}),
            ),
            metric(json!({"alertname": "A", "alertstate": "firing", "severity": "critical"})),
            metric(
                json!({"alertname": "B", "alertstate": "firing", "namespace": "x", "severity": "critical", "pod": "2"}),
            ),
        ];
        let list = distinct_alerts(&series);
        let names: Vec<_> = list
            .alerts
            .iter()
            .map(|a| a.alertname.get().cloned())
            .collect();
        assert_eq!(names, [Some("B".to_owned()), Some("A".to_owned())]);
        assert_eq!(
            list.alerts[1].namespace.get().map(String::as_str),
            Some("none")
        );
    }

    #[test]
    fn the_cap_counts_what_it_drops() {
        let series: Vec<_> = (0..MAX_ALERTS_PER_WINDOW + 7)
            .map(|i| metric(json!({"alertname": format!("A{i}"), "severity": "critical"})))
            .collect();
        let list = distinct_alerts(&series);
        assert_eq!(
            (list.alerts.len(), list.dropped),
            (MAX_ALERTS_PER_WINDOW, 7)
        );
    }
}
