//! Critical Prometheus alerts seen during and after a chaos run (`critical-alerts-NN.log`).

use crate::shape::krkn_object;

krkn_object! {
    /// One firing alert, as krkn records it.
    pub struct ChaosRunAlert {
        /// Prometheus alert name.
        alertname: String = "alertname",
        /// Alert state (`firing`).
        alertstate: String = "alertstate",
        /// Namespace label of the alert.
        namespace: String = "namespace",
        /// Severity label of the alert (`critical`).
        severity: String = "severity",
    }
}

krkn_object! {
    /// The critical alerts of one run, split by when they fired.
    pub struct ChaosRunAlertSummary {
        /// The run's request id.
        run_id: String = "run_id",
        /// The scenario blamed for the alerts.
        scenario: String = "scenario",
        /// Alerts firing during the chaos window.
        chaos_alerts: Vec<ChaosRunAlert> = "chaos_alerts",
        /// Alerts firing after the chaos window.
        post_chaos_alerts: Vec<ChaosRunAlert> = "post_chaos_alerts",
    }
}
