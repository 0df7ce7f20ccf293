//! Security Hub: enabled in the region, with the standards the spec names (CIS AWS Foundations
//! and AWS Foundational Security Best Practices).
//!
//! Observe: DescribeHub (is it enabled?) and GetEnabledStandards. Only the standards the spec
//! names are compared: one enabled by someone else besides them is left alone and is not drift
//! (the tool only ever enables standards).
//!
//! The hub is a regional singleton whose ARN (`arn:aws:securityhub:<region>:<account>:hub/default`)
//! takes tags (EnableSecurityHub `Tags`, TagResource, ListTagsForResource:
//! <https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_EnableSecurityHub.html>).
//! DescribeHub does not return them, so the hub is observed as [`Owner::Untracked`] and its
//! tags are read (ListTagsForResource) only when it differs from the spec: a hub that already
//! has the wanted standards is a no-op whoever enabled it; one that lacks some and is not
//! tagged as ours is a conflict until `--adopt`, whose update tags it. Create tags the hub in
//! EnableSecurityHub; a hub enabled by someone else since the plan is never taken over there.
//!
//! moto answers EnableSecurityHub and DescribeHub but not the standards calls (404): this
//! provider is covered by the mocked-client tests below.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{StandardsStatus, StandardsSubscriptionRequest};

use super::aws::aws_error;
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Owner, Resource, Value};

const KINDS: &[Kind] = &[Kind::SecurityHubHub];

/// The Security Hub provider.
pub struct SecurityHubProvider {
    client: Client,
}

