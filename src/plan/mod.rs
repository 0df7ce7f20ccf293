//! Plans: the pure diff, the plan document, saved plans and their staleness check.
//!
//! Computing a plan never formats anything; rendering lives in [`render`] and never decides.

mod action;
pub mod cause;
mod change;
mod diff;
pub mod evidence;
mod global;
pub mod readiness;
pub mod render;
pub mod risk;
mod saved;

use std::collections::BTreeMap;

use serde::Serialize;

pub use action::Action;
pub use cause::{Cause, Drift};
pub use change::{AttrChange, ResourceChange, delta_of};
pub use diff::{DiffOptions, diff, diff_one};
pub use global::pin_global;
pub use risk::{Risk, RiskClass, classify as risk_of};
pub use saved::{PlanFlags, SavedPlan, StaleResource, TOOL_VERSION, staleness};

use crate::model::{LogicalId, Observation};

/// Whether changes are presented as a plan or as drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    /// `plan` / `apply`: changes the spec asks for.
    Normal,
    /// `drift` / `reconcile`: the same changes, reported as drift of the live account.
    Drift,
}

pub use crate::model::Target;

/// A complete plan for one environment and region.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where.
    pub target: Target,
    /// `sha256:` digest of the spec file.
    pub spec_digest: String,
    /// Plan or drift.
    pub mode: PlanMode,
    /// One change per desired resource, then orphans.
    pub changes: Vec<ResourceChange>,
    /// The observation the plan was computed from.
    pub observation: Observation,
}

/// Counts of changes per action.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Resources to create.
    pub create: usize,
    /// Resources to update in place.
    pub update: usize,
    /// Resources to replace.
    pub replace: usize,
    /// Resources to delete.
    pub delete: usize,
    /// Foreign resources to adopt.
    pub adopt: usize,
    /// Foreign resources in the way (apply refuses).
    pub conflict: usize,
    /// Data-bearing resources kept although no longer in the spec.
    pub retain: usize,
    /// Resources already as desired.
    pub no_op: usize,
    /// Resources not checked: their API is not available at the endpoint (emulator mode
    /// only); listed in `not_checked`.
    pub skip: usize,
}

impl Plan {
    /// Counts per action.
    #[must_use]
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            let counter = match change.action {
                Action::Create => &mut summary.create,
                Action::Update => &mut summary.update,
                Action::Replace => &mut summary.replace,
                Action::Delete => &mut summary.delete,
                Action::Adopt => &mut summary.adopt,
                Action::Conflict => &mut summary.conflict,
                Action::Retain => &mut summary.retain,
                Action::NoOp => &mut summary.no_op,
                Action::Skip => &mut summary.skip,
            };
            *counter += 1;
        }
        summary
    }

    /// Whether anything differs between the spec and the account (exit status 2).
    #[must_use]
    pub fn has_changes(&self) -> bool {
        self.changes
            .iter()
            .any(|change| change.action.is_change() || change.action == Action::Conflict)
    }

    /// Resources that could not be read (their API is not available at the endpoint, in
    /// emulator mode): their state is unknown, so they are never reported as in sync.
    #[must_use]
    pub fn not_checked(&self) -> Vec<&ResourceChange> {
        self.changes
            .iter()
            .filter(|change| change.action == Action::Skip)
            .collect()
    }

    /// Replacements: each deletes a live resource before creating its successor.
    #[must_use]
    pub fn replacements(&self) -> Vec<&ResourceChange> {
        self.changes
            .iter()
            .filter(|change| change.action == Action::Replace)
            .collect()
    }

    /// The changes that destroy something: deletions and replacements.
    #[must_use]
    pub fn destructive(&self) -> Vec<&ResourceChange> {
        self.changes
            .iter()
            .filter(|change| matches!(change.action, Action::Replace | Action::Delete))
            .collect()
    }

    /// The changes apply refuses to carry out.
    #[must_use]
    pub fn conflicts(&self) -> Vec<&ResourceChange> {
        self.changes
            .iter()
            .filter(|change| change.action == Action::Conflict)
            .collect()
    }

    /// The highest risk class among the changes (`None` when nothing changes).
    #[must_use]
    pub fn risk(&self) -> Option<RiskClass> {
        risk::highest(&self.changes)
    }

    /// How many changes fall in each risk class.
    #[must_use]
    pub fn risk_counts(&self) -> BTreeMap<RiskClass, usize> {
        let mut counts = BTreeMap::new();
        for risk in self.changes.iter().filter_map(risk::classify) {
            *counts.entry(risk.class).or_insert(0) += 1;
        }
        counts
    }

    /// Fingerprints of every observed resource, as a saved plan records them.
    #[must_use]
    pub fn fingerprints(&self) -> BTreeMap<LogicalId, String> {
        self.observation
            .found
            .values()
            .chain(&self.observation.orphans)
            .map(|observed| (observed.id.clone(), observed.fingerprint()))
            .collect()
    }
}
