//! Saved plans (`plan --out FILE`, `apply --plan FILE`) and the staleness check.
//!
//! A saved plan records the spec digest, per observed resource a fingerprint and the observed
//! state, the planned action of every resource, the tool version and the flags that shaped it
//! (`--adopt`, `--allow-destroy`). Applying it re-observes; if the spec, any resource, any
//! planned action, the version or the flags differ, apply refuses and names each difference.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Action, Plan, RiskClass};
use crate::model::{LogicalId, Observed};

/// The current saved-plan format.
pub const FORMAT_VERSION: u32 = 2;

/// The version of nc-provision that makes and applies plans.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The flags that shape a plan; a saved plan applies only with the same ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFlags {
    /// `--adopt`: same-named resources that are not ours are planned as adopt.
    pub adopt: bool,
    /// `--allow-destroy`: deletions and replacements are carried out.
    pub allow_destroy: bool,
}

/// What a saved plan file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Saved-plan format version.
    pub format_version: u32,
    /// Environment.
    pub env: String,
    /// Region.
    pub region: String,
    /// Account id.
    pub account_id: String,
    /// `sha256:` digest of the spec the plan was made from.
    pub spec_digest: String,
    /// Per observed resource: its fingerprint and state.
    pub observed: BTreeMap<LogicalId, SavedObservation>,
    /// The plan as `plan --format json` shows it, for review.
    pub plan: serde_json::Value,
    /// The nc-provision version that made it.
    #[serde(default)]
    pub tool_version: String,
    /// The flags it was made with.
    #[serde(default)]
    pub flags: PlanFlags,
    /// The planned action of every resource.
    #[serde(default)]
    pub actions: BTreeMap<LogicalId, Action>,
    /// The highest risk class of the plan's changes (`None`: nothing changes).
    #[serde(default)]
    pub risk: Option<RiskClass>,
    /// When the plan was made (RFC 3339, nanoseconds): every plan is its own artifact, so
    /// approvals of one plan never carry over to another, even one with the same changes.
    #[serde(default)]
    pub created_at: String,
    /// The modules digest of the spec run by the build that made the plan (what the "validated
    /// in stg first" rule checks; `control::modules_digest`); empty when not recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub modules_digest: String,
}

/// One resource's state at plan time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedObservation {
    /// Digest of `state`.
    pub fingerprint: String,
    /// The observed state.
    pub state: serde_json::Value,
}

impl SavedPlan {
    /// Records a plan made with `flags` for saving; `rendered` is its JSON rendering.
    #[must_use]
    pub fn from_plan(plan: &Plan, rendered: serde_json::Value, flags: PlanFlags) -> SavedPlan {
        let observed = all_observed(plan)
            .map(|observed| {
                (
                    observed.id.clone(),
                    SavedObservation {
                        fingerprint: observed.fingerprint(),
                        state: observed.to_json(),
                    },
                )
            })
            .collect();
        SavedPlan {
            format_version: FORMAT_VERSION,
            env: plan.target.env.clone(),
            region: plan.target.region.clone(),
            account_id: plan.target.account_id.clone(),
            spec_digest: plan.spec_digest.clone(),
            observed,
            plan: rendered,
            tool_version: TOOL_VERSION.to_string(),
            flags,
            actions: plan
                .changes
                .iter()
                .map(|change| (change.id.clone(), change.action))
                .collect(),
            risk: plan.risk(),
            created_at: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
            modules_digest: String::new(),
        }
    }
}

impl SavedPlan {
    /// The `sha256:` digest of the whole saved plan: what approvals approve. Any change to the
    /// plan (a new plan made after the account or the spec moved) has another digest.
    #[must_use]
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
    }
}

fn all_observed(plan: &Plan) -> impl Iterator<Item = &Observed> {
    plan.observation
        .found
        .values()
        .chain(&plan.observation.orphans)
}

/// One way in which the account or spec moved on since a plan was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleResource {
    /// The resource (or `spec` / `target` for the plan as a whole).
    pub id: String,
    /// How it changed.
    pub how: String,
}

