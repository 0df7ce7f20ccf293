//! Creates whose outcome is unknown are continued from what exists, never re-sent blind.
//!
//! A create step can fail after its create took effect: the answer was lost (a reset or a
//! timeout after the request was sent — the SDK clients for creates without an idempotency
//! token do not re-send it, see `providers::no_resend`), AWS answered 5xx, or a later call of
//! the same step failed (the key was made, its alias was not). Running the create again would
//! make a second resource wherever the API has no idempotency token (KMS CreateKey, EC2
//! CreateVpc, AllocateAddress, ...). So when a create step (a create, or the build half of a
//! replacement) runs again after a failed attempt, it first re-observes its one resource
//! through its provider — every provider finds its resources by name or `nc:id` tag — and
//! continues from what it finds:
//!
//! - nothing (or nothing of ours): create;
//! - ours, as desired: done, with the outputs observed;
//! - ours, with attributes that can change in place: an update of exactly those (the pure
//!   diff of this one resource, [`crate::plan::diff_one`]);
//! - ours, but an attribute that cannot change in place differs: the step fails; a second
//!   resource is never made.
//!
//! A create answered "already exists" (a name-unique API whose SDK retry met the resource the
//! first, unanswered request made) is continued the same way when what exists is ours, and
//! fails with AWS's answer otherwise.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::model::{Observation, Observed, Outputs, Owner, Resource};
use crate::plan::{Action, AttrChange, diff_one};
use crate::providers::{Change, Provider, ProviderError, StepCtx};

/// Counts the attempts of one step, to tell its first attempt from a retry.
#[derive(Debug, Default)]
pub(super) struct Attempts(AtomicU32);

impl Attempts {
    /// Starts an attempt; returns whether an earlier attempt of the step ran (and failed).
    pub(super) fn start(&self) -> bool {
        self.0.fetch_add(1, Ordering::SeqCst) > 0
    }
}

/// What a create step does after looking at what exists.
#[derive(Debug)]
enum Resume {
    /// Nothing of ours exists: create it.
    Create,
    /// Ours and as desired: done.
    Done(Outputs),
    /// Ours; these attributes change in place.
    Update(Box<Observed>, Vec<AttrChange>),
    /// Ours, but it cannot become the desired resource in place.
    Refuse(String),
}

/// Decides how a create continues from `observation` of its one resource. Pure.
fn decide(desired: &Resource, observation: &Observation) -> Resume {
    let Some(observed) = observation.found.get(&desired.id) else {
        return Resume::Create;
    };
    if observed.owner != Owner::Ours {
        return Resume::Create;
    }
    let change = diff_one(desired, observation);
    match change.action {
        Action::NoOp => Resume::Done(observed.outputs.clone()),
        Action::Update => Resume::Update(Box::new(observed.clone()), change.attributes),
        Action::Replace | Action::Conflict => Resume::Refuse(format!(
            "{} exists from an earlier attempt but cannot become the desired resource in place \
             ({}); nothing more is created: re-run plan to see the change",
            observed.physical_id,
            change.reason.unwrap_or_else(|| "attributes differ".into())
        )),
        Action::Create | Action::Delete | Action::Adopt | Action::Retain | Action::Skip => {
            Resume::Create
        }
    }
}

/// AWS's answer to a create whose name is taken (IAM, KMS aliases, Logs, CloudTrail, EC2
/// security groups, S3 in other regions).
fn already_exists(error: &ProviderError) -> bool {
    error.code.as_deref().is_some_and(|code| {
        code.contains("AlreadyExists")
            || code.ends_with(".Duplicate")
            || code == "BucketAlreadyOwnedByYou"
    })
}