fn standards(resource: &Resource) -> Vec<String> {
    match resource.props.get("standards") {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The tags the hub is created (or adopted) with.
fn hub_tags(resource: &Resource) -> BTreeMap<String, String> {
    resource
        .create_inputs
        .get("tags")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default()
}

impl SecurityHubProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> SecurityHubProvider {
        SecurityHubProvider {
            client: aws.securityhub(),
        }
    }

    /// A provider over a given client (tests use mocked clients).
    #[must_use]
    pub fn from_client(client: Client) -> SecurityHubProvider {
        SecurityHubProvider { client }
    }

    /// The hub's ARN, or `None` when Security Hub is not enabled.
    async fn hub(&self) -> Result<Option<String>, ProviderError> {
        match self.client.describe_hub().send().await {
            Ok(output) => Ok(Some(output.hub_arn().unwrap_or_default().to_string())),
            Err(error) => {
                let error = aws_error("securityhub:DescribeHub", "hub", error);
                let not_enabled = error.is_not_found()
                    || matches!(
                        error.code.as_deref(),
                        Some("InvalidAccessException" | "ResourceNotFoundException")
                    );
                if not_enabled { Ok(None) } else { Err(error) }
            }
        }
    }

    /// The ARNs of the standards enabled (or being enabled).
    async fn enabled_standards(&self) -> Result<BTreeSet<String>, ProviderError> {
        let mut enabled = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_enabled_standards()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| aws_error("securityhub:GetEnabledStandards", "hub", error))?;
            for subscription in page.standards_subscriptions() {
                let active = !matches!(
                    subscription.standards_status(),
                    Some(StandardsStatus::Deleting | StandardsStatus::Failed)
                );
                if let (true, Some(arn)) = (active, subscription.standards_arn()) {
                    enabled.insert(arn.to_string());
                }
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(enabled),
            }
        }
    }

    /// The hub's tags.
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let listed = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|error| aws_error("securityhub:ListTagsForResource", arn, error))?;
        Ok(listed
            .tags()
            .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Tags the hub as the spec's (an adoption).
    async fn tag(&self, arn: &str, resource: &Resource) -> Result<(), ProviderError> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(hub_tags(resource).into_iter().collect()))
            .send()
            .await
            .map_err(|error| aws_error("securityhub:TagResource", arn, error))?;
        Ok(())
    }

    /// Enables every wanted standard not enabled yet.
    async fn enable_missing(
        &self,
        resource: &Resource,
        enabled: &BTreeSet<String>,
    ) -> Result<(), ProviderError> {
        let missing: Vec<StandardsSubscriptionRequest> = standards(resource)
            .into_iter()
            .filter(|arn| !enabled.contains(arn))
            .map(|arn| {
                StandardsSubscriptionRequest::builder()
                    .standards_arn(arn)
                    .build()
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        self.client
            .batch_enable_standards()
            .set_standards_subscription_requests(Some(missing))
            .send()
            .await
            .map_err(|error| aws_error("securityhub:BatchEnableStandards", "hub", error))?;
        Ok(())
    }
}

#[async_trait]
impl Provider for SecurityHubProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        _env: &str,
    ) -> Result<Observation, ProviderError> {
        let mut observation = Observation::default();
        let Some(resource) = desired.first() else {
            return Ok(observation);
        };
        let Some(arn) = self.hub().await? else {
            return Ok(observation);
        };
        let enabled = self.enabled_standards().await?;
        // The desired subset, in the spec's order: other enabled standards are not drift.
        let wanted: Vec<Value> = standards(resource)
            .into_iter()
            .filter(|arn| enabled.contains(arn))
            .map(Value::Str)
            .collect();
        let mut props = BTreeMap::new();
        props.insert("standards".into(), Value::List(wanted));
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), arn.clone());
        observation.insert(Observed {
            id: resource.id.clone(),
            kind: KINDS[0],
            physical_id: arn,
            props,
            outputs,
            owner: Owner::Untracked,
            retain: false,
            refused: None,
        });
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let mut request = self
            .client
            .enable_security_hub()
            .enable_default_standards(false);
        for (key, value) in hub_tags(resource) {
            request = request.tags(key, value);
        }
        match request.send().await {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_conflict_exception()) =>
            {
                // Already enabled: ours only if tagged so (a retried create of our own).
                let arn = self.hub().await?.unwrap_or_default();
                let owner = Owner::from_tags(&self.tags(&arn).await?, &ctx.env);
                if owner != Owner::Ours {
                    return Err(ProviderError::local(
                        "securityhub:EnableSecurityHub",
                        &arn,
                        format!(
                            "Security Hub was enabled after the plan by someone else (the hub \
                             is not tagged as nc-provision's for {}); make a new plan, and \
                             apply --adopt to take it over",
                            ctx.env
                        ),
                    ));
                }
            }
            Err(error) => return Err(aws_error("securityhub:EnableSecurityHub", "hub", error)),
        }
        let enabled = self.enabled_standards().await?;
        self.enable_missing(resource, &enabled).await?;
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), self.hub().await?.unwrap_or_default());
        Ok(outputs)
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        if observed.owner != Owner::Ours {
            // An adoption: the hub is tagged as the spec's first.
            self.tag(&observed.physical_id, resource).await?;
        }
        if delta.touches("standards") {
            let enabled = self.enabled_standards().await?;
            self.enable_missing(resource, &enabled).await?;
        }
        Ok(observed.outputs.clone())
    }

    async fn look_up_owner(&self, observed: &Observed, env: &str) -> Result<Owner, ProviderError> {
        Ok(Owner::from_tags(
            &self.tags(&observed.physical_id).await?,
            env,
        ))
    }

    async fn delete(&self, _observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        self.client
            .disable_security_hub()
            .send()
            .await
            .map_err(|error| aws_error("securityhub:DisableSecurityHub", "hub", error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_securityhub::operation::batch_enable_standards::BatchEnableStandardsOutput;
    use aws_sdk_securityhub::operation::describe_hub::DescribeHubOutput;
    use aws_sdk_securityhub::operation::enable_security_hub::EnableSecurityHubError;
    use aws_sdk_securityhub::operation::get_enabled_standards::GetEnabledStandardsOutput;
    use aws_sdk_securityhub::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_securityhub::operation::tag_resource::TagResourceOutput;
    use aws_sdk_securityhub::types::StandardsSubscription;
    use aws_sdk_securityhub::types::error::ResourceConflictException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use crate::model::Observation;

    const CIS: &str =
        "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/1.4.0";
    const FSBP: &str =
        "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0";

    fn hub() -> Resource {
        Resource::new("observability.securityhub", Kind::SecurityHubHub, "hub").prop(
            "standards",
            Value::List(vec![Value::str(FSBP), Value::str(CIS)]),
        )
    }

    fn ctx() -> StepCtx {
        StepCtx {
            id: crate::model::LogicalId::new("observability.securityhub"),
            env: "stg".into(),
            progress: std::sync::Arc::new(|_: &str| {}),
            wait_timeout: std::time::Duration::from_secs(1),
        }
    }

    fn subscription(arn: &str, status: StandardsStatus) -> StandardsSubscription {
        StandardsSubscription::builder()
            .standards_arn(arn)
            .standards_status(status)
            .build()
    }

    const HUB_ARN: &str = "arn:aws:securityhub:us-east-1:123456789012:hub/default";
    const PCI: &str = "arn:aws:securityhub:us-east-1::standards/pci-dss/v/3.2.1";

    fn describe() -> aws_smithy_mocks::Rule {
        mock!(Client::describe_hub)
            .then_output(|| DescribeHubOutput::builder().hub_arn(HUB_ARN).build())
    }

    fn enabled(arns: &'static [&'static str]) -> aws_smithy_mocks::Rule {
        mock!(Client::get_enabled_standards).then_output(move || {
            let mut output = GetEnabledStandardsOutput::builder();
            for arn in arns {
                output = output.standards_subscriptions(subscription(arn, StandardsStatus::Ready));
            }
            output.build()
        })
    }

    fn listed_tags(tags: &'static [(&'static str, &'static str)]) -> aws_smithy_mocks::Rule {
        mock!(Client::list_tags_for_resource)
            .match_requests(|request| request.resource_arn() == Some(HUB_ARN))
            .then_output(move || {
                ListTagsForResourceOutput::builder()
                    .set_tags(Some(
                        tags.iter()
                            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                            .collect(),
                    ))
                    .build()
            })
    }

    const OURS: &[(&str, &str)] = &[("ManagedBy", "nc-provision"), ("nc:env", "stg")];

    fn tagged_hub() -> Resource {
        let tags: BTreeMap<String, String> = OURS
            .iter()
            .chain(&[("nc:id", "observability.securityhub")])
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        hub().create_input("tags", Value::Map(tags))
    }

    /// Plans `resource` through the provider registry, which looks owners up.
    async fn plan(
        provider: SecurityHubProvider,
        resource: &Resource,
        adopt: bool,
    ) -> (Observation, crate::plan::ResourceChange) {
        let providers = super::super::Providers::from_list(vec![std::sync::Arc::new(provider)]);
        let observation = providers
            .observe(std::slice::from_ref(resource), "stg")
            .await
            .expect("observe");
        let changes = crate::plan::diff(
            &crate::model::DesiredGraph::new(vec![resource.clone()]).expect("graph"),
            &observation,
            crate::plan::DiffOptions { adopt },
        );
        (observation, changes[0].clone())
    }

    #[tokio::test]
    async fn observes_the_enabled_standards_and_ignores_the_ones_being_deleted() {
        let standards = mock!(Client::get_enabled_standards).then_output(|| {
            GetEnabledStandardsOutput::builder()
                .standards_subscriptions(subscription(FSBP, StandardsStatus::Ready))
                .standards_subscriptions(subscription(CIS, StandardsStatus::Deleting))
                .build()
        });
        let (describe, tags) = (describe(), listed_tags(OURS));
        let provider = SecurityHubProvider::from_client(mock_client!(
            aws_sdk_securityhub,
            RuleMode::MatchAny,
            [&describe, &standards, &tags]
        ));
        let resource = hub();
        let (observation, change) = plan(provider, &resource, false).await;
        let observed = &observation.found[&resource.id];
        assert_eq!(
            observed.props["standards"],
            Value::List(vec![Value::str(FSBP)]),
            "a standard being deleted is not enabled"
        );
        assert_eq!(observed.owner, Owner::Ours, "tagged as ours");
        assert_eq!(change.action, crate::plan::Action::Update);
        assert_eq!(tags.num_calls(), 1, "tags read because the hub differs");
    }

    /// Issue 13 item 10: a standard enabled by someone else besides the spec's made `drift`
    /// exit 2 forever. Only the desired subset is compared; a hub that has the spec's
    /// standards is a no-op whoever enabled it, and its tags are not even read.
    #[tokio::test]
    async fn an_extra_enabled_standard_is_not_drift_and_costs_no_tag_lookup() {
        let (describe, standards, tags) =
            (describe(), enabled(&[FSBP, PCI, CIS]), listed_tags(&[]));
        let provider = SecurityHubProvider::from_client(mock_client!(
            aws_sdk_securityhub,
            RuleMode::MatchAny,
            [&describe, &standards, &tags]
        ));
        let (observation, change) = plan(provider, &hub(), false).await;
        assert_eq!(change.action, crate::plan::Action::NoOp, "{change:?}");
        assert_eq!(
            observation.found[&hub().id].props["standards"],
            Value::List(vec![Value::str(FSBP), Value::str(CIS)])
        );
        assert_eq!(tags.num_calls(), 0, "no extra call for a hub in line");
    }

    /// No emulator serves the Security Hub standards or tag calls (moto 404): a hub enabled by
    /// someone else that lacks a spec standard is a conflict; `--adopt` tags it as ours, then
    /// enables the missing standard.
    #[tokio::test]
    async fn a_hub_someone_else_enabled_is_a_conflict_and_adopt_tags_it() {
        let (describe, standards, tags) = (describe(), enabled(&[FSBP]), listed_tags(&[]));
        let tag = mock!(Client::tag_resource)
            .match_requests(|request| {
                request.resource_arn() == Some(HUB_ARN)
                    && request.tags().is_some_and(|tags| {
                        tags.get("nc:env").map(String::as_str) == Some("stg")
                            && tags.get("nc:id").map(String::as_str)
                                == Some("observability.securityhub")
                    })
            })
            .then_output(|| TagResourceOutput::builder().build());
        let batch = mock!(Client::batch_enable_standards)
            .match_requests(|request| {
                request
                    .standards_subscription_requests()
                    .iter()
                    .filter_map(|r| r.standards_arn())
                    .collect::<Vec<_>>()
                    == vec![CIS]
            })
            .then_output(|| BatchEnableStandardsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_securityhub,
            RuleMode::MatchAny,
            [&describe, &standards, &tags, &tag, &batch]
        );
        let resource = tagged_hub();
        let (_, change) = plan(
            SecurityHubProvider::from_client(client.clone()),
            &resource,
            false,
        )
        .await;
        assert_eq!(change.action, crate::plan::Action::Conflict, "{change:?}");
        assert!(
            change
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("--adopt"),
            "{change:?}"
        );
        let (observation, change) = plan(
            SecurityHubProvider::from_client(client.clone()),
            &resource,
            true,
        )
        .await;
        assert_eq!(change.action, crate::plan::Action::Adopt, "{change:?}");
        let observed = &observation.found[&resource.id];
        assert_eq!(observed.owner, Owner::Foreign);
        SecurityHubProvider::from_client(client)
            .update(&resource, observed, &change.delta(), &ctx())
            .await
            .expect("adopt");
        assert_eq!(tag.num_calls(), 1, "the hub was tagged as ours");
        assert_eq!(batch.num_calls(), 1, "CIS was enabled");
    }

    /// EnableSecurityHub answers ResourceConflictException when the hub is enabled already: a
    /// hub someone else enabled after the plan is not taken over by create.
    #[tokio::test]
    async fn create_refuses_a_hub_someone_else_enabled_after_the_plan() {
        let enable = mock!(Client::enable_security_hub).then_error(|| {
            EnableSecurityHubError::ResourceConflictException(
                ResourceConflictException::builder().build(),
            )
        });
        let (describe, tags) = (describe(), listed_tags(&[("team", "security")]));
        let batch = mock!(Client::batch_enable_standards)
            .then_output(|| BatchEnableStandardsOutput::builder().build());
        let provider = SecurityHubProvider::from_client(mock_client!(
            aws_sdk_securityhub,
            RuleMode::MatchAny,
            [&enable, &describe, &tags, &batch]
        ));
        let error = provider
            .create(&tagged_hub(), &ctx())
            .await
            .expect_err("refused");
        assert!(error.message.contains("--adopt"), "{error}");
        assert_eq!(
            batch.num_calls(),
            0,
            "nothing enabled on someone else's hub"
        );
    }

    #[tokio::test]
    async fn create_enables_the_hub_then_only_the_missing_standards() {
        let enable = mock!(Client::enable_security_hub)
            .match_requests(|request| request.enable_default_standards() == Some(false))
            .then_output(|| {
                aws_sdk_securityhub::operation::enable_security_hub::EnableSecurityHubOutput::builder()
                    .build()
            });
        let standards = mock!(Client::get_enabled_standards).then_output(|| {
            GetEnabledStandardsOutput::builder()
                .standards_subscriptions(subscription(FSBP, StandardsStatus::Ready))
                .build()
        });
        let batch = mock!(Client::batch_enable_standards)
            .match_requests(|request| {
                let arns: Vec<&str> = request
                    .standards_subscription_requests()
                    .iter()
                    .filter_map(|r| r.standards_arn())
                    .collect();
                arns == vec![CIS]
            })
            .then_output(|| BatchEnableStandardsOutput::builder().build());
        let describe = mock!(Client::describe_hub)
            .then_output(|| DescribeHubOutput::builder().hub_arn("hub-arn").build());
        let provider = SecurityHubProvider::from_client(mock_client!(
            aws_sdk_securityhub,
            [&enable, &standards, &batch, &describe]
        ));
        let outputs = provider.create(&hub(), &ctx()).await.expect("create");
        assert_eq!(outputs["arn"], "hub-arn");
        assert_eq!(batch.num_calls(), 1, "CIS alone was enabled");
        assert_eq!(enable.num_calls(), 1);
    }
}
