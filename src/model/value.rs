//! Attribute values of the property model shared by desired and observed resources.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::LogicalId;

/// One attribute value. Desired and observed resources use the same model, so the diff is
/// generic: providers normalise what AWS returns into these values.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean flag.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// An ordered list (providers sort lists whose order AWS does not keep).
    List(Vec<Value>),
    /// A string map, e.g. tags.
    Map(BTreeMap<String, String>),
    /// An IAM-style JSON policy document, compared semantically (see [`crate::policy`]).
    Policy(serde_json::Value),
    /// An output of another resource (e.g. the data key's ARN), resolved at plan time when that
    /// resource exists and at apply time otherwise.
    Ref(Ref),
    /// A string joined from parts, some of them references (e.g. a log group named after a VPC
    /// id): resolved to a `Str` once every reference is known.
    Concat(Vec<Value>),
    /// A value only known once an upstream resource has been created.
    Unknown,
}

/// A reference to an output of another resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref {
    /// The resource whose output is read.
    pub id: LogicalId,
    /// The output's name, e.g. `arn`.
    pub output: String,
}

impl Value {
    /// A string value.
    #[must_use]
    pub fn str(text: impl Into<String>) -> Value {
        Value::Str(text.into())
    }

    /// A reference to `output` of resource `id`.
    #[must_use]
    pub fn reference(id: &LogicalId, output: &str) -> Value {
        Value::Ref(Ref {
            id: id.clone(),
            output: output.to_string(),
        })
    }

    /// The string inside a `Str`, if it is one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The flag inside a `Bool`, if it is one.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The integer inside an `Int`, if it is one.
    #[must_use]
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(number) => Some(*number),
            _ => None,
        }
    }

    /// The map inside a `Map`, if it is one.
    #[must_use]
    pub fn as_map(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    /// The document inside a `Policy`, if it is one.
    #[must_use]
    pub fn as_policy(&self) -> Option<&serde_json::Value> {
        match self {
            Value::Policy(document) => Some(document),
            _ => None,
        }
    }

    /// Whether the value is not known until apply (an unresolved reference, a policy with an
    /// unresolved placeholder, or `Unknown`).
    #[must_use]
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Ref(_) | Value::Concat(_) | Value::Unknown => true,
            Value::Policy(document) => !policy_refs(document).is_empty(),
            _ => false,
        }
    }

    /// Semantic equality: policies compare as documents, everything else structurally.
    #[must_use]
    pub fn equivalent(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Policy(left), Value::Policy(right)) => crate::policy::equivalent(left, right),
            (Value::List(left), Value::List(right)) => {
                left.len() == right.len() && left.iter().zip(right).all(|(l, r)| l.equivalent(r))
            }
            _ => self == other,
        }
    }

    /// The JSON form used in `--format json` and saved plans. Unknown values are
    /// `{"unknown": true}`; references are `{"ref": "<id>.<output>"}`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(flag) => serde_json::Value::Bool(*flag),
            Value::Int(number) => serde_json::Value::from(*number),
            Value::Str(text) => serde_json::Value::String(text.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone())))
                    .collect(),
            ),
            Value::Policy(document) => document.clone(),
            Value::Ref(reference) => {
                serde_json::json!({ "ref": format!("{}.{}", reference.id, reference.output) })
            }
            Value::Concat(parts) => {
                serde_json::json!({ "concat": parts.iter().map(Value::to_json).collect::<Vec<_>>() })
            }
            Value::Unknown => serde_json::json!({ "unknown": true }),
        }
    }
}

/// How a reference without an answer resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unanswered {
    /// It becomes [`Value::Unknown`] (and so does a join or a policy holding it): the plan.
    Unknown,
    /// It is an error naming the reference: the executor, where every input must be known.
    Error,
}

impl Value {
    /// Every resource this value references directly (references, also inside lists, joins and
    /// policy placeholders), added to `found`.
    pub fn referenced_ids(&self, found: &mut BTreeSet<LogicalId>) {
        match self {
            Value::Ref(reference) => {
                found.insert(reference.id.clone());
            }
            Value::List(items) | Value::Concat(items) => {
                items.iter().for_each(|item| item.referenced_ids(found));
            }
            Value::Policy(document) => {
                found.extend(
                    policy_refs(document)
                        .into_iter()
                        .map(|reference| reference.id),
                );
            }
            _ => {}
        }
    }

    /// Whether this value references a resource for which `test` holds.
    #[must_use]
    pub fn references_any(&self, test: &dyn Fn(&LogicalId) -> bool) -> bool {
        let mut found = BTreeSet::new();
        self.referenced_ids(&mut found);
        found.iter().any(test)
    }

