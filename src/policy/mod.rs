//! Semantic comparison of IAM-style JSON policy documents (IAM, KMS key and S3 bucket policies).
//!
//! AWS hands policies back URL-encoded, with statements reordered, single-element lists collapsed
//! to strings, account principals rewritten to root ARNs, scalars in conditions turned to strings
//! and `Sid`s it keeps or drops. [`normalize`] maps every such form of one policy to a single
//! canonical document, so [`equivalent`] never reports a false difference.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

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
    let map = match value {
        Value::String(text) if text == "*" => {
            let mut map = Map::new();
            map.insert("AWS".into(), Value::String("*".into()));
            map
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

    #[test]
    fn equivalent_forms_compare_equal() {
        let desired = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                 "Action": ["kms:*"], "Resource": ["*"]},
                {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
                 "Condition": {"Bool": {"aws:SecureTransport": false}}}
            ]
        });
        let cases = [
            (
                "reordered statements, collapsed lists, account-id principal, stringified bool, no Sid",
                json!({
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["s3:*"],
                         "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                         "Condition": {"Bool": {"aws:securetransport": "false"}}},
                        {"Effect": "Allow", "Principal": {"AWS": "123456789012"},
                         "Action": "KMS:*", "Resource": "*"}
                    ]
                }),
            ),
            (
                "URL-encoded document as a string",
                Value::String(
                    percent_encoding::utf8_percent_encode(
                        &desired.to_string(),
                        percent_encoding::NON_ALPHANUMERIC,
                    )
                    .to_string(),
                ),
            ),
        ];
        for (reason, observed) in cases {
            assert!(equivalent(&desired, &observed), "{reason}");
        }
    }

    #[test]
    fn real_changes_are_detected() {
        let base = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:Decrypt", "Resource": "*"}]});
        let cases = [
            (
                "added action",
                json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}]}),
            ),
            (
                "effect flipped",
                json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:Decrypt", "Resource": "*"}]}),
            ),
            (
                "other account",
                json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:Decrypt", "Resource": "*"}]}),
            ),
        ];
        for (reason, other) in cases {
            assert!(!equivalent(&base, &other), "{reason}");
        }
    }
}
