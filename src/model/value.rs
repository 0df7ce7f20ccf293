//! Attribute values of the property model shared by desired and observed resources.

use std::collections::BTreeMap;

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

    /// Whether the value is not known until apply (an unresolved reference or `Unknown`).
    #[must_use]
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Ref(_) | Value::Concat(_) | Value::Unknown)
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
