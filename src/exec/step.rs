//! One step: what it needs, how it runs (references resolved from the outputs known so far,
//! a create resumed after a lost answer), and what it hands back to the walker.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::order::Phase;
use super::{StepReport, StepStatus, recover};
use crate::model::{LogicalId, Observed, Outputs, Props, Ref, Resource};
use crate::plan::{Action, ResourceChange};
use crate::providers::{Change, Provider, ProviderError, StepCtx};

/// What one spawned step needs.
pub(super) struct StepInput {
    /// The change the step carries out.
    pub change: ResourceChange,
    /// Which half of it.
    pub phase: Phase,
    /// The desired resource (none for a deletion).
    pub resource: Option<Resource>,
    /// The live resource (none for a create).
    pub observed: Option<Observed>,
    /// The provider of its kind.
    pub provider: Arc<dyn Provider>,
    /// The outputs of the resources it references, shared with the walker (not copied).
    pub outputs: BTreeMap<LogicalId, Arc<Outputs>>,
}

/// What a finished node hands back to the walker.
pub(super) struct NodeResult {
    /// The resource.
    pub id: LogicalId,
    /// Which half ran.
    pub phase: Phase,
    /// Its outputs, or why it failed.
    pub result: Result<Outputs, ProviderError>,
    /// Wall time.
    pub elapsed: Duration,
    /// Attempts made.
    pub attempts: u32,
}

/// The outputs `resource` references, taken from `known` (shared, not copied).
pub(super) fn referenced_outputs(
    resource: Option<&Resource>,
    known: &BTreeMap<LogicalId, Arc<Outputs>>,
) -> BTreeMap<LogicalId, Arc<Outputs>> {
    let mut ids = BTreeSet::new();
    if let Some(resource) = resource {
        for value in resource
            .props
            .values()
            .chain(resource.create_inputs.values())
        {
            value.referenced_ids(&mut ids);
        }
    }
    ids.into_iter()
        .filter_map(|id| known.get(&id).map(|outputs| (id, Arc::clone(outputs))))
        .collect()
}

/// The text of a panic's payload.
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

pub(super) fn skipped(change: &ResourceChange, why: &str) -> StepReport {
    StepReport {
        id: change.id.clone(),
        kind: change.kind,
        action: change.action,
        status: StepStatus::Skipped(why.to_string()),
        duration_ms: 0,
        attempts: 0,
    }
}

/// Resolves references from the outputs known so far; a reference still unresolved is an error.
fn resolved(
    resource: &Resource,
    outputs: &BTreeMap<LogicalId, Arc<Outputs>>,
) -> Result<Resource, ProviderError> {
    let lookup = |reference: &Ref| {
        outputs
            .get(&reference.id)
            .and_then(|produced| produced.get(&reference.output))
            .cloned()
    };
    let resolve_all = |props: &Props| -> Result<Props, ProviderError> {
        props
            .iter()
            .map(|(name, value)| {
                value
                    .resolve_all(&lookup)
                    .map(|value| (name.clone(), value))
                    .map_err(|why| ProviderError::local("resolve", resource.id.as_str(), why))
            })
            .collect()
    };
    let mut resolved = resource.clone();
    resolved.props = resolve_all(&resource.props)?;
    resolved.create_inputs = resolve_all(&resource.create_inputs)?;
    Ok(resolved)
}

/// Runs one attempt of a step; `retried`: an earlier attempt failed (a create then continues
/// from what exists, see [`recover`]).
pub(super) async fn run_step(
    input: &StepInput,
    ctx: &StepCtx,
    retried: bool,
) -> Result<Outputs, ProviderError> {
    let change = &input.change;
    let missing = |what: &str| {
        ProviderError::local(
            change.action.name(),
            change.id.as_str(),
            format!("no {what} for this step"),
        )
    };
    let observed = || {
        input
            .observed
            .as_ref()
            .ok_or_else(|| missing("observed resource"))
    };
    let desired = || {
        input
            .resource
            .as_ref()
            .ok_or_else(|| missing("desired resource"))
            .and_then(|resource| resolved(resource, &input.outputs))
    };
    if input.phase == Phase::Destroy {
        input.provider.delete(observed()?, ctx).await?;
        return Ok(Outputs::new());
    }
    match change.action {
        Action::Create | Action::Replace => {
            recover::create(input.provider.as_ref(), &desired()?, ctx, retried)
                .await
                .map_err(not_yet_visible)
        }
        Action::Update | Action::Adopt => {
            input
                .provider
                .update(&Change::new(&desired()?, observed()?, &change.delta()), ctx)
                .await
        }
        Action::Delete | Action::NoOp | Action::Conflict | Action::Retain | Action::Skip => {
            Ok(Outputs::new())
        }
    }
}

/// A create step whose later call answers NotFound (the rules of a security group just made,
/// the association of a new address: `InvalidGroup.NotFound`, `InvalidAllocationID.NotFound`)
/// meets eventual consistency: AWS documents that a resource just created may not be visible to
/// the next call yet ("Eventual consistency in the Amazon EC2 API", EC2 API reference). The
/// step is retried — re-reading what exists first, so nothing is made twice — instead of
/// failing; a resource that never appears still fails once the step's retries are spent.
fn not_yet_visible(mut error: ProviderError) -> ProviderError {
    if error.class == crate::providers::ErrorClass::NotFound {
        error.class = crate::providers::ErrorClass::Transient;
        error.message = format!(
            "{} (not visible yet right after its create: eventual consistency)",
            error.message
        );
    }
    error
}
