//! The stable JSON document of `plan`, `drift` and `apply --format json` (see the README).

use crate::calls::CallStats;
use crate::plan::{AttrChange, Plan, ResourceChange};

/// Version of the JSON output format; bumped only on incompatible changes.
pub const JSON_FORMAT_VERSION: &str = "1";

/// The plan as JSON: target, changes with per-attribute before/after, `summary`, `api_calls`.
#[must_use]
pub fn plan_json(plan: &Plan, calls: &CallStats) -> serde_json::Value {
    serde_json::json!({
        "format_version": JSON_FORMAT_VERSION,
        "mode": plan.mode,
        "env": plan.target.env,
        "region": plan.target.region,
        "account_id": plan.target.account_id,
        "spec_digest": plan.spec_digest,
        "changes": plan.changes.iter().map(change_json).collect::<Vec<_>>(),
        "has_changes": plan.has_changes(),
        "risk": plan.risk(),
        "risk_counts": plan.risk_counts().iter().map(|(class, count)| (class.name().to_string(), serde_json::json!(count))).collect::<serde_json::Map<_, _>>(),
        "all_checked": plan.not_checked().is_empty(),
        "not_checked": plan.not_checked().iter().map(|change| serde_json::json!({
            "id": change.id,
            "kind": change.kind,
            "name": change.name,
            "reason": change.reason,
        })).collect::<Vec<_>>(),
        "summary": plan.summary(),
        "api_calls": calls.to_json(),
    })
}

fn change_json(change: &ResourceChange) -> serde_json::Value {
    serde_json::json!({
        "id": change.id,
        "kind": change.kind,
        "name": change.name,
        "action": change.action,
        "risk": crate::plan::risk_of(change),
        "reason": change.reason,
        "global": change.global,
        "depends_on": change.depends_on,
        "causes": change.causes,
        "attributes": change.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
    })
}

fn attribute_json(attribute: &AttrChange) -> serde_json::Value {
    serde_json::json!({
        "name": attribute.name,
        "before": attribute.before.as_ref().map(crate::model::Value::to_json),
        "after": attribute.after.as_ref().map(crate::model::Value::to_json),
        "after_unknown": attribute.after.as_ref().is_some_and(crate::model::Value::is_unknown),
        "forces_replace": attribute.forces_replace,
    })
}
