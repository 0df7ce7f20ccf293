//! Tests of the risk table: one case per rule, in the order the rules are tried.

use super::*;
use crate::model::Kind;
use crate::model::LogicalId;

fn change(kind: Kind, action: Action, attributes: Vec<AttrChange>) -> ResourceChange {
    ResourceChange {
        id: LogicalId::new("x"),
        kind,
        name: "x".into(),
        action,
        reason: None,
        attributes,
        depends_on: Vec::new(),
        live_references: Vec::new(),
        causes: Vec::new(),
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
fn update(kind: Kind, name: &str, before: Value, after: Value) -> ResourceChange {
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
            change(Kind::Vpc, Action::Replace, vec![]),
            RiskClass::High,
            "destroy",
        ),
        (
            "a deletion",
            change(Kind::SnsTopic, Action::Delete, vec![]),
            RiskClass::High,
            "destroy",
        ),
        (
            "adoption",
            change(Kind::ConfigRecorder, Action::Adopt, vec![]),
            RiskClass::High,
            "adopt",
        ),
        (
            "a new role",
            change(Kind::IamRole, Action::Create, vec![]),
            RiskClass::High,
            "iam-widening",
        ),
        (
            "a permission added",
            update(
                Kind::IamPolicy,
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
                Kind::IamPolicy,
                "document",
                policy(serde_json::json!([allow_get.clone(), allow_put.clone()])),
                policy(serde_json::json!([allow_get.clone()])),
            ),
            RiskClass::Medium,
            "iam-kms-network",
        ),
        (
            "a key policy",
            change(Kind::KmsKeyPolicy, Action::Update, vec![]),
            RiskClass::High,
            "key-policy",
        ),
        (
            "a trail stopped",
            update(
                Kind::CloudTrailTrail,
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
                Kind::S3Bucket,
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
                Kind::S3Bucket,
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
                Kind::S3AccountPublicAccessBlock,
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
                Kind::Subnet,
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
                Kind::LogGroup,
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
                Kind::LogGroup,
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
                Kind::CloudWatchAlarm,
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
                Kind::RouteTable,
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
                Kind::S3Bucket,
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
    assert_eq!(classify(&change(Kind::Vpc, Action::NoOp, vec![])), None);
    assert!(RULES.iter().all(|rule| !rule.when.is_empty()));
}
