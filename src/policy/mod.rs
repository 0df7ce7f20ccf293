//! Semantic comparison of IAM-style JSON policy documents (IAM, KMS key and S3 bucket policies).
//!
//! AWS hands policies back URL-encoded, with statements reordered, single-element lists collapsed
//! to strings, account principals rewritten to root ARNs, scalars in conditions turned to strings
//! and `Sid`s it keeps or drops. [`normalize`] maps every such form of one policy to a single
//! canonical document, so [`equivalent`] never reports a false difference.
//!
//! [`eval`] decides what one policy says about one request (IAM's evaluation logic), and
//! [`integrations`] proves, at plan time, that every service integration the modules configure
//! is allowed by the desired policies.

pub mod eval;
pub mod integrations;

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

/// Parses a policy as AWS returns it: JSON text, possibly URL-encoded.
///
/// # Errors
/// The text is neither JSON nor URL-encoded JSON.
pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
    match serde_json::from_str(text) {
        Ok(document) => Ok(document),
        Err(error) => {
            let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
            if decoded == text {
                return Err(error);
            }
            serde_json::from_str(&decoded)
        }
    }
}

/// A JSON document as text with every object's keys sorted and no spaces, so that equal
/// documents (e.g. EventBridge event patterns) compare equal as strings whatever their order.
#[must_use]
pub fn canonical_text(document: &Value) -> String {
    crate::model::sorted_json(document, &Number::clone).to_string()
}

/// Whether two policy documents grant exactly the same thing, ignoring representation.
#[must_use]
pub fn equivalent(left: &Value, right: &Value) -> bool {
    normalize(left) == normalize(right)
}

/// The canonical form of a policy document: `Version` defaulted, `Id` and `Sid` dropped,
/// statements as a sorted list, every string-or-list field as a sorted, de-duplicated list,
/// actions lower-cased, account principals as root ARNs, condition keys lower-cased and
/// condition values as sorted string lists.
#[must_use]
pub fn normalize(document: &Value) -> Value {
    let document = match document {
        Value::String(text) => match parse(text) {
            Ok(parsed) => parsed,
            Err(_) => return document.clone(),
        },
        other => other.clone(),
    };
    let Value::Object(fields) = document else {
        return document;
    };
    let version = fields
        .get("Version")
        .and_then(Value::as_str)
        .unwrap_or("2008-10-17")
        .to_string();
    let mut statements: Vec<Value> = match fields.get("Statement") {
        Some(Value::Array(items)) => items.iter().map(normalize_statement).collect(),
        Some(single) => vec![normalize_statement(single)],
        None => Vec::new(),
    };
    statements.sort_by_key(Value::to_string);
    statements.dedup();
    let mut canonical = Map::new();
    canonical.insert("Version".into(), Value::String(version));
    canonical.insert("Statement".into(), Value::Array(statements));
    Value::Object(canonical)
}

fn normalize_statement(statement: &Value) -> Value {
    let Value::Object(fields) = statement else {
        return statement.clone();
    };
    let mut canonical = Map::new();
    for (key, value) in fields {
        let normalized = match key.as_str() {
            "Sid" => continue,
            // AWS drops an empty condition block.
            "Condition" if value.as_object().is_some_and(Map::is_empty) => continue,
            "Action" | "NotAction" => lowercase_list(value),
            "Resource" | "NotResource" => string_list(value),
            "Principal" | "NotPrincipal" => normalize_principal(value),
            "Condition" => normalize_condition(value),
            _ => value.clone(),
        };
        canonical.insert(key.clone(), normalized);
    }
    Value::Object(canonical)
}

/// A string or list of scalars as a sorted, de-duplicated list of strings.
fn string_list(value: &Value) -> Value {
    let mut items: Vec<String> = match value {
        Value::Array(items) => items.iter().map(scalar_text).collect(),
        other => vec![scalar_text(other)],
    };
    items.sort();
    items.dedup();
    Value::Array(items.into_iter().map(Value::String).collect())
}