    /// The value with every reference answered by `lookup`; a reference `lookup` cannot answer
    /// makes [`Value::Unknown`] of itself, and of the join or policy document holding it (the
    /// plan: "known after apply").
    #[must_use]
    pub fn resolve_or_unknown(&self, lookup: &dyn Fn(&Ref) -> Option<String>) -> Value {
        self.resolve_with(lookup, Unanswered::Unknown)
            .unwrap_or(Value::Unknown)
    }

    /// The value with every reference answered by `lookup` (the executor, once upstream steps
    /// ran).
    ///
    /// # Errors
    /// A reference `lookup` cannot answer (`<id>.<output> is not available`), or a join with a
    /// part that is not a string.
    pub fn resolve_all(&self, lookup: &dyn Fn(&Ref) -> Option<String>) -> Result<Value, String> {
        self.resolve_with(lookup, Unanswered::Error)
    }

    /// The one reference resolver behind [`Value::resolve_or_unknown`] and
    /// [`Value::resolve_all`].
    fn resolve_with(
        &self,
        lookup: &dyn Fn(&Ref) -> Option<String>,
        mode: Unanswered,
    ) -> Result<Value, String> {
        let missing = |reference: &Ref| match mode {
            Unanswered::Unknown => Ok(Value::Unknown),
            Unanswered::Error => Err(format!(
                "{}.{} is not available",
                reference.id, reference.output
            )),
        };
        match self {
            Value::Ref(reference) => lookup(reference)
                .map_or_else(|| missing(reference), |output| Ok(Value::Str(output))),
            Value::List(items) => items
                .iter()
                .map(|item| item.resolve_with(lookup, mode))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            Value::Concat(parts) => {
                let mut joined = String::new();
                for part in parts {
                    match (part.resolve_with(lookup, mode)?, mode) {
                        (Value::Str(text), _) => joined.push_str(&text),
                        (_, Unanswered::Unknown) => return Ok(Value::Unknown),
                        (other, Unanswered::Error) => {
                            return Err(format!("cannot join {other:?} into a string"));
                        }
                    }
                }
                Ok(Value::Str(joined))
            }
            Value::Policy(document) => match substitute_refs(document, lookup) {
                Ok(document) => Ok(Value::Policy(document)),
                Err(reference) => missing(&reference),
            },
            other => Ok(other.clone()),
        }
    }
}

impl Value {
    /// The value with every reference to a resource that `rename` answers pointed at the new
    /// id instead (in references, joins and policy placeholders alike); other references are
    /// kept. Used to place a copy of a module's resources under other logical ids.
    #[must_use]
    pub fn rename_refs(&self, rename: &dyn Fn(&LogicalId) -> Option<LogicalId>) -> Value {
        match self {
            Value::Ref(reference) => Value::Ref(Ref {
                id: rename(&reference.id).unwrap_or_else(|| reference.id.clone()),
                output: reference.output.clone(),
            }),
            Value::List(items) => {
                Value::List(items.iter().map(|v| v.rename_refs(rename)).collect())
            }
            Value::Concat(parts) => {
                Value::Concat(parts.iter().map(|v| v.rename_refs(rename)).collect())
            }
            Value::Policy(document) => {
                // Every placeholder is answered (renamed or kept), so this never falls back.
                let renamed = substitute_refs(document, &|reference| {
                    let id = rename(&reference.id).unwrap_or_else(|| reference.id.clone());
                    Some(policy_ref(&id, &reference.output))
                });
                Value::Policy(renamed.unwrap_or_else(|_| document.clone()))
            }
            other => other.clone(),
        }
    }
}

/// Opening of a reference placeholder inside a policy document.
const PLACEHOLDER_OPEN: &str = "{{ref:";
/// Closing of a reference placeholder inside a policy document.
const PLACEHOLDER_CLOSE: &str = "}}";

/// The placeholder text for `output` of resource `id` inside a [`Value::Policy`] document
/// (e.g. a key ARN in a permission boundary, a role ARN in a key policy). It may stand alone
/// or inside a longer string; the graph turns it into a dependency, the plan resolves it like
/// a [`Value::Ref`], and a document with an unresolved placeholder is [`Value::Unknown`].
#[must_use]
pub fn policy_ref(id: &LogicalId, output: &str) -> String {
    format!("{PLACEHOLDER_OPEN}{id}#{output}{PLACEHOLDER_CLOSE}")
}

/// Every reference placeholder in a policy document.
#[must_use]
pub fn policy_refs(document: &serde_json::Value) -> Vec<Ref> {
    let mut found = Vec::new();
    walk_strings(document, &mut |text| {
        let mut rest = text;
        while let Some((reference, after)) = next_placeholder(rest) {
            found.push(reference.1);
            rest = after;
        }
    });
    found
}

