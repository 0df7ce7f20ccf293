//! The drift notice: when change control forbids a scheduled repair, `reconcile` publishes what
//! drifted to the environment's operations topic instead of repairing it.

use super::Session;
use crate::plan::Plan;

/// Publishes a drift summary to the environment's operations topic; the JSON note of what
/// happened (`{"topic", "message_id"}` or `{"error"}`).
pub async fn notify(session: &Session, plan: &Plan, drifted: &[String]) -> serde_json::Value {
    let topic = crate::model::LogicalId::new(crate::modules::OPS_TOPIC);
    let Some(arn) = plan
        .observation
        .found
        .get(&topic)
        .and_then(|observed| observed.outputs.get("arn"))
    else {
        return serde_json::json!({"error": format!("the operations topic ({topic}) does not exist: nothing published")});
    };
    let lines: Vec<String> = plan
        .changes
        .iter()
        .filter(|change| change.action.is_change())
        .map(|change| {
            let attributes: Vec<&str> = change
                .attributes
                .iter()
                .map(|attribute| attribute.name.as_str())
                .collect();
            format!(
                "- {} ({} {}): {} {}",
                change.id,
                change.kind,
                change.name,
                change.action.name(),
                attributes.join(", ")
            )
        })
        .collect();
    let target = &session.target;
    let message = format!(
        "nc-provision found drift in {} ({}, account {}) and repaired nothing: change control forbids scheduled repair.\n\n{}\n\nFix it through plan -> approve -> apply:\n  nc-provision plan --env {} --out {}.plan",
        target.env,
        target.region,
        target.account_id,
        lines.join("\n"),
        target.env,
        target.env
    );
    let subject = format!(
        "nc-provision: drift in {} ({} resources)",
        target.env,
        drifted.len()
    );
    match crate::providers::notify::publish(&session.aws, arn, &subject, &message).await {
        Ok(id) => serde_json::json!({"topic": arn, "message_id": id}),
        Err(error) => serde_json::json!({"topic": arn, "error": error.to_string()}),
    }
}
