//! DR readiness: what a plan of the DR region (and, when it could be read, of the primary
//! region) says about a rebuild, as a list of checks. Pure: it reads plans, never AWS.
//!
//! Each desired resource of the DR region is one check of its component (keys, data stores,
//! network, observability; global IAM is verified, never written, there). A resource that is in
//! sync is ready; one a rebuild would create is pending (a drill without `--rebuild` expects
//! those); one that differs, is in conflict (global IAM missing: the primary apply has not made
//! it) or failed is not ready; one whose API the endpoint does not serve is *not checked* and is
//! never counted as ready. The data protection that keeps the standby current (S3 replication
//! with Replication Time Control, the table's global replica, backups and their DR copies, the
//! standby key and buckets) lives in the primary region: it is checked from the primary's plan
//! when that region could be read, and listed as not checked otherwise (a rebuild never calls
//! the failed region).

use serde::Serialize;

use super::{Action, Plan, ResourceChange};

/// The state of one readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Live and desired agree.
    Ready,
    /// Missing; a rebuild creates it.
    Pending,
    /// Differs, conflicts or failed: a person must act.
    NotReady,
    /// Could not be read here: never counted as ready.
    NotChecked,
}

impl CheckState {
    /// The word the human report shows.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            CheckState::Ready => "ready",
            CheckState::Pending => "pending",
            CheckState::NotReady => "NOT READY",
            CheckState::NotChecked => "NOT CHECKED",
        }
    }
}

/// One readiness check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The component it belongs to (`keys`, `data stores`, `network`, `data protection`...).
    pub component: &'static str,
    /// The logical id checked (or a pseudo id for a whole region).
    pub id: String,
    /// Its physical name.
    pub name: String,
    /// The outcome.
    pub state: CheckState,
    /// Why, for people.
    pub detail: String,
}

/// Every check of a DR region's plan: one per desired resource (orphans and retained resources
/// are not part of readiness).
#[must_use]
pub fn region_checks(plan: &Plan) -> Vec<Check> {
    plan.changes
        .iter()
        .filter(|change| !matches!(change.action, Action::Delete | Action::Retain))
        .map(|change| check(component(change), change))
        .collect()
}

/// The data-protection checks of the primary region's plan: every standby, replication,
/// replica and backup resource; or, when the primary could not be read, one not-checked entry
/// saying why.
#[must_use]
pub fn protection_checks(primary: Result<&Plan, &str>) -> Vec<Check> {
    match primary {
        Ok(plan) => plan
            .changes
            .iter()
            .filter(|change| protects_data(change))
            .filter(|change| !matches!(change.action, Action::Delete | Action::Retain))
            .map(|change| check("data protection", change))
            .collect(),
        Err(reason) => vec![Check {
            component: "data protection",
            id: "primary-region".to_string(),
            name: String::new(),
            state: CheckState::NotChecked,
            detail: format!("replication and backups are read in the primary region: {reason}"),
        }],
    }
}

/// Counts of checks by state.
#[must_use]
pub fn counts<'a>(
    checks: impl IntoIterator<Item = &'a Check>,
) -> std::collections::BTreeMap<CheckState, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for check in checks {
        *counts.entry(check.state).or_insert(0) += 1;
    }
    counts
}

/// Whether nothing needs a person: no check is not ready (pending and not-checked ones are
/// listed, not hidden).
#[must_use]
pub fn nothing_blocks(checks: &[Check]) -> bool {
    checks
        .iter()
        .all(|check| check.state != CheckState::NotReady)
}

/// Whether a primary-region change keeps the standby current: standby resources (`dr.*`),
/// replication rules, the table and its replica, backups.
fn protects_data(change: &ResourceChange) -> bool {
    let id = change.id.as_str();
    id.starts_with(crate::model::STANDBY_PREFIX)
        || id.starts_with("data.replication")
        || id.starts_with("data.table")
        || id.starts_with("backup.")
        || id.contains(".backup")
}

fn component(change: &ResourceChange) -> &'static str {
    if change.global {
        return "global IAM (verified)";
    }
    match change.id.as_str().split('.').next().unwrap_or_default() {
        "kms" => "keys",
        "data" | "backup" => "data stores",
        "vpc" => "network",
        "iam" => "identity",
        "observability" => "observability",
        _ => "other",
    }
}

