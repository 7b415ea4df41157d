//! `major.minor` of a cluster version, the one rule both sides use.
//!
//! The collector writes `major_version` into a document (from `/version` or OpenShift's
//! release) and the service derives it for its run index when a sender left it out; a filter
//! on `major_version` only finds every run when both derive it the same way.

/// The first two numbers of a cluster version: `4.18.0-0.nightly-…` → `4.18`, `1.31+` →
/// `1.31`, `v1.31.4` → `v1.31`, `4.19` → `4.19`.
///
/// The text is trimmed, the major part is kept as written (a `v` prefix stays), and the minor
/// part is cut after its leading digits (`31+` → `31`, `18-rc` → `18`). A version without a
/// second part, or whose second part starts with no digit, gives its first part alone
/// (`4`, `4.x` → `4`); one whose first or second part is empty is returned trimmed, as it
/// was (`""`, `.5`, `4..1`).
pub fn major_minor(version: &str) -> String {
    let version = version.trim();
    let mut parts = version.splitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) if !major.is_empty() && !minor.is_empty() => {
            let digits = minor.len() - minor.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                major.to_owned()
            } else {
                format!("{major}.{}", &minor[..digits])
            }
        }
        _ => version.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::major_minor;

    /// The collector's cases: `/version`'s fields joined with a dot, and OpenShift releases.
    #[test]
    fn the_collectors_versions_become_major_dot_minor() {
        assert_eq!(major_minor("1.31+"), "1.31");
        assert_eq!(major_minor("1.17"), "1.17");
        assert_eq!(major_minor("4.18.0-0.nightly-2025-03-13-035622"), "4.18");
        assert_eq!(major_minor("4.4.0-0.nightly-2020-03-18-092817"), "4.4");
        assert_eq!(major_minor("4.9.1"), "4.9");
    }

    /// The service's cases: what a sender may write in `cluster_version`.
    #[test]
    fn the_services_versions_become_major_dot_minor() {
        assert_eq!(major_minor("4.18.0-0.nightly-2025-03-13-035622"), "4.18");
        assert_eq!(major_minor("v1.31.4"), "v1.31");
        assert_eq!(major_minor("4.19"), "4.19");
        assert_eq!(major_minor(""), "");
    }

    #[test]
    fn odd_versions_keep_what_they_have() {
        assert_eq!(major_minor(" 4.18.3 "), "4.18");
        assert_eq!(major_minor("4.18-rc.1"), "4.18");
        assert_eq!(major_minor("4"), "4");
        assert_eq!(major_minor("4.x.1"), "4");
        assert_eq!(major_minor("4..1"), "4..1");
        assert_eq!(major_minor(".5"), ".5");
    }

    /// `major_version_of` as `crates/api/src/store/mod.rs` had it when this function replaced
    /// it, kept here so the property below shows the switch changes no stored value.
    fn service_rule_before_the_move(cluster_version: &str) -> String {
        let mut parts = cluster_version.trim().splitn(3, '.');
        match (parts.next(), parts.next()) {
            (Some(major), Some(minor)) if !major.is_empty() && !minor.is_empty() => {
                let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
                if minor.is_empty() {
                    major.to_owned()
                } else {
                    format!("{major}.{minor}")
                }
            }
            _ => cluster_version.trim().to_owned(),
        }
    }

    proptest::proptest! {
        /// The service's run index keeps the values it derived before.
        #[test]
        fn major_minor_is_the_services_rule(version in "[v0-9.+ -]{0,12}|\\PC{0,8}") {
            proptest::prop_assert_eq!(major_minor(&version), service_rule_before_the_move(&version));
        }

        /// The result is always the start of the trimmed version: nothing is invented, so
        /// the collector's and the service's values can only differ where their inputs do.
        #[test]
        fn major_minor_is_a_prefix_of_the_version(version in "[v0-9.+-]{0,12}|\\PC{0,8}") {
            let derived = major_minor(&version);
            proptest::prop_assert!(version.trim().starts_with(&derived), "{:?} -> {:?}", version, derived);
        }
    }
}