fn lowercase_list(value: &Value) -> Value {
    match string_list(value) {
        Value::Array(items) => {
            let mut lowered: Vec<String> = items
                .iter()
                .map(|item| scalar_text(item).to_lowercase())
                .collect();
            lowered.sort();
            lowered.dedup();
            Value::Array(lowered.into_iter().map(Value::String).collect())
        }
        other => other,
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `"*"` and `{"AWS": "*"}` are one principal; a bare account id is its root ARN.
fn normalize_principal(value: &Value) -> Value {
    let anyone = || {
        let mut map = Map::new();
        map.insert("AWS".into(), Value::String("*".into()));
        map
    };
    let map = match value {
        Value::String(text) if text == "*" => anyone(),
        // `{"*": "*"}` is what some tools write; AWS stores it as `"*"`.
        Value::Object(map)
            if map.len() == 1
                && map
                    .get("*")
                    .is_some_and(|ids| string_list(ids) == json_star()) =>
        {
            anyone()
        }
        Value::Object(map) => map.clone(),
        other => return other.clone(),
    };
    let canonical: BTreeMap<String, Value> = map
        .into_iter()
        .map(|(kind, ids)| {
            let ids = match string_list(&ids) {
                Value::Array(items) => {
                    let mut rewritten: Vec<String> = items
                        .iter()
                        .map(|item| {
                            let text = scalar_text(item);
                            if kind == "AWS"
                                && text.len() == 12
                                && text.chars().all(|c| c.is_ascii_digit())
                            {
                                format!("arn:aws:iam::{text}:root")
                            } else {
                                text
                            }
                        })
                        .collect();
                    rewritten.sort();
                    rewritten.dedup();
                    Value::Array(rewritten.into_iter().map(Value::String).collect())
                }
                other => other,
            };
            (kind, ids)
        })
        .collect();
    Value::Object(canonical.into_iter().collect())
}

fn json_star() -> Value {
    Value::Array(vec![Value::String("*".into())])
}

/// Operators keep their case; context keys are case-insensitive; values become string lists.
fn normalize_condition(value: &Value) -> Value {
    let Value::Object(operators) = value else {
        return value.clone();
    };
    let canonical: BTreeMap<String, Value> = operators
        .iter()
        .map(|(operator, tests)| {
            let tests = match tests {
                Value::Object(keys) => {
                    let keys: BTreeMap<String, Value> = keys
                        .iter()
                        .map(|(key, values)| (key.to_lowercase(), string_list(values)))
                        .collect();
                    Value::Object(keys.into_iter().collect())
                }
                other => other.clone(),
            };
            (operator.clone(), tests)
        })
        .collect();
    Value::Object(canonical.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROOT: &str = "arn:aws:iam::123456789012:root";
    const ROLE: &str = "arn:aws:iam::123456789012:role/nc/LambdaETLRole";

    fn encoded(document: &Value) -> Value {
        Value::String(
            percent_encoding::utf8_percent_encode(
                &document.to_string(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string(),
        )
    }

    /// The shapes AWS hands back for a policy we wrote (IAM GetAccountAuthorizationDetails,
    /// GetRolePolicy, KMS GetKeyPolicy, S3 GetBucketPolicy), and the perpetual diffs the
    /// Terraform AWS provider met with them. Each must compare equal to what was written.
    #[test]
    fn aws_returned_shapes_compare_equal() {
        let written = json!({
            "Version": "2012-10-17",
            "Id": "nc-dp-data-stg",
            "Statement": [
                {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": ROOT},
                 "Action": ["kms:*"], "Resource": ["*"]},
                {"Sid": "Roles", "Effect": "Allow", "Principal": {"AWS": [ROLE, ROOT]},
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                 "Condition": {"StringEquals": {"kms:EncryptionContext:app": "neurocipher-pipeline"}}},
                {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
                 "Condition": {"Bool": {"aws:SecureTransport": false},
                               "NumericLessThan": {"s3:TlsVersion": 1.2}}}
            ]
        });
        let cases: Vec<(&str, Value)> = vec![
            (
                "URL-encoded document (GetAccountAuthorizationDetails, GetRolePolicy)",
                encoded(&written),
            ),
            (
                "pretty-printed text with other whitespace (KMS GetKeyPolicy; tf #9786)",
                Value::String(serde_json::to_string_pretty(&written).unwrap()),
            ),
            (
                "statements reordered, Sid and Id dropped (tf #6956)",
                json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
                     "Condition": {"Bool": {"aws:SecureTransport": "false"},
                                   "NumericLessThan": {"s3:TlsVersion": "1.2"}}},
                    {"Effect": "Allow", "Principal": {"AWS": [ROOT, ROLE]},
                     "Action": ["kms:GenerateDataKey*", "kms:Decrypt", "kms:Encrypt"], "Resource": "*",
                     "Condition": {"StringEquals": {"kms:EncryptionContext:app": "neurocipher-pipeline"}}},
                    {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
                ]}),
            ),
            (
                "actions reordered inside a statement (tf #23288, #28834)",
                json!({"Version": "2012-10-17", "Statement": [
                    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
                    {"Sid": "Roles", "Effect": "Allow", "Principal": {"AWS": [ROOT, ROLE]},
                     "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt"], "Resource": "*",
                     "Condition": {"StringEquals": {"kms:EncryptionContext:app": ["neurocipher-pipeline"]}}},
                    {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["s3:*"],
                     "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                     "Condition": {"Bool": {"aws:SecureTransport": ["false"]},
                                   "NumericLessThan": {"s3:TlsVersion": "1.2"}}}
                ]}),
            ),
            (
                "principals reordered, account id for the root ARN, `{\"*\": \"*\"}` for `*` (tf #29401, #9335)",
                json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*", "Resource": "*"},
                    {"Effect": "Allow", "Principal": {"AWS": [ROLE, "123456789012"]},
                     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                     "Condition": {"StringEquals": {"kms:encryptioncontext:app": "neurocipher-pipeline"}}},
                    {"Effect": "Deny", "Principal": {"*": "*"}, "Action": "s3:*",
                     "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
                     "Condition": {"Bool": {"aws:securetransport": "false"},
                                   "NumericLessThan": {"s3:tlsversion": "1.2"}}}
                ]}),
            ),
            (
                "action case and duplicates, empty Sid (tf #6956)",
                json!({"Version": "2012-10-17", "Statement": [
                    {"Sid": "", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": ["KMS:*", "kms:*"], "Resource": "*"},
                    {"Sid": "", "Effect": "Allow", "Principal": {"AWS": [ROLE, ROOT, ROLE]},
                     "Action": ["KMS:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": ["*", "*"],
                     "Condition": {"StringEquals": {"kms:EncryptionContext:app": "neurocipher-pipeline"}}},
                    {"Sid": "", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
                     "Condition": {"Bool": {"aws:SecureTransport": "false"},
                                   "NumericLessThan": {"s3:TlsVersion": 1.2}}}
                ]}),
            ),
        ];
        for (reason, observed) in cases {
            assert!(
                equivalent(&written, &observed),
                "{reason}:\n{}\nvs\n{}",
                normalize(&written),
                normalize(&observed)
            );
        }
    }

    #[test]
    fn trust_policy_shapes_compare_equal() {
        let written = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]});
        let cases = [
            (
                "a single statement object instead of a list (tf #10784)",
                json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}}),
            ),
            (
                "an empty condition block dropped, Sid added",
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
                    "Condition": {}}]}),
            ),
            (
                "URL-encoded (GetAccountAuthorizationDetails)",
                encoded(&written),
            ),
        ];
        for (reason, observed) in cases {
            assert!(equivalent(&written, &observed), "{reason}");
        }
    }

    #[test]
    fn real_changes_are_detected() {
        let base = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionContext:app": "neurocipher-pipeline"}}}]});
        let with = |change: &dyn Fn(&mut Value)| {
            let mut changed = base.clone();
            change(&mut changed["Statement"][0]);
            changed
        };
        let cases: Vec<(&str, Value)> = vec![
            (
                "added action",
                with(&|s| s["Action"] = json!(["kms:Decrypt", "kms:Encrypt"])),
            ),
            ("effect flipped", with(&|s| s["Effect"] = json!("Deny"))),
            (
                "other account",
                with(&|s| s["Principal"] = json!({"AWS": "arn:aws:iam::999999999999:root"})),
            ),
            (
                "role deleted and recreated: AWS shows its unique id instead of the ARN",
                with(&|s| s["Principal"] = json!({"AWS": "AROAEXAMPLEUNIQUEID1"})),
            ),
            (
                "condition value changed",
                with(&|s| {
                    s["Condition"] = json!({"StringEquals": {"kms:EncryptionContext:app": "other"}})
                }),
            ),
            (
                "condition removed",
                with(&|s| {
                    s.as_object_mut().unwrap().remove("Condition");
                }),
            ),
            (
                "resource narrowed",
                with(&|s| s["Resource"] = json!("arn:aws:kms:us-east-1:123456789012:key/k")),
            ),
            (
                "resource value case (ARNs are case-sensitive)",
                with(&|s| s["Resource"] = json!("ARN:*")),
            ),
        ];
        for (reason, other) in cases {
            assert!(!equivalent(&base, &other), "{reason}");
            assert!(
                !equivalent(&encoded(&base), &other),
                "{reason} (against the encoded form)"
            );
        }
        let added = json!({"Version": "2012-10-17", "Statement": [base["Statement"][0].clone(),
            {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]});
        assert!(!equivalent(&base, &added), "added statement");
    }
}
