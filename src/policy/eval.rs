//! Evaluating one policy document for one request, as IAM's policy evaluation logic documents
//! it: Allow, explicit Deny, or not allowed (implicit deny).
//!
//! Sources (AWS IAM user guide):
//! - policy evaluation logic, `reference_policies_evaluation-logic.html` (an explicit deny in
//!   any statement wins; an allow is needed; otherwise the request is implicitly denied);
//! - elements `Effect`, `Principal`/`NotPrincipal`, `Action`/`NotAction`,
//!   `Resource`/`NotResource` (`reference_policies_elements_*.html`): wildcards `*` and `?`,
//!   actions case-insensitive, resources case-sensitive;
//! - condition operators, `reference_policies_elements_condition_operators.html`: a key missing
//!   from the request makes a condition false, except for negated operators (true), `...IfExists`
//!   (true) and `Null`; keys are case-insensitive, values are not (but for `...IgnoreCase`);
//!   `ArnLike`/`ArnEquals` match each of the six colon-separated parts on its own;
//! - multivalued keys, `reference_policies_condition-single-vs-multi-valued-context-keys.html`
//!   and `reference_policies_multi-value-conditions.html`: operators and keys are ANDed, the
//!   values of one key ORed (NORed for a negated operator); `ForAnyValue:` needs one request
//!   value to match (false when the key is absent), `ForAllValues:` every request value (true
//!   when the key is absent).
//!
//! Not modelled (no module of the tool uses them): policy variables (`${aws:username}`),
//! `Date*`, `Binary*` and `IpAddress` operators, which are reported as unsupported rather than
//! guessed.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An AWS service principal, e.g. `logs.us-east-1.amazonaws.com`.
    Service(String),
    /// An IAM principal by ARN (a role, a user, an account root `arn:aws:iam::123:root`).
    Aws(String),
    /// A federated principal (an OIDC provider's ARN).
    Federated(String),
}

impl Principal {
    /// The account of an IAM principal (`arn:aws:iam::{account}:...`).
    #[must_use]
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Aws(arn) | Principal::Federated(arn) => arn.split(':').nth(4),
            Principal::Service(_) => None,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Service(name) => write!(f, "service {name}"),
            Principal::Aws(arn) => write!(f, "{arn}"),
            Principal::Federated(arn) => write!(f, "federated {arn}"),
        }
    }
}

/// One request to decide: principal, action, resource and request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Who calls.
    pub principal: Principal,
    /// The action, e.g. `kms:GenerateDataKey`.
    pub action: String,
    /// The resource ARN (`*` for actions without a resource).
    pub resource: String,
    /// Context keys (lower-cased: keys are case-insensitive) and their values.
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// A request without context.
    #[must_use]
    pub fn new(principal: Principal, action: &str, resource: impl Into<String>) -> Request {
        Request {
            principal,
            action: action.to_string(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    /// Adds a single-valued context key.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Request {
        self.context
            .entry(key.to_lowercase())
            .or_default()
            .push(value.into());
        self
    }

    /// Adds a multivalued context key (possibly empty).
    #[must_use]
    pub fn with_values(mut self, key: &str, values: &[&str]) -> Request {
        let entry = self.context.entry(key.to_lowercase()).or_default();
        entry.extend(values.iter().map(|value| (*value).to_string()));
        self
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} by {} on {}",
            self.action, self.principal, self.resource
        )?;
        if !self.context.is_empty() {
            let pairs: Vec<String> = self
                .context
                .iter()
                .map(|(key, values)| format!("{key}={}", values.join("|")))
                .collect();
            write!(f, " with {}", pairs.join(", "))?;
        }
        Ok(())
    }
}

/// What one policy says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows it and none denies it.
    Allow {
        /// The allowing statement.
        statement: String,
    },
    /// A statement denies it explicitly.
    Deny {
        /// The denying statement.
        statement: String,
    },
    /// No statement allows it (implicit deny).
    NotAllowed {
        /// Allow statements that matched the principal and action but not the rest, each
        /// with why: what the missing statement would have to grant.
        near_misses: Vec<String>,
    },
}

/// A policy the evaluator cannot decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A condition operator outside the modelled set.
    #[error("statement {statement}: condition operator {operator} is not supported")]
    UnsupportedOperator {
        /// The statement.
        statement: String,
        /// The operator as written.
        operator: String,
    },
    /// A document that is not a policy.
    #[error("not a policy document: {0}")]
    Malformed(String),
}

