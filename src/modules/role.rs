//! The IAM roles that modules make for an AWS service to assume (S3 replication, VPC flow
//! logs, AWS Backup, CloudTrail and AWS Config): one builder of the role and its policies, so
//! each module writes only its trust condition, its permissions and its description. Like
//! [`super::addr`], this module is shared by the others and imports none of them.

use serde_json::json;

use super::addr;
use crate::model::{Kind, Resource, Value};

/// The trust policy letting `service` (its principal, e.g. `s3.amazonaws.com`) assume the
/// role, under `condition` when there is one (e.g. only for this account).
#[must_use]
pub(super) fn trust(service: &str, condition: Option<serde_json::Value>) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole"
    });
    if let (Some(condition), Some(fields)) = (condition, statement.as_object_mut()) {
        fields.insert("Condition".to_string(), condition);
    }
    Value::Policy(json!({"Version": "2012-10-17", "Statement": [statement]}))
}

/// A service role `name` under the tool's path, trusted as `trust` says, with no boundary,
/// no managed and no inline policies yet, and the one-hour session; its path can change only
/// by replacing it.
#[must_use]
pub(super) fn service_role(id: &str, name: impl Into<String>, trust: Value) -> Resource {
    Resource::new(id, Kind::IamRole, name)
        .prop("path", addr::IAM_PATH)
        .prop("assume_role_policy", trust)
        .prop("max_session_seconds", 3600)
        .prop("permissions_boundary", "")
        .prop("managed_policies", Value::List(Vec::new()))
        .prop("inline_policy_names", Value::List(Vec::new()))
        .replace_on(&["path"])
}

/// `role` with one inline policy, `name`, of `document`.
#[must_use]
pub(super) fn with_inline_policy(
    role: Resource,
    name: &str,
    document: serde_json::Value,
) -> Resource {
    role.prop("inline_policy_names", Value::List(vec![Value::str(name)]))
        .prop(&format!("inline_policy.{name}"), Value::Policy(document))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_role_trusts_its_service_under_the_condition_and_holds_its_inline_policy() {
        let condition = json!({"StringEquals": {"aws:SourceAccount": "111122223333"}});
        let role = service_role("r", "nc-stg-r", trust("s3.amazonaws.com", Some(condition)));
        let role = with_inline_policy(role, "p", json!({"Statement": []}));
        let expected = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}
            }]
        });
        assert_eq!(role.props["assume_role_policy"], Value::Policy(expected));
        let names = &role.props["inline_policy_names"];
        assert_eq!(names, &Value::List(vec![Value::str("p")]));
        assert!(role.props.contains_key("inline_policy.p"));
        assert_eq!(role.replace_on, ["path"]);
        let plain = trust("backup.amazonaws.com", None);
        let statement = &plain.as_policy().expect("a policy")["Statement"][0];
        assert!(statement.get("Condition").is_none());
    }
}