fn check(component: &'static str, change: &ResourceChange) -> Check {
    let (state, detail) = match change.action {
        Action::NoOp if change.global => (
            CheckState::Ready,
            "present, as the primary apply made it".to_string(),
        ),
        Action::NoOp => (CheckState::Ready, "in sync".to_string()),
        Action::Create => (
            CheckState::Pending,
            "missing: a rebuild creates it".to_string(),
        ),
        Action::Skip => (
            CheckState::NotChecked,
            change
                .reason
                .clone()
                .unwrap_or_else(|| "its API is not available at this endpoint".to_string()),
        ),
        Action::Update | Action::Replace | Action::Adopt => (
            CheckState::NotReady,
            format!(
                "differs: {}",
                change
                    .attributes
                    .iter()
                    .map(|attribute| attribute.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Action::Conflict | Action::Delete | Action::Retain => (
            CheckState::NotReady,
            change
                .reason
                .clone()
                .unwrap_or_else(|| "in conflict".to_string()),
        ),
    };
    Check {
        component,
        id: change.id.to_string(),
        name: change.name.clone(),
        state,
        detail,
    }
}

/// The recovery-point statement for the spec's data protection.
#[must_use]
pub fn rpo_statement(spec: &crate::spec::Spec) -> String {
    if spec.data.replicate_to_dr_region {
        "RPO 15 minutes: S3 Replication Time Control replicates 99.99% of new objects to the DR \
         buckets within 15 minutes; the documents table's global replica is asynchronous \
         (typically under a second behind)"
            .to_string()
    } else {
        "no replication to the DR region is configured (data.replicate_to_dr_region): the DR \
         region starts without the primary's data"
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, LogicalId, Observation};
    use crate::plan::{AttrChange, PlanMode, Target};

    fn change(id: &str, action: Action, global: bool) -> ResourceChange {
        ResourceChange {
            id: LogicalId::new(id),
            kind: Kind::S3Bucket,
            name: format!("name-of-{id}"),
            action,
            reason: None,
            attributes: Vec::new(),
            depends_on: Vec::new(),
            live_references: Vec::new(),
            causes: Vec::new(),
            global,
        }
    }

    fn plan(changes: Vec<ResourceChange>) -> Plan {
        Plan {
            target: Target {
                env: "prod".into(),
                region: "ca-central-1".into(),
                account_id: "123456789012".into(),
                primary_region: false,
                availability_zones: Vec::new(),
            },
            spec_digest: String::new(),
            mode: PlanMode::Normal,
            changes,
            observation: Observation::default(),
        }
    }

    #[test]
    fn each_action_has_its_state_and_only_not_ready_blocks() {
        let mut differs = change("data.bucket.raw", Action::Update, false);
        differs.attributes.push(AttrChange {
            name: "versioning".into(),
            before: None,
            after: None,
            forces_replace: false,
        });
        let checks = region_checks(&plan(vec![
            change("kms.key.data", Action::NoOp, false),
            change("vpc.vpc", Action::Create, false),
            change("iam.role.x", Action::NoOp, true),
            change("observability.topic.ops", Action::Skip, false),
            change("vpc.old", Action::Delete, false),
        ]));
        let states: Vec<(&str, CheckState)> =
            checks.iter().map(|c| (c.component, c.state)).collect();
        assert_eq!(
            states,
            [
                ("keys", CheckState::Ready),
                ("network", CheckState::Pending),
                ("global IAM (verified)", CheckState::Ready),
                ("observability", CheckState::NotChecked),
            ]
        );
        assert!(nothing_blocks(&checks));
        let blocked = region_checks(&plan(vec![differs]));
        assert_eq!(blocked[0].state, CheckState::NotReady);
        assert_eq!(blocked[0].detail, "differs: versioning");
        assert!(!nothing_blocks(&blocked));
    }

    #[test]
    fn data_protection_is_read_from_the_primary_or_listed_as_not_checked() {
        let primary = plan(vec![
            change("dr.data.bucket.raw", Action::NoOp, false),
            change("data.replication.raw", Action::Create, false),
            change("vpc.vpc", Action::Update, false),
        ]);
        let checks = protection_checks(Ok(&primary));
        let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["dr.data.bucket.raw", "data.replication.raw"]);
        assert_eq!(checks[1].state, CheckState::Pending);
        let unread = protection_checks(Err("us-east-1 did not answer"));
        assert_eq!(unread.len(), 1);
        assert_eq!(unread[0].state, CheckState::NotChecked);
        assert!(unread[0].detail.contains("us-east-1 did not answer"));
    }
}
