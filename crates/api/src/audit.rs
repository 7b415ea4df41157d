//! The admin actions the service records in the audit log, and who did them from where.
//!
//! An action is recorded after it succeeded (a failed delete is not an event), by whoever
//! carried it out: the route for a request ([`Origin::Api`]), the command line
//! ([`Origin::CommandLine`]), or the start-up that set the admin's password from the
//! environment ([`Origin::StartUp`]). Details name what changed, never a password or its
//! hash: a test reads the stored bytes for them.

use serde_json::json;

use crate::store::{AuditRecord, DeletedRun, UserRecord};

/// Who carried out an action, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A request of `user` from `client` (its address; `-` when unknown).
    Api {
        /// The authenticated user.
        user: String,
        /// The client's address.
        client: String,
    },
    /// `krkn-telemetry-api` run by an account on a host.
    CommandLine {
        /// The account (`$USER`, else `uid N`).
        account: String,
        /// The host name.
        host: String,
    },
    /// The server's start, from `KRKN_TELEMETRY_ADMIN_PASSWORD`, on a host.
    StartUp {
        /// The host name.
        host: String,
    },
    /// The retention sweep, applying the rule of a group (or the default) on a host.
    Retention {
        /// `retention <group>: <days> days` or `retention default: <days> days`.
        rule: String,
        /// The host name.
        host: String,
    },
}

impl Origin {
    /// The command line of this process: its account and host.
    pub fn command_line() -> Origin {
        Origin::CommandLine {
            account: account_name(),
            host: host_name(),
        }
    }

    /// The start-up of this process.
    pub fn start_up() -> Origin {
        Origin::StartUp { host: host_name() }
    }

    /// The retention sweep of this process, applying the rule of `group` (the default when
    /// `None`).
    pub fn retention(group: Option<&str>, days: u32) -> Origin {
        Origin::Retention {
            rule: format!("retention {}: {days} days", group.unwrap_or("default")),
            host: host_name(),
        }
    }

    /// A record of `action` on `target` by this origin, now.
    fn record(
        &self,
        action: &str,
        target: &str,
        group: Option<&str>,
        details: serde_json::Value,
    ) -> AuditRecord {
        let (actor, via, source) = match self {
            Origin::Api { user, client } => (user.clone(), "api", client.clone()),
            Origin::CommandLine { account, host } => {
                (account.clone(), "command line", host.clone())
            }
            Origin::StartUp { host } => (
                crate::config::ADMIN_PASSWORD_VAR.to_owned(),
                "start-up",
                host.clone(),
            ),
            Origin::Retention { rule, host } => (rule.clone(), "retention sweep", host.clone()),
        };
        AuditRecord {
            at: crate::time::now_rfc3339_millis(),
            actor,
            via: via.to_owned(),
            source,
            action: action.to_owned(),
            target: target.to_owned(),
            group: group.map(str::to_owned),
            details,
        }
    }

    /// A run was deleted.
    pub fn run_deleted(&self, group: &str, request_id: &str, deleted: &DeletedRun) -> AuditRecord {
        self.record(
            "run_deleted",
            &format!("{group}/{request_id}"),
            Some(group),
            json!({
                "index_entries_removed": deleted.indexed,
                "objects_removed": deleted.objects,
            }),
        )
    }

    /// A run was deleted because its retention ran out.
    pub fn run_expired(&self, group: &str, request_id: &str, filed_at: &str) -> AuditRecord {
        self.record(
            "run_expired",
            &format!("{group}/{request_id}"),
            Some(group),
            json!({"filed_at": filed_at}),
        )
    }

    /// A retention rule was set (`days` is `Some`) or removed, for `group` (the default
    /// when `None`).
    pub fn retention_changed(
        &self,
        group: Option<&str>,
        before: Option<u32>,
        days: Option<u32>,
    ) -> AuditRecord {
        self.record(
            "retention_changed",
            group.unwrap_or("default"),
            group,
            json!({"days": days, "before": before}),
        )
    }

    /// The index was changed by `fsck --repair` (`action` `index_repaired`) or `reindex`
    /// (`index_rebuilt`), with what it did (counts, never a document).
    pub fn index_changed(&self, action: &str, details: serde_json::Value) -> AuditRecord {
        self.record(action, "index", None, details)
    }

    /// A user was saved: added when `before` is `None`, changed otherwise (role, groups,
    /// and whether the password changed: never the password or a hash).
    pub fn user_saved(&self, before: Option<&UserRecord>, after: &UserRecord) -> AuditRecord {
        match before {
            None => self.record(
                "user_added",
                &after.name,
                None,
                json!({"role": after.role, "groups": after.groups}),
            ),
            Some(before) => self.record(
                "user_changed",
                &after.name,
                None,
                json!({
                    "role": after.role,
                    "groups": after.groups,
                    "before": {"role": before.role, "groups": before.groups},
                    "password_changed": before.password_hash != after.password_hash,
                }),
            ),
        }
    }

    /// A user was removed.
    pub fn user_removed(&self, removed: &UserRecord) -> AuditRecord {
        self.record(
            "user_removed",
            &removed.name,
            None,
            json!({"role": removed.role, "groups": removed.groups}),
        )
    }
}

/// The account running this process: `$USER` or `$LOGNAME`, else its uid.
fn account_name() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| format!("uid {}", rustix::process::getuid().as_raw()))
}

/// This host's name (`uname -n`).
fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}