/// The document with every placeholder replaced by `lookup`'s answer; `Err` names the first
/// reference `lookup` could not answer.
///
/// # Errors
/// A reference without a value.
pub fn substitute_refs(
    document: &serde_json::Value,
    lookup: &dyn Fn(&Ref) -> Option<String>,
) -> Result<serde_json::Value, Ref> {
    match document {
        serde_json::Value::String(text) => {
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(((before, reference), after)) = next_placeholder(rest) {
                out.push_str(before);
                out.push_str(&lookup(&reference).ok_or(reference)?);
                rest = after;
            }
            out.push_str(rest);
            Ok(serde_json::Value::String(out))
        }
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| substitute_refs(item, lookup))
            .collect::<Result<Vec<_>, _>>()
            .map(serde_json::Value::Array),
        serde_json::Value::Object(fields) => {
            let mut out = serde_json::Map::new();
            for (key, value) in fields {
                out.insert(key.clone(), substitute_refs(value, lookup)?);
            }
            Ok(serde_json::Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// The text before the next placeholder, the reference, and the text after it.
fn next_placeholder(text: &str) -> Option<((&str, Ref), &str)> {
    let start = text.find(PLACEHOLDER_OPEN)?;
    let inner_start = start + PLACEHOLDER_OPEN.len();
    let length = text[inner_start..].find(PLACEHOLDER_CLOSE)?;
    let inner = &text[inner_start..inner_start + length];
    let (id, output) = inner.rsplit_once('#')?;
    let reference = Ref {
        id: LogicalId::new(id),
        output: output.to_string(),
    };
    Some((
        (&text[..start], reference),
        &text[inner_start + length + PLACEHOLDER_CLOSE.len()..],
    ))
}

fn walk_strings(document: &serde_json::Value, visit: &mut dyn FnMut(&str)) {
    match document {
        serde_json::Value::String(text) => visit(text),
        serde_json::Value::Array(items) => items.iter().for_each(|item| walk_strings(item, visit)),
        serde_json::Value::Object(fields) => {
            fields.values().for_each(|value| walk_strings(value, visit));
        }
        _ => {}
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Bool(flag)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Int(number)
    }
}

impl From<i32> for Value {
    fn from(number: i32) -> Self {
        Value::Int(i64::from(number))
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Str(text.to_string())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Str(text)
    }
}

/// A resource's attributes by name, in a stable order.
pub type Props = BTreeMap<String, Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_references_point_at_the_new_ids_and_others_stay() {
        let key = LogicalId::new("kms.key.data");
        let role = LogicalId::new("iam.role.etl");
        let rename = |id: &LogicalId| (id == &key).then(|| LogicalId::new("dr.kms.key.data"));
        let document = Value::Policy(serde_json::json!({"Statement": [{
            "Resource": [policy_ref(&key, "arn")],
            "Principal": {"AWS": format!("x-{}-y", policy_ref(&role, "arn"))}
        }]}));
        let renamed = document.rename_refs(&rename);
        let ids: Vec<String> = policy_refs(renamed.as_policy().expect("a policy"))
            .into_iter()
            .map(|reference| reference.id.0)
            .collect();
        assert_eq!(ids, ["dr.kms.key.data", "iam.role.etl"]);
        let joined = Value::Concat(vec![Value::str("a/"), Value::reference(&key, "key_id")]);
        let expected = Value::Concat(vec![
            Value::str("a/"),
            Value::reference(&LogicalId::new("dr.kms.key.data"), "key_id"),
        ]);
        assert_eq!(joined.rename_refs(&rename), expected);
        let other = Value::reference(&role, "arn");
        assert_eq!(other.rename_refs(&rename), other);
    }

    #[test]
    fn policy_placeholders_are_found_and_substituted() {
        let key = LogicalId::new("kms.key.data");
        let role = LogicalId::new("iam.role.etl");
        let document = serde_json::json!({"Statement": [{
            "Resource": [policy_ref(&key, "arn")],
            "Principal": {"AWS": format!("x-{}-y", policy_ref(&role, "arn"))}
        }]});
        let refs = policy_refs(&document);
        assert_eq!(refs.len(), 2);
        let lookup = |reference: &Ref| Some(format!("<{}>", reference.id));
        let resolved = substitute_refs(&document, &lookup).unwrap();
        assert_eq!(resolved["Statement"][0]["Resource"][0], "<kms.key.data>");
        assert_eq!(
            resolved["Statement"][0]["Principal"]["AWS"],
            "x-<iam.role.etl>-y"
        );
        assert!(policy_refs(&resolved).is_empty());
        let missing = substitute_refs(&document, &|_| None).unwrap_err();
        assert_eq!(missing.id, key);
        assert!(Value::Policy(document).is_unknown());
    }
}