/// Builds `desired` for a create step. `retried`: an earlier attempt of this step failed, so
/// the resource may exist already.
///
/// # Errors
/// The provider's error, or the refusal to make a second resource.
pub(super) async fn create(
    provider: &dyn Provider,
    desired: &Resource,
    ctx: &StepCtx,
    retried: bool,
) -> Result<Outputs, ProviderError> {
    if retried && let Some(outputs) = resume(provider, desired, ctx).await? {
        return Ok(outputs);
    }
    match provider.create(desired, ctx).await {
        // AWS's own answer stands unless what exists is ours (a name taken by someone else
        // may not even be readable).
        Err(error) if already_exists(&error) => match resume(provider, desired, ctx).await {
            Ok(Some(outputs)) => Ok(outputs),
            Ok(None) => Err(error),
            Err(unreadable) => {
                tracing::debug!(id = %desired.id, "after {error}, re-observing failed: {unreadable}");
                Err(error)
            }
        },
        other => other,
    }
}

/// Re-observes `desired` and continues from what exists: `None` when there is nothing of ours
/// to continue from.
async fn resume(
    provider: &dyn Provider,
    desired: &Resource,
    ctx: &StepCtx,
) -> Result<Option<Outputs>, ProviderError> {
    let observation = provider.observe(&[desired], &ctx.env).await?;
    match decide(desired, &observation) {
        Resume::Create => Ok(None),
        Resume::Done(outputs) => {
            ctx.note("found as desired from an earlier attempt");
            tracing::info!(id = %desired.id, "create continued: found as desired");
            Ok(Some(outputs))
        }
        Resume::Update(observed, changes) => {
            ctx.note(&format!(
                "found {} from an earlier attempt; finishing it",
                observed.physical_id
            ));
            tracing::info!(
                id = %desired.id,
                physical = %observed.physical_id,
                attributes = ?changes.iter().map(|change| change.name.as_str()).collect::<Vec<_>>(),
                "create continued as an update"
            );
            provider
                .update(
                    &Change::new(desired, &observed, &crate::plan::delta_of(&changes)),
                    ctx,
                )
                .await
                .map(Some)
        }
        Resume::Refuse(why) => Err(ProviderError::local("create", desired.id.as_str(), why)),
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Kind;
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::exec::{ExecOptions, Progress, RetryPolicy, StepStatus, execute};
    use crate::model::{DesiredGraph, LogicalId, Value};
    use crate::plan::Plan;
    use crate::providers::{ErrorClass, Providers};

    /// A live account of one kind whose creates take effect and then, as told, lose their
    /// answer (a transient error) or answer "already exists" when the name is taken.
    #[derive(Default)]
    struct LossyProvider {
        live: Mutex<BTreeMap<LogicalId, Observed>>,
        /// Creates whose answer is lost after they took effect.
        lose: AtomicUsize,
        /// Name-unique: a create of a taken name fails with `AlreadyExists`.
        unique_names: bool,
        creates: AtomicUsize,
        updates: Mutex<Vec<Vec<String>>>,
    }

    impl LossyProvider {
        fn losing(answers: usize) -> LossyProvider {
            let provider = LossyProvider::default();
            provider.lose.store(answers, Ordering::SeqCst);
            provider
        }

        fn put(&self, observed: Observed) {
            self.live
                .lock()
                .expect("live")
                .insert(observed.id.clone(), observed);
        }
    }

    fn live_of(resource: &Resource, owner: Owner) -> Observed {
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), format!("arn:fake:{}", resource.id));
        Observed {
            id: resource.id.clone(),
            kind: resource.kind,
            physical_id: format!("phys-{}", resource.id),
            props: resource.props.clone(),
            outputs,
            owner,
            retain: false,
            refused: None,
        }
    }

    fn fail(class: ErrorClass, code: Option<&str>, resource: &Resource) -> ProviderError {
        ProviderError {
            action: "fake:Create".into(),
            resource: resource.id.to_string(),
            class,
            code: code.map(str::to_string),
            message: "fake failure".into(),
        }
    }

    #[async_trait]
    impl Provider for LossyProvider {
        fn kinds(&self) -> &'static [Kind] {
            &[Kind::S3Bucket]
        }

        async fn observe(
            &self,
            desired: &[&Resource],
            _env: &str,
        ) -> Result<Observation, ProviderError> {
            let live = self.live.lock().expect("live");
            let mut observation = Observation::default();
            for resource in desired {
                if let Some(observed) = live.get(&resource.id) {
                    observation.insert(observed.clone());
                }
            }
            Ok(observation)
        }

        async fn create(
            &self,
            resource: &Resource,
            _ctx: &StepCtx,
        ) -> Result<Outputs, ProviderError> {
            if self.unique_names && self.live.lock().expect("live").contains_key(&resource.id) {
                return Err(fail(
                    ErrorClass::Fatal,
                    Some("EntityAlreadyExists"),
                    resource,
                ));
            }
            self.creates.fetch_add(1, Ordering::SeqCst);
            let observed = live_of(resource, Owner::Ours);
            let outputs = observed.outputs.clone();
            self.put(observed);
            let lost = self
                .lose
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
            if lost {
                return Err(fail(ErrorClass::Transient, None, resource));
            }
            Ok(outputs)
        }

        async fn update(
            &self,
            change: &Change<'_>,
            _ctx: &StepCtx,
        ) -> Result<Outputs, ProviderError> {
            self.updates
                .lock()
                .expect("updates")
                .push(change.delta.names().map(str::to_string).collect());
            let mut now = change.observed.clone();
            now.props = change.resource.props.clone();
            self.put(now);
            Ok(change.observed.outputs.clone())
        }

        async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
            self.live.lock().expect("live").remove(&observed.id);
            Ok(())
        }
    }

    fn ctx() -> StepCtx {
        StepCtx {
            id: LogicalId::new("key"),
            env: "stg".into(),
            progress: Arc::new(|_| {}),
            wait_timeout: Duration::from_secs(5),
        }
    }

    fn key() -> Resource {
        Resource::new("key", Kind::S3Bucket, "alias/key")
            .prop("rotation", true)
            .prop("cidr", "10.0.0.0/16")
            .replace_on(&["cidr"])
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            deadline: Duration::from_secs(60),
        }
    }

    fn plan_for(graph: &DesiredGraph) -> Plan {
        crate::exec::fake::plan_for(graph, Observation::default())
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_lost_is_found_and_not_made_twice() {
        // Through the executor: the key's create takes effect and its answer is lost; the
        // retried step finds it, and the dependent step gets its outputs.
        let lossy = Arc::new(LossyProvider::losing(1));
        let providers = Providers::from_list(vec![lossy.clone()]);
        let key = key();
        let bucket = Resource::new("bucket", Kind::S3Bucket, "bucket")
            .prop("kms", Value::reference(&key.id, "arn"));
        let graph = DesiredGraph::new(vec![key, bucket]).expect("graph");
        let options = ExecOptions {
            retry: policy(),
            ..ExecOptions::default()
        };
        let report = execute(
            &plan_for(&graph),
            &graph,
            &providers,
            options,
            &Progress::new(true),
        )
        .await;
        assert!(!report.failed(), "{report:?}");
        let step = report
            .steps
            .iter()
            .find(|step| step.id.as_str() == "key")
            .expect("key step");
        assert_eq!(step.status, StepStatus::Done);
        assert_eq!(step.attempts, 2);
        assert_eq!(
            lossy.creates.load(Ordering::SeqCst),
            2,
            "one create per resource: the key once, the bucket once"
        );
        let live = lossy.live.lock().expect("live");
        assert_eq!(
            live[&LogicalId::new("bucket")].props["kms"],
            Value::str("arn:fake:key"),
            "the outputs of the found key reach its dependent"
        );
    }

    #[tokio::test]
    async fn a_retry_finishes_what_differs_with_an_update_of_exactly_that() {
        let lossy = LossyProvider::default();
        let desired = key();
        let mut half_made = live_of(&desired, Owner::Ours);
        half_made
            .props
            .insert("rotation".into(), Value::Bool(false));
        lossy.put(half_made);
        let outputs = create(&lossy, &desired, &ctx(), true)
            .await
            .expect("continued");
        assert_eq!(outputs["arn"], "arn:fake:key");
        assert_eq!(lossy.creates.load(Ordering::SeqCst), 0);
        assert_eq!(
            *lossy.updates.lock().expect("updates"),
            vec![vec!["rotation".to_string()]]
        );
    }

    #[tokio::test]
    async fn decisions_follow_what_exists() {
        let desired = key();
        let observation_of = |observed: Option<Observed>| {
            let mut observation = Observation::default();
            if let Some(observed) = observed {
                observation.insert(observed);
            }
            observation
        };
        let mut other_cidr = live_of(&desired, Owner::Ours);
        other_cidr
            .props
            .insert("cidr".into(), Value::str("10.9.0.0/16"));
        let cases: Vec<(&str, Option<Observed>, &str)> = vec![
            ("nothing there", None, "create"),
            (
                "ours, as desired",
                Some(live_of(&desired, Owner::Ours)),
                "done",
            ),
            (
                "not ours: the provider's create decides",
                Some(live_of(&desired, Owner::Foreign)),
                "create",
            ),
            (
                "ours, but an immutable attribute differs",
                Some(other_cidr),
                "refuse",
            ),
        ];
        for (reason, observed, expected) in cases {
            let got = match decide(&desired, &observation_of(observed)) {
                Resume::Create => "create",
                Resume::Done(_) => "done",
                Resume::Update(..) => "update",
                Resume::Refuse(_) => "refuse",
            };
            assert_eq!(got, expected, "{reason}");
        }
    }

    #[tokio::test]
    async fn a_retry_refuses_to_make_a_second_resource_it_cannot_update() {
        let lossy = LossyProvider::default();
        let desired = key();
        let mut other = live_of(&desired, Owner::Ours);
        other.props.insert("cidr".into(), Value::str("10.9.0.0/16"));
        lossy.put(other);
        let error = create(&lossy, &desired, &ctx(), true)
            .await
            .expect_err("refused");
        assert_eq!(lossy.creates.load(Ordering::SeqCst), 0);
        assert!(
            error.message.contains("cannot become the desired resource"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn already_exists_is_success_when_it_is_ours_and_an_error_when_not() {
        // The SDK retried a name-unique create whose first answer was lost: AWS now says the
        // name is taken, by the resource that first request made.
        let ours = LossyProvider {
            unique_names: true,
            ..LossyProvider::default()
        };
        let desired = key();
        ours.put(live_of(&desired, Owner::Ours));
        let outputs = create(&ours, &desired, &ctx(), false)
            .await
            .expect("ours: continued");
        assert_eq!(outputs["arn"], "arn:fake:key");

        let foreign = LossyProvider {
            unique_names: true,
            ..LossyProvider::default()
        };
        foreign.put(live_of(&desired, Owner::Foreign));
        let error = create(&foreign, &desired, &ctx(), false)
            .await
            .expect_err("not ours");
        assert_eq!(error.code.as_deref(), Some("EntityAlreadyExists"));
    }

    #[tokio::test]
    async fn a_retry_with_nothing_there_creates_and_a_first_attempt_never_observes() {
        let lossy = LossyProvider::default();
        let desired = key();
        create(&lossy, &desired, &ctx(), true)
            .await
            .expect("created");
        assert_eq!(lossy.creates.load(Ordering::SeqCst), 1);
        // A first attempt creates straight away (the plan's observation is fresh).
        lossy.live.lock().expect("live").clear();
        create(&lossy, &desired, &ctx(), false)
            .await
            .expect("created");
        assert_eq!(lossy.creates.load(Ordering::SeqCst), 2);
    }
}
