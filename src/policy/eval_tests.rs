//! Table tests of the evaluator, one table per element and operator family, with the examples of
//! the IAM user guide (pages named on each test).

use serde_json::json;

use super::*;

const ACCOUNT: &str = "123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/nc/LambdaETLRole";

fn role() -> Principal {
    Principal::Aws(ROLE.to_string())
}

fn decide(policy: &Value, request: &Request) -> Decision {
    evaluate(policy, request).expect("a policy the evaluator models")
}

fn allowed(policy: &Value, request: &Request) -> bool {
    matches!(decide(policy, request), Decision::Allow { .. })
}

/// One statement `Allow` of `action` on `*` under `condition`.
fn with_condition(action: &str, condition: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "Tested", "Effect": "Allow", "Action": action, "Resource": "*",
        "Condition": condition
    }]})
}

/// Runs `(reason, request, expected allow)` rows against one policy.
fn table(policy: &Value, rows: &[(&str, Request, bool)]) {
    for (reason, request, expected) in rows {
        assert_eq!(
            allowed(policy, request),
            *expected,
            "{reason}: {request} → {:?}",
            decide(policy, request)
        );
    }
}

/// reference_policies_elements_condition_operators.html#Conditions_String: the
/// `aws:PrincipalTag/job-category` examples (StringEquals, StringNotEquals, StringLike,
/// IgnoreCase), keys case-insensitive, values case-sensitive.
#[test]
fn string_operators() {
    // One statement allowing the access key actions when `operator` holds for the principal's
    // `job-category` tag and `value`.
    let job_category = |operator: &str, value: Value| {
        with_condition(
            "iam:*AccessKey*",
            json!({operator: {"aws:PrincipalTag/job-category": value}}),
        )
    };
    let request = |value: Option<&str>| {
        let base = Request::new(role(), "iam:CreateAccessKey", "*");
        match value {
            Some(value) => base.with("aws:PrincipalTag/job-category", value),
            None => base,
        }
    };
    table(
        &job_category("StringEquals", json!("iamuser-admin")),
        &[
            ("equal", request(Some("iamuser-admin")), true),
            ("other value", request(Some("iamuser-read")), false),
            (
                "values are case-sensitive",
                request(Some("IAMUSER-ADMIN")),
                false,
            ),
            ("absent key: false", request(None), false),
            (
                "keys are case-insensitive",
                Request::new(role(), "iam:CreateAccessKey", "*")
                    .with("AWS:PRINCIPALTAG/JOB-CATEGORY", "iamuser-admin"),
                true,
            ),
        ],
    );
    table(
        &job_category("StringNotEquals", json!(["iamuser-admin", "iamuser-ops"])),
        &[
            ("neither value (NOR)", request(Some("iamuser-read")), true),
            ("one of the values", request(Some("iamuser-ops")), false),
            (
                "absent key: a negated operator is true",
                request(None),
                true,
            ),
        ],
    );
    table(
        &job_category("StringEqualsIgnoreCase", json!("IAMUser-Admin")),
        &[("case ignored", request(Some("iamuser-admin")), true)],
    );
    table(
        &job_category("StringLike", json!("iamuser-*")),
        &[
            ("wildcard", request(Some("iamuser-admin")), true),
            ("no match", request(Some("admin")), false),
        ],
    );
    table(
        &job_category("StringNotLike", json!("iamuser-?dmin")),
        &[
            ("? is one character", request(Some("iamuser-admin")), false),
            ("not like", request(Some("iamuser-read")), true),
        ],
    );
}

/// #Conditions_Numeric: `"NumericLessThanEquals": {"s3:max-keys": "10"}`.
#[test]
fn numeric_operators() {
    let request = |keys: &str| {
        Request::new(role(), "s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket")
            .with("s3:max-keys", keys)
    };
    // Each operator against the policy's 10, with the request's `s3:max-keys` on either side.
    let cases: [(&str, &[(&str, bool)]); 6] = [
        ("NumericLessThanEquals", &[("10", true), ("11", false)]),
        ("NumericLessThan", &[("10", false), ("9", true)]),
        ("NumericGreaterThan", &[("11", true)]),
        ("NumericGreaterThanEquals", &[("10", true), ("9", false)]),
        ("NumericEquals", &[("10.0", true), ("ten", false)]),
        ("NumericNotEquals", &[("10", false), ("12", true)]),
    ];
    for (operator, requests) in cases {
        let policy = with_condition("s3:ListBucket", json!({operator: {"s3:max-keys": "10"}}));
        for &(keys, expected) in requests {
            assert_eq!(
                allowed(&policy, &request(keys)),
                expected,
                "{operator} with {keys}"
            );
        }
    }
}

