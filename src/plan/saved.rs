//! Saved plans (`plan --out FILE`, `apply --plan FILE`) and the staleness check.
//!
//! A saved plan records the spec digest and, per observed resource, a fingerprint and the
//! observed state. Applying it re-observes; if the spec or any resource changed since, apply
//! refuses and names each resource that changed and how.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::model::{LogicalId, Observed};

/// The current saved-plan format.
pub const FORMAT_VERSION: u32 = 1;

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
    /// Records a plan for saving; `rendered` is its JSON rendering.
    #[must_use]
    pub fn from_plan(plan: &Plan, rendered: serde_json::Value) -> SavedPlan {
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
        }
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

/// Compares a saved plan with a fresh one; empty when the saved plan is still valid.
#[must_use]
pub fn staleness(saved: &SavedPlan, fresh: &Plan) -> Vec<StaleResource> {
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
