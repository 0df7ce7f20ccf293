//! Planned changes: per resource an action and per attribute a before → after.

use serde::Serialize;

use super::Action;
use crate::model::{Kind, LogicalId, Value};

/// One attribute's change.
#[derive(Debug, Clone, Serialize)]
pub struct AttrChange {
    /// Attribute name.
    pub name: String,
    /// Live value; `None` when the resource or attribute does not exist yet.
    pub before: Option<Value>,
    /// Desired value; `None` when it is removed (delete).
    pub after: Option<Value>,
    /// This attribute cannot change in place (it is why the resource is replaced).
    pub forces_replace: bool,
}

/// The plan for one resource.
///
/// Invariants: `Create` has only `after` values; `Delete` and `Retain` only `before`;
/// `Update`/`Replace`/`Adopt` list exactly the attributes that differ; `NoOp` lists none.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceChange {
    /// Logical id.
    pub id: LogicalId,
    /// Resource kind.
    pub kind: Kind,
    /// Physical name (bucket name, alias, table name).
    pub name: String,
    /// What apply does.
    pub action: Action,
    /// Why, for people; never used to decide anything at apply time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The attribute changes.
    pub attributes: Vec<AttrChange>,
    /// Resources this one depends on: the desired graph's dependencies, or for a resource no
    /// longer in the spec, the resources its live attributes name (see `live_references`).
    pub depends_on: Vec<LogicalId>,
    /// Resources the live resource names in its attributes now (a subnet its VPC, a route its
    /// NAT gateway), found by their physical ids. The executor deletes a resource only after
    /// every live resource naming it was deleted, or updated when it stays. Never rendered.
    #[serde(skip)]
    pub live_references: Vec<LogicalId>,
    /// A global (IAM) resource, shared by every region.
    pub global: bool,
    /// Why: the spec lines that cause the change, or drift (see [`super::cause`]). Empty for
    /// a resource that does not change.
    pub causes: Vec<super::Cause>,
}

impl ResourceChange {
    /// Whether any attribute of this change is only known after apply.
    #[must_use]
    pub fn has_unknowns(&self) -> bool {
        self.attributes
            .iter()
            .any(|attribute| attribute.after.as_ref().is_some_and(Value::is_unknown))
    }
}

impl ResourceChange {
    /// The names of the attributes this change sets, as a provider's update takes them.
    #[must_use]
    pub fn delta(&self) -> crate::model::Delta {
        delta_of(&self.attributes)
    }
}

/// The names of the attributes in `changes`, as a provider's update takes them.
#[must_use]
pub fn delta_of(changes: &[AttrChange]) -> crate::model::Delta {
    crate::model::Delta::new(changes.iter().map(|change| change.name.clone()))
}
