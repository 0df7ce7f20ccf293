//! The action planned for one resource.

use serde::{Deserialize, Serialize};

/// What the plan does to one resource. Names follow Terraform's, which users know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Live and desired agree.
    NoOp,
    /// Missing: create it.
    Create,
    /// Some attributes differ and can change in place.
    Update,
    /// An attribute that cannot change in place differs: delete, then create.
    Replace,
    /// Ours, but no longer in the spec: delete (only with `--allow-destroy`).
    Delete,
    /// Exists under the expected name but is not ours: take it over (`--adopt`), then update.
    Adopt,
    /// Exists under the expected name but is not ours, and `--adopt` was not given: apply refuses.
    Conflict,
    /// Ours, not in the spec (or needing replacement), but data-bearing: kept as it is.
    Retain,
    /// The endpoint does not implement this resource's API (an emulator): neither read nor
    /// changed.
    Skip,
}

impl Action {
    /// Every action, in display order.
    pub const ALL: [Action; 9] = [
        Action::Create,
        Action::Update,
        Action::Replace,
        Action::Delete,
        Action::Adopt,
        Action::Conflict,
        Action::Retain,
        Action::Skip,
        Action::NoOp,
    ];

    /// The glyph shown in human output.
    #[must_use]
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Adopt => "<=",
            Action::Conflict => "!",
            Action::Retain => "#",
            Action::Skip => "?",
        }
    }

    /// The snake-case name used in JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Action::NoOp => "no_op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Adopt => "adopt",
            Action::Conflict => "conflict",
            Action::Retain => "retain",
            Action::Skip => "skip",
        }
    }

    /// Whether applying this action calls AWS.
    #[must_use]
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Update | Action::Replace | Action::Delete | Action::Adopt
        )
    }

    /// Whether this is a replacement.
    #[must_use]
    pub fn is_replace(self) -> bool {
        self == Action::Replace
    }
}
