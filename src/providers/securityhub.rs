//! Security Hub: enabled in the region, with the standards the spec names (CIS AWS Foundations
//! and AWS Foundational Security Best Practices).
//!
//! Observe: DescribeHub (is it enabled?) and GetEnabledStandards. The hub is a regional
//! singleton without tags of its own in DescribeHub, so it is always ours once enabled.
//! moto answers EnableSecurityHub and DescribeHub but not the standards calls (404): the
//! standards code is covered by the mocked-client tests below.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{StandardsStatus, StandardsSubscriptionRequest};

use super::aws::aws_error;
use super::{Aws, Provider, ProviderError, StepCtx, touches};
use crate::model::{Observation, Observed, Outputs, Owner, Resource, Value};
use crate::plan::AttrChange;

const KINDS: &[&str] = &["securityhub_hub"];

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
    fn kinds(&self) -> &'static [&'static str] {
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
        let mut props = std::collections::BTreeMap::new();
        props.insert(
            "standards".into(),
            Value::List(enabled.into_iter().map(Value::Str).collect()),
        );
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), arn.clone());
        observation.insert(Observed {
            id: resource.id.clone(),
            kind: KINDS[0],
            physical_id: arn,
            props,
            outputs,
            owner: Owner::Ours,
            retain: false,
        });
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let mut request = self
            .client
            .enable_security_hub()
            .enable_default_standards(false);
        for (key, value) in resource
            .create_inputs
            .get("tags")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default()
        {
            request = request.tags(key, value);
        }
        match request.send().await {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_conflict_exception()) => {}
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
        changes: &[AttrChange],
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        if touches(changes, "standards") {
            let enabled = self.enabled_standards().await?;
            self.enable_missing(resource, &enabled).await?;
        }
        Ok(observed.outputs.clone())
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
    use aws_sdk_securityhub::operation::get_enabled_standards::GetEnabledStandardsOutput;
    use aws_sdk_securityhub::types::StandardsSubscription;
    use aws_smithy_mocks::{mock, mock_client};

    const CIS: &str =
        "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/1.4.0";
    const FSBP: &str =
        "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0";

    fn hub() -> Resource {
        Resource::new("observability.securityhub", "securityhub_hub", "hub").prop(
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

    #[tokio::test]
    async fn observes_the_enabled_standards_and_ignores_the_ones_being_deleted() {
        let describe = mock!(Client::describe_hub).then_output(|| {
            DescribeHubOutput::builder()
                .hub_arn("arn:aws:securityhub:us-east-1:123456789012:hub/default")
                .build()
        });
        let standards = mock!(Client::get_enabled_standards).then_output(|| {
            GetEnabledStandardsOutput::builder()
                .standards_subscriptions(subscription(FSBP, StandardsStatus::Ready))
                .standards_subscriptions(subscription(CIS, StandardsStatus::Deleting))
                .build()
        });
        let provider = SecurityHubProvider::from_client(mock_client!(
            aws_sdk_securityhub,
            [&describe, &standards]
        ));
        let resource = hub();
        let observation = provider
            .observe(&[&resource], "stg")
            .await
            .expect("observe");
        let observed = &observation.found[&resource.id];
        assert_eq!(
            observed.props["standards"],
            Value::List(vec![Value::str(FSBP)]),
            "a standard being deleted is not enabled"
        );
        let changes = crate::plan::diff(
            &crate::model::DesiredGraph::new(vec![resource]).expect("graph"),
            &observation,
            crate::plan::DiffOptions::default(),
        );
        assert_eq!(changes[0].action, crate::plan::Action::Update);
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