/// Evaluates `policy` for `request`. A statement without `Principal`/`NotPrincipal` (an
/// identity policy or a permission boundary) applies to whoever the policy is attached to.
///
/// # Errors
/// An unsupported condition operator in a statement that otherwise matches, or a malformed
/// document.
pub fn evaluate(policy: &Value, request: &Request) -> Result<Decision, EvalError> {
    let statements = match policy.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return Err(EvalError::Malformed(policy.to_string())),
    };
    let mut allow = None;
    let mut near_misses = Vec::new();
    for (index, statement) in statements.into_iter().enumerate() {
        let label = statement_label(statement, index);
        let deny = match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => true,
            Some("Allow") => false,
            _ => return Err(EvalError::Malformed(format!("{label}: no Effect"))),
        };
        if !principal_matches(statement, &request.principal)
            || !listed(statement, "Action", "NotAction", |pattern| {
                glob(&pattern.to_lowercase(), &request.action.to_lowercase())
            })
        {
            continue;
        }
        let resource = listed(statement, "Resource", "NotResource", |pattern| {
            glob(pattern, &request.resource)
        });
        let failed = if resource {
            failed_condition(statement, &request.context, &label)?
        } else {
            Some(format!("Resource does not cover {}", request.resource))
        };
        match (deny, failed) {
            (true, None) => return Ok(Decision::Deny { statement: label }),
            (false, None) => {
                allow.get_or_insert(label);
            }
            (false, Some(why)) => near_misses.push(format!("{label}: {why}")),
            (true, Some(_)) => {}
        }
    }
    Ok(match allow {
        Some(statement) => Decision::Allow { statement },
        None => Decision::NotAllowed { near_misses },
    })
}

/// `Sid` or `statement #n` (1-based).
fn statement_label(statement: &Value, index: usize) -> String {
    match statement.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => format!("\"{sid}\""),
        _ => format!("#{}", index + 1),
    }
}

/// A string or a list of strings.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether the positive element matches, or the negative one does not; a statement without
/// either matches (trust policies have no `Resource`).
fn listed(
    statement: &Value,
    positive: &str,
    negative: &str,
    matches: impl Fn(&str) -> bool,
) -> bool {
    if let Some(value) = statement.get(positive) {
        return strings(value).iter().any(|pattern| matches(pattern));
    }
    if let Some(value) = statement.get(negative) {
        return !strings(value).iter().any(|pattern| matches(pattern));
    }
    true
}

fn principal_matches(statement: &Value, principal: &Principal) -> bool {
    if let Some(value) = statement.get("Principal") {
        return principal_listed(value, principal);
    }
    if let Some(value) = statement.get("NotPrincipal") {
        return !principal_listed(value, principal);
    }
    true
}

/// `"*"` is everyone (services too); `AWS` names an ARN, an account id or its root (which
/// stands for every principal of the account); `Service` and `Federated` name theirs exactly.
fn principal_listed(value: &Value, principal: &Principal) -> bool {
    let Value::Object(kinds) = value else {
        return scalar(value) == "*";
    };
    kinds.iter().any(|(kind, ids)| {
        strings(ids).iter().any(|id| {
            if id == "*" {
                return true;
            }
            match (kind.as_str(), principal) {
                ("AWS", Principal::Aws(arn)) => {
                    let account = principal.account().unwrap_or_default();
                    id == arn || id == account || *id == format!("arn:aws:iam::{account}:root")
                }
                ("Service", Principal::Service(name)) => id.eq_ignore_ascii_case(name),
                ("Federated", Principal::Federated(arn)) => id == arn,
                _ => false,
            }
        })
    })
}

/// The first condition that fails, described; `None` when every condition holds.
fn failed_condition(
    statement: &Value,
    context: &BTreeMap<String, Vec<String>>,
    label: &str,
) -> Result<Option<String>, EvalError> {
    let Some(Value::Object(operators)) = statement.get("Condition") else {
        return Ok(None);
    };
    for (operator, tests) in operators {
        let parsed = Operator::parse(operator).ok_or_else(|| EvalError::UnsupportedOperator {
            statement: label.to_string(),
            operator: operator.clone(),
        })?;
        let Value::Object(keys) = tests else {
            return Err(EvalError::Malformed(format!("{label}: {operator}")));
        };
        for (key, wanted) in keys {
            let present = context.get(&key.to_lowercase());
            if !parsed.holds(present.map(Vec::as_slice), &strings(wanted)) {
                let seen = present.map_or_else(|| "absent".to_string(), |values| values.join("|"));
                return Ok(Some(format!(
                    "condition {operator} {key} {} fails (request: {seen})",
                    wanted
                )));
            }
        }
    }
    Ok(None)
}

/// The comparison of a condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    Bool,
    ArnLike,
    Null,
}