/// #Conditions_Boolean: the deny of requests without TLS, `{"Bool": {"aws:SecureTransport":
/// "false"}}` (also the S3 user guide's TLS-only bucket policy).
#[test]
fn bool_operator_and_explicit_deny() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::b/*"},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    ]});
    let get = || Request::new(role(), "s3:GetObject", "arn:aws:s3:::b/key");
    assert_eq!(
        decide(&policy, &get().with("aws:SecureTransport", "true")),
        Decision::Allow {
            statement: "\"Read\"".into()
        }
    );
    assert_eq!(
        decide(&policy, &get().with("aws:SecureTransport", "false")),
        Decision::Deny {
            statement: "\"DenyInsecureTransport\"".into()
        },
        "an explicit deny wins over the allow"
    );
    assert!(
        allowed(&policy, &get()),
        "an absent key makes the Bool deny's condition false"
    );
}

/// #Conditions_ARN: the SQS example `"ArnEquals": {"aws:SourceArn":
/// "arn:aws:sns:REGION:123456789012:TOPIC-ID"}`; each of the six parts matches on its own.
#[test]
fn arn_operators() {
    let request = |source: &str| {
        Request::new(
            Principal::Service("sns.amazonaws.com".into()),
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:123456789012:queue",
        )
        .with("aws:SourceArn", source)
    };
    let cases = [
        (
            "ArnEquals",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sns:us-east-1:123456789012:topic",
            true,
        ),
        (
            "ArnEquals",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sns:us-east-1:123456789012:other",
            false,
        ),
        (
            "ArnLike",
            "arn:aws:sns:*:123456789012:*",
            "arn:aws:sns:eu-west-1:123456789012:topic",
            true,
        ),
        (
            "ArnLike",
            "arn:aws:sns:*:123456789012:*",
            "arn:aws:sns:eu-west-1:999999999999:topic",
            false,
        ),
        (
            "ArnLike",
            "arn:aws:logs:us-east-1:123456789012:log-group:*",
            "arn:aws:logs:us-east-1:123456789012:log-group:/nc/stg/ops",
            true,
        ),
        (
            "ArnLike",
            "arn:aws:logs:us-east-1:*:log-group:*",
            "not-an-arn",
            false,
        ),
        (
            "ArnNotEquals",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sns:us-east-1:123456789012:other",
            true,
        ),
        (
            "ArnNotLike",
            "arn:aws:sns:*:123456789012:*",
            "arn:aws:sns:eu-west-1:123456789012:topic",
            false,
        ),
    ];
    for (operator, wanted, source, expected) in cases {
        let policy = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": "*", "Condition": {operator: {"aws:SourceArn": wanted}}}]});
        assert_eq!(
            allowed(&policy, &request(source)),
            expected,
            "{operator} {wanted} vs {source}"
        );
    }
}

/// #Conditions_IfExists: `"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*",
/// "m3.*"]}` holds when the key is absent and is checked when present. #Conditions_Null:
/// `"Null": {"aws:TokenIssueTime": "true"}` holds only when the key is absent.
#[test]
fn if_exists_and_null() {
    let policy = with_condition(
        "ec2:*",
        json!({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}),
    );
    let run = || Request::new(role(), "ec2:RunInstances", "*");
    table(
        &policy,
        &[
            ("absent: true", run(), true),
            ("t2.micro", run().with("ec2:InstanceType", "t2.micro"), true),
            (
                "m5.large",
                run().with("ec2:InstanceType", "m5.large"),
                false,
            ),
        ],
    );
    let null = with_condition("*", json!({"Null": {"aws:TokenIssueTime": "true"}}));
    table(
        &null,
        &[
            ("long-term credentials: absent", run(), true),
            (
                "temporary credentials: present",
                run().with("aws:TokenIssueTime", "2026-01-01T00:00:00Z"),
                false,
            ),
        ],
    );
    let present = with_condition("*", json!({"Null": {"aws:TokenIssueTime": "false"}}));
    assert!(allowed(
        &present,
        &run().with("aws:TokenIssueTime", "2026-01-01T00:00:00Z")
    ));
    assert!(!allowed(&present, &run()));
}

/// reference_policies_condition-single-vs-multi-valued-context-keys.html: the `aws:TagKeys`
/// examples. `ForAllValues:` every request value in the set (true when absent or empty);
/// `ForAnyValue:` at least one (false when absent).
#[test]
fn set_operators() {
    let tag = |keys: &[&str]| {
        Request::new(role(), "ec2:CreateTags", "*").with_values("aws:TagKeys", keys)
    };
    let all = with_condition(
        "ec2:CreateTags",
        json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}),
    );
    table(
        &all,
        &[
            (
                "both allowed keys",
                tag(&["environment", "cost-center"]),
                true,
            ),
            ("one allowed key", tag(&["environment"]), true),
            ("an extra key", tag(&["environment", "owner"]), false),
            ("no keys at all: true", tag(&[]), true),
        ],
    );
    let any = with_condition(
        "ec2:CreateTags",
        json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}),
    );
    table(
        &any,
        &[
            ("one of them", tag(&["owner", "environment"]), true),
            ("none of them", tag(&["owner"]), false),
            ("no keys: false", tag(&[]), false),
        ],
    );
    let kms = with_condition(
        "kms:Decrypt",
        json!({"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/nc-dp-data-stg"}}),
    );
    let decrypt = Request::new(role(), "kms:Decrypt", "*");
    assert!(allowed(
        &kms,
        &decrypt.with_values("kms:ResourceAliases", &["alias/x", "alias/nc-dp-data-stg"])
    ));
}

/// reference_policies_elements_action.html, _resource.html, _notaction.html,
/// _notresource.html: wildcards, case-insensitive actions, case-sensitive resources.
#[test]
fn action_and_resource_elements() {
    let policy = json!({"Statement": [
        {"Sid": "Keys", "Effect": "Allow", "Action": ["kms:GenerateDataKey*", "KMS:Describe*"],
         "Resource": "arn:aws:kms:*:123456789012:key/*"},
        {"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*",
         "NotResource": "arn:aws:s3:::secret/*"}
    ]});
    let key = "arn:aws:kms:us-east-1:123456789012:key/abc";
    table(
        &policy,
        &[
            (
                "wildcard action",
                Request::new(role(), "kms:GenerateDataKeyWithoutPlaintext", key),
                true,
            ),
            (
                "actions are case-insensitive",
                Request::new(role(), "kms:describekey", key),
                true,
            ),
            (
                "NotAction excludes",
                Request::new(role(), "iam:PassRole", "*"),
                false,
            ),
            (
                "NotResource excludes",
                Request::new(role(), "s3:GetObject", "arn:aws:s3:::secret/a"),
                false,
            ),
            (
                "NotResource admits the rest",
                Request::new(role(), "s3:GetObject", "arn:aws:s3:::public/a"),
                true,
            ),
            (
                "resources are case-sensitive",
                Request::new(
                    role(),
                    "iam:GetRole",
                    "ARN:AWS:KMS:us-east-1:123456789012:key/abc",
                ),
                false,
            ),
        ],
    );
}

/// reference_policies_elements_principal.html: AWS (ARN, account id, account root, `*`),
/// Service, Federated, NotPrincipal.
#[test]
fn principal_elements() {
    let statement = |principal: Value| {
        json!({"Statement": [{"Effect": "Allow", "Principal": principal,
                              "Action": "sts:AssumeRole"}]})
    };
    let assume = |principal: Principal| Request::new(principal, "sts:AssumeRole", ROLE);
    let cases = [
        ("the role itself", json!({"AWS": ROLE}), role(), true),
        (
            "the account id stands for its principals",
            json!({"AWS": ACCOUNT}),
            role(),
            true,
        ),
        (
            "the account root likewise",
            json!({"AWS": "arn:aws:iam::123456789012:root"}),
            role(),
            true,
        ),
        (
            "another account",
            json!({"AWS": "arn:aws:iam::111122223333:root"}),
            role(),
            false,
        ),
        (
            "* is everyone",
            json!("*"),
            Principal::Service("config.amazonaws.com".into()),
            true,
        ),
        ("{AWS: *}", json!({"AWS": "*"}), role(), true),
        (
            "a service",
            json!({"Service": ["config.amazonaws.com"]}),
            Principal::Service("config.amazonaws.com".into()),
            true,
        ),
        (
            "another service",
            json!({"Service": "config.amazonaws.com"}),
            Principal::Service("cloudtrail.amazonaws.com".into()),
            false,
        ),
        (
            "a service is not an AWS principal",
            json!({"AWS": ACCOUNT}),
            Principal::Service("config.amazonaws.com".into()),
            false,
        ),
        (
            "federated",
            json!({"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}),
            Principal::Federated(
                "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                    .into(),
            ),
            true,
        ),
    ];
    for (reason, principal, who, expected) in cases {
        assert_eq!(
            allowed(&statement(principal), &assume(who)),
            expected,
            "{reason}"
        );
    }
    let not_principal = json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "OnlyTheRole", "Effect": "Deny", "NotPrincipal": {"AWS": ROLE},
         "Action": "s3:GetObject", "Resource": "*"}
    ]});
    assert!(allowed(
        &not_principal,
        &Request::new(role(), "s3:GetObject", "arn:aws:s3:::b/k")
    ));
    assert_eq!(
        decide(
            &not_principal,
            &Request::new(
                Principal::Aws("arn:aws:iam::123456789012:role/Other".into()),
                "s3:GetObject",
                "arn:aws:s3:::b/k"
            )
        ),
        Decision::Deny {
            statement: "\"OnlyTheRole\"".into()
        }
    );
}

/// A statement that matches principal and action but fails elsewhere is named, with why.
#[test]
fn near_misses_explain_what_is_missing() {
    let policy = json!({"Statement": [{"Sid": "Write", "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::trail/AWSLogs/123456789012/*",
        "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/t"}}}]});
    // The near misses of CloudTrail's put of `resource` for the trail `source`.
    let near_misses = |resource: &str, source: &str| {
        let put = Request::new(
            Principal::Service("cloudtrail.amazonaws.com".into()),
            "s3:PutObject",
            resource,
        )
        .with("aws:SourceArn", source);
        match decide(&policy, &put) {
            Decision::NotAllowed { near_misses } => near_misses,
            other => panic!("{resource} for {source}: not a near miss: {other:?}"),
        }
    };
    let other_trail = near_misses(
        "arn:aws:s3:::trail/AWSLogs/123456789012/x",
        "arn:aws:cloudtrail:ca-central-1:123456789012:trail/t-cac1",
    );
    assert!(
        other_trail[0].contains("\"Write\": condition StringEquals aws:SourceArn"),
        "{other_trail:?}"
    );
    assert!(other_trail[0].contains("t-cac1"), "{other_trail:?}");
    let other_bucket = near_misses(
        "arn:aws:s3:::other/x",
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/t",
    );
    assert!(other_bucket[0].contains("Resource does not cover arn:aws:s3:::other/x"));
}

#[test]
fn unsupported_operators_and_malformed_documents_are_errors() {
    let policy = with_condition(
        "*",
        json!({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
    );
    let error = evaluate(&policy, &Request::new(role(), "s3:GetObject", "*")).unwrap_err();
    assert!(error.to_string().contains("DateGreaterThan"), "{error}");
    assert!(
        evaluate(
            &json!({"Version": "2012-10-17"}),
            &Request::new(role(), "a:b", "*")
        )
        .is_err()
    );
}

#[test]
fn globs() {
    for (pattern, text, expected) in [
        ("*", "", true),
        ("a*c", "abbbc", true),
        ("a*c", "abbb", false),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("*:log-stream:*", "g:log-stream:s", true),
        ("**", "x", true),
    ] {
        assert_eq!(glob(pattern, text), expected, "{pattern} vs {text}");
    }
}

/// reference_policies_elements_condition_operators.html: the equality and pattern operators
/// have a negation (`Not` after the family), the numeric orderings and `Bool` have none.
#[test]
fn negated_operators_are_the_documented_ones() {
    let negate = |name: &str| {
        let split = ["String", "Numeric", "Arn", "Bool"]
            .iter()
            .find_map(|family| name.strip_prefix(family).map(|test| (*family, test)));
        let (family, test) = split.expect("a known family");
        format!("{family}Not{test}")
    };
    let negatable = [
        "StringEquals",
        "StringEqualsIgnoreCase",
        "StringLike",
        "NumericEquals",
        "ArnEquals",
        "ArnLike",
    ];
    for name in negatable {
        let plain = Operator::parse(name).expect(name);
        let negated = Operator::parse(&negate(name)).expect("its negation");
        assert!(!plain.negated && negated.negated, "{name}");
        assert_eq!(plain.compare, negated.compare, "{name}");
    }
    for name in [
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "Bool",
    ] {
        assert!(
            Operator::parse(name).is_some_and(|parsed| !parsed.negated),
            "{name}"
        );
        assert!(
            Operator::parse(&negate(name)).is_none(),
            "{name} has no negation"
        );
    }
}
