//! The service's Prometheus metrics, in one process-wide registry (the process is the unit a
//! scrape sees): requests by route, method and status with their latency, filings by outcome,
//! upload bytes, authentication failures, limiter refusals, group commit batch sizes and store
//! errors. `krkn-telemetry-api serve --metrics-listen` serves them without credentials on an
//! address of their own; `GET /metrics` serves them to admins on the API's.
//!
//! Labels are bounded by construction: the route is the router's pattern
//! (`/api/v1/runs/{group}/{request_id}`), never the requested path, and every other label
//! value is a fixed word.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `method`, `route`, `status` of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// `method`, `route` of a request (the latency histogram's labels).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    method: String,
    route: String,
}

/// One fixed word: what happened, or which limit refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    kind: &'static str,
}

/// Every metric the service keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    filings: Family<KindLabel, Counter>,
    upload_bytes: Counter,
    auth_failures: Family<KindLabel, Counter>,
    refusals: Family<KindLabel, Counter>,
    commit_batch: Histogram,
    store_errors: Counter,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("krkn_telemetry");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by method, route pattern and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to ~16 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from the request to its response head, by method and route pattern",
            latency.clone(),
        );
        let filings = Family::<KindLabel, Counter>::default();
        registry.register(
            "filings",
            "POST /telemetry outcomes: filed (a new run), same (the stored document again), conflict (another document under the name)",
            filings.clone(),
        );
        let upload_bytes = Counter::default();
        registry.register(
            "upload_bytes",
            "Bytes of artifacts stored through upload links this server serves",
            upload_bytes.clone(),
        );
        let auth_failures = Family::<KindLabel, Counter>::default();
        registry.register(
            "auth_failures",
            "Requests refused with 401: missing, malformed or wrong credentials",
            auth_failures.clone(),
        );
        let refusals = Family::<KindLabel, Counter>::default();
        registry.register(
            "limiter_refusals",
            "Requests a limit turned away: password_checks (429), unavailable (503: starting, in flight, shutting down), timeout (408)",
            refusals.clone(),
        );
        let commit_batch = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "group_commit_batch_size",
            "Index writes committed together by the embedded store's group commit",
            commit_batch.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "store_errors",
            "Requests that failed because the store did (503)",
            store_errors.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            filings,
            upload_bytes,
            auth_failures,
            refusals,
            commit_batch,
            store_errors,
        }
    }

    /// A request answered with `status` after `elapsed`; `route` is the router's pattern.
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// A `POST /telemetry` ended as `kind` (`filed`, `same`, `conflict`).
    pub fn filing(&self, kind: &'static str) {
        self.filings.get_or_create(&KindLabel { kind }).inc();
    }

    /// An upload stored `bytes`.
    pub fn uploaded(&self, bytes: u64) {
        self.upload_bytes.inc_by(bytes);
    }

    /// A 401 for `kind` (`missing`, `malformed`, `wrong`).
    pub fn auth_failure(&self, kind: &'static str) {
        self.auth_failures.get_or_create(&KindLabel { kind }).inc();
    }

    /// A limit (`password_checks`, `unavailable`, `timeout`) turned a request away.
    pub fn refused(&self, kind: &'static str) {
        self.refusals.get_or_create(&KindLabel { kind }).inc();
    }

    /// The group commit committed `writes` index writes at once.
    pub fn commit_batch(&self, writes: usize) {
        self.commit_batch.observe(writes as f64);
    }

    /// A request failed with a store error.
    pub fn store_error(&self) {
        self.store_errors.inc();
    }

    /// Every metric in the Prometheus text format (OpenMetrics flavour, `# EOF` last).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// The media type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