/// Compares a saved plan with a fresh one made with `flags`; empty when the saved plan is
/// still valid.
#[must_use]
pub fn staleness(saved: &SavedPlan, fresh: &Plan, flags: PlanFlags) -> Vec<StaleResource> {
    let mut stale = Vec::new();
    if saved.format_version != FORMAT_VERSION {
        stale.push(StaleResource {
            id: "plan".into(),
            how: format!(
                "saved with format {} but this nc-provision reads format {FORMAT_VERSION}",
                saved.format_version
            ),
        });
    }
    if saved.tool_version != TOOL_VERSION {
        stale.push(StaleResource {
            id: "plan".into(),
            how: format!(
                "made by nc-provision {} but this is {TOOL_VERSION}",
                if saved.tool_version.is_empty() {
                    "of an unknown version"
                } else {
                    &saved.tool_version
                }
            ),
        });
    }
    for (flag, then, now) in [
        ("--adopt", saved.flags.adopt, flags.adopt),
        (
            "--allow-destroy",
            saved.flags.allow_destroy,
            flags.allow_destroy,
        ),
    ] {
        if then != now {
            let given = |on: bool| if on { "with" } else { "without" };
            stale.push(StaleResource {
                id: "flags".into(),
                how: format!(
                    "planned {} {flag} but applied {} it",
                    given(then),
                    given(now)
                ),
            });
        }
    }
    stale.extend(moved_actions(saved, fresh));
    for (what, before, now) in [
        ("environment", &saved.env, &fresh.target.env),
        ("region", &saved.region, &fresh.target.region),
        ("account", &saved.account_id, &fresh.target.account_id),
    ] {
        if before != now {
            stale.push(StaleResource {
                id: "target".into(),
                how: format!("{what} was {before}, is now {now}"),
            });
        }
    }
    if saved.spec_digest != fresh.spec_digest {
        stale.push(StaleResource {
            id: "spec".into(),
            how: format!(
                "the spec changed since the plan was saved ({} -> {})",
                short(&saved.spec_digest),
                short(&fresh.spec_digest)
            ),
        });
    }
    let now: BTreeMap<&LogicalId, &Observed> = all_observed(fresh)
        .map(|observed| (&observed.id, observed))
        .collect();
    for (id, before) in &saved.observed {
        match now.get(id) {
            None => stale.push(StaleResource {
                id: id.to_string(),
                how: "existed when planned and is gone now".into(),
            }),
            Some(observed) if observed.fingerprint() != before.fingerprint => {
                stale.push(StaleResource {
                    id: id.to_string(),
                    how: describe_difference(&before.state, &observed.to_json()),
                });
            }
            Some(_) => {}
        }
    }
    for id in now.keys() {
        if !saved.observed.contains_key(*id) {
            stale.push(StaleResource {
                id: id.to_string(),
                how: "did not exist when planned and exists now".into(),
            });
        }
    }
    stale
}

/// Resources whose planned action differs between the saved plan and the fresh one.
fn moved_actions(saved: &SavedPlan, fresh: &Plan) -> Vec<StaleResource> {
    let mut moved = Vec::new();
    for change in &fresh.changes {
        match saved.actions.get(&change.id) {
            Some(then) if *then == change.action => {}
            Some(then) => moved.push(StaleResource {
                id: change.id.to_string(),
                how: format!(
                    "was planned as {} and would now be {}",
                    then.name(),
                    change.action.name()
                ),
            }),
            None => moved.push(StaleResource {
                id: change.id.to_string(),
                how: format!(
                    "is not in the saved plan and would now be {}",
                    change.action.name()
                ),
            }),
        }
    }
    for (id, then) in &saved.actions {
        if !fresh.changes.iter().any(|change| &change.id == id) {
            moved.push(StaleResource {
                id: id.to_string(),
                how: format!(
                    "was planned as {} and is no longer in the plan",
                    then.name()
                ),
            });
        }
    }
    moved
}

fn short(digest: &str) -> &str {
    let end = digest.len().min("sha256:".len() + 12);
    digest.get(..end).unwrap_or(digest)
}

/// Names the attributes (props, outputs, owner) that differ between two observed states.
fn describe_difference(before: &serde_json::Value, now: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if before.get("owner") != now.get("owner") {
        parts.push("ownership tags changed".to_string());
    }
    if before.get("physical_id") != now.get("physical_id") {
        parts.push(format!(
            "physical id {} -> {}",
            before
                .get("physical_id")
                .unwrap_or(&serde_json::Value::Null),
            now.get("physical_id").unwrap_or(&serde_json::Value::Null)
        ));
    }
    let empty = serde_json::Map::new();
    let before_props = before
        .get("props")
        .and_then(|p| p.as_object())
        .unwrap_or(&empty);
    let now_props = now
        .get("props")
        .and_then(|p| p.as_object())
        .unwrap_or(&empty);
    let names: std::collections::BTreeSet<&String> =
        before_props.keys().chain(now_props.keys()).collect();
    for name in names {
        let old = before_props.get(name).unwrap_or(&serde_json::Value::Null);
        let new = now_props.get(name).unwrap_or(&serde_json::Value::Null);
        if old != new {
            parts.push(format!("{name} changed from {old} to {new}"));
        }
    }
    if parts.is_empty() {
        parts.push("outputs changed".into());
    }
    parts.join("; ")
}
