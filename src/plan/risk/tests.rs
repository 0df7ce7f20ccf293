//! Tests of the risk table: one case per rule, in the order the rules are tried.

use super::*;
use crate::model::LogicalId;

fn change(kind: &'static str, action: Action, attributes: Vec<AttrChange>) -> ResourceChange {
    ResourceChange {
        id: LogicalId::new("x"),
        kind,
        name: "x".into(),
        action,
        reason: None,
        attributes,
        depends_on: Vec::new(),
        live_references: Vec::new(),
        global: false,
    }
}

fn attr(name: &str, before: Option<Value>, after: Option<Value>) -> AttrChange {
    AttrChange {
        name: name.into(),
        before,
        after,
        forces_replace: false,
    }
}

/// An update of `kind` that changes one attribute from `before` to `after`.
fn update(kind: &'static str, name: &str, before: Value, after: Value) -> ResourceChange {
    change(
        kind,
        Action::Update,
        vec![attr(name, Some(before), Some(after))],
    )
}

fn policy(statements: serde_json::Value) -> Value {
    Value::Policy(serde_json::json!({"Version": "2012-10-17", "Statement": statements}))
}

#[test]
fn classifies_by_the_first_matching_rule() {
    let allow_get =
        serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
    let allow_put =
        serde_json::json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"});
    let tls = serde_json::json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
    let cases = [
        (
            "a replacement",
            change("vpc", Action::Replace, vec![]),
            RiskClass::High,
            "destroy",
        ),
        (
            "a deletion",
            change("sns_topic", Action::Delete, vec![]),
            RiskClass::High,
            "destroy",
        ),
        (
            "adoption",
            change("config_recorder", Action::Adopt, vec![]),
            RiskClass::High,
            "adopt",
        ),
        (
            "a new role",
            change("iam_role", Action::Create, vec![]),
            RiskClass::High,
            "iam-widening",
        ),
        (
            "a permission added",
            update(
                "iam_policy",
                "document",
                policy(serde_json::json!([allow_get.clone()])),
                policy(serde_json::json!([allow_get.clone(), allow_put.clone()])),
            ),
            RiskClass::High,
            "iam-widening",
        ),
        (
            "a permission removed",
            update(
                "iam_policy",
                "document",
                policy(serde_json::json!([allow_get.clone(), allow_put.clone()])),
                policy(serde_json::json!([allow_get.clone()])),
            ),
            RiskClass::Medium,
            "iam-kms-network",
        ),
        (
            "a key policy",
            change("kms_key_policy", Action::Update, vec![]),
            RiskClass::High,
            "key-policy",
        ),
        (
            "a trail stopped",
            update(
                "cloudtrail_trail",
                "logging",
                Value::Bool(true),
                Value::Bool(false),
            ),
            RiskClass::High,
            "coverage-reduction",
        ),
        (
            "object lock shortened",
            update(
                "s3_bucket",
                "object_lock_years",
                Value::Int(7),
                Value::Int(5),
            ),
            RiskClass::High,
            "coverage-reduction",
        ),
        (
            "TLS-only deny dropped",
            update(
                "s3_bucket",
                "policy",
                policy(serde_json::json!([tls.clone()])),
                policy(serde_json::json!([allow_get.clone()])),
            ),
            RiskClass::High,
            "public-or-tls-relaxation",
        ),
        (
            "public access unblocked",
            update(
                "s3_account_public_access_block",
                "block_public_policy",
                Value::Bool(true),
                Value::Bool(false),
            ),
            RiskClass::High,
            "public-or-tls-relaxation",
        ),
        (
            "tags only",
            update(
                "subnet",
                "tags",
                Value::Map(Default::default()),
                Value::Map(Default::default()),
            ),
            RiskClass::Low,
            "tags-only",
        ),
        (
            "a longer retention",
            update(
                "log_group",
                "retention_days",
                Value::Int(30),
                Value::Int(90),
            ),
            RiskClass::Low,
            "retention-increase",
        ),
        (
            "a shorter log retention",
            update(
                "log_group",
                "retention_days",
                Value::Int(90),
                Value::Int(30),
            ),
            RiskClass::High,
            "coverage-reduction",
        ),
        (
            "an alarm threshold",
            update(
                "cloudwatch_alarm",
                "threshold",
                Value::Int(1),
                Value::Int(5),
            ),
            RiskClass::Low,
            "alarm-threshold",
        ),
        (
            "a route table change",
            update(
                "route_table",
                "routes",
                Value::List(vec![]),
                Value::List(vec![Value::str("10.0.0.0/8 -> pcx-1")]),
            ),
            RiskClass::Medium,
            "iam-kms-network",
        ),
        (
            "versioning",
            update(
                "s3_bucket",
                "versioning",
                Value::str("Suspended"),
                Value::str("Enabled"),
            ),
            RiskClass::Medium,
            "other",
        ),
    ];
    for (reason, change, class, rule) in cases {
        let risk = classify(&change).expect("a change");
        assert_eq!((risk.class, risk.rule), (class, rule), "{reason}");
    }
    assert_eq!(classify(&change("vpc", Action::NoOp, vec![])), None);
    assert!(RULES.iter().all(|rule| !rule.when.is_empty()));
}