/// A set operator qualifying a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Single,
    AnyValue,
    AllValues,
}

/// A parsed condition operator: `[ForAnyValue:|ForAllValues:]Base[IfExists]`.
#[derive(Debug, Clone, Copy)]
struct Operator {
    set: Set,
    compare: Compare,
    negated: bool,
    if_exists: bool,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        let (set, rest) = if let Some(rest) = text.strip_prefix("ForAnyValue:") {
            (Set::AnyValue, rest)
        } else if let Some(rest) = text.strip_prefix("ForAllValues:") {
            (Set::AllValues, rest)
        } else {
            (Set::Single, text)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        // A negated operator names its family, then `Not` (`StringNotLike`, `ArnNotEquals`);
        // only the equality and pattern tests have one (IAM User Guide, *Condition operators*:
        // <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>).
        let (test, negated) = match base.split_once("Not") {
            Some((family @ ("String" | "Numeric" | "Arn"), test)) => {
                (format!("{family}{test}"), true)
            }
            _ => (base.to_string(), false),
        };
        let compare = match test.as_str() {
            "StringEquals" => Compare::StringEquals,
            "StringEqualsIgnoreCase" => Compare::StringEqualsIgnoreCase,
            "StringLike" => Compare::StringLike,
            "NumericEquals" => Compare::NumericEquals,
            "ArnEquals" | "ArnLike" => Compare::ArnLike,
            _ if negated => return None,
            "NumericLessThan" => Compare::NumericLessThan,
            "NumericLessThanEquals" => Compare::NumericLessThanEquals,
            "NumericGreaterThan" => Compare::NumericGreaterThan,
            "NumericGreaterThanEquals" => Compare::NumericGreaterThanEquals,
            "Bool" => Compare::Bool,
            "Null" if !if_exists && set == Set::Single => Compare::Null,
            _ => return None,
        };
        Some(Operator {
            set,
            compare,
            negated,
            if_exists,
        })
    }

    /// Whether the condition holds for the request's values of the key (`None`: absent).
    fn holds(self, present: Option<&[String]>, wanted: &[String]) -> bool {
        if self.compare == Compare::Null {
            // `"true"`: the key must be absent; `"false"`: present.
            let absent = present.is_none_or(<[String]>::is_empty);
            return wanted
                .iter()
                .any(|value| value.eq_ignore_ascii_case("true") == absent);
        }
        let values = match present {
            Some(values) if !values.is_empty() => values,
            _ => {
                return match self.set {
                    Set::AllValues => true,
                    Set::AnyValue => false,
                    Set::Single => self.if_exists || self.negated,
                };
            }
        };
        // One request value against the policy's values: OR, or NOR when negated.
        let one = |value: &String| {
            let any = wanted.iter().any(|w| self.compare.matches(w, value));
            any != self.negated
        };
        match self.set {
            Set::AllValues => values.iter().all(one),
            Set::AnyValue => values.iter().any(one),
            // A single-valued key sent with several values: any may satisfy it.
            Set::Single => values.iter().any(one),
        }
    }
}

impl Compare {
    /// Whether the request's `value` matches the policy's `wanted`.
    fn matches(self, wanted: &str, value: &str) -> bool {
        let numbers = || Some((wanted.parse::<f64>().ok()?, value.parse::<f64>().ok()?));
        match self {
            Compare::StringEquals => wanted == value,
            Compare::StringEqualsIgnoreCase => wanted.eq_ignore_ascii_case(value),
            Compare::StringLike => glob(wanted, value),
            Compare::Bool => wanted.eq_ignore_ascii_case(value),
            Compare::NumericEquals => numbers().is_some_and(|(w, v)| (w - v).abs() < f64::EPSILON),
            Compare::NumericLessThan => numbers().is_some_and(|(w, v)| v < w),
            Compare::NumericLessThanEquals => numbers().is_some_and(|(w, v)| v <= w),
            Compare::NumericGreaterThan => numbers().is_some_and(|(w, v)| v > w),
            Compare::NumericGreaterThanEquals => numbers().is_some_and(|(w, v)| v >= w),
            Compare::ArnLike => arn_like(wanted, value),
            Compare::Null => false,
        }
    }
}

/// Each of the six colon-separated parts of the ARN matched on its own; the last part (the
/// resource) may itself contain colons.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let wanted: Vec<&str> = pattern.splitn(6, ':').collect();
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    wanted.len() == 6
        && parts.len() == 6
        && wanted.iter().zip(&parts).all(|(w, part)| glob(w, part))
}

/// `*` matches any run of characters (possibly empty), `?` exactly one.
#[must_use]
pub fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
