//! Security Hub over mocked clients: moto answers EnableSecurityHub and DescribeHub but not
//! the standards or tag calls (404), so no emulator serves these paths.

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

const CIS: &str = "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/1.4.0";
const FSBP: &str =
    "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0";

fn hub() -> Resource {
    Resource::new("observability.securityhub", Kind::SecurityHubHub, "hub").prop(
        "standards",
        Value::List(vec![Value::str(FSBP), Value::str(CIS)]),
    )
}

fn ctx() -> StepCtx {
    StepCtx::silent(
        "observability.securityhub",
        "stg",
        std::time::Duration::from_secs(1),
    )
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
/// A provider over (a clone of) `client`.
fn provider_over(client: &Client) -> SecurityHubProvider {
    SecurityHubProvider::from_client(client.clone())
}

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
    let (describe, standards, tags) = (describe(), enabled(&[FSBP, PCI, CIS]), listed_tags(&[]));
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
    let (_, change) = plan(provider_over(&client), &resource, false).await;
    assert_eq!(change.action, crate::plan::Action::Conflict, "{change:?}");
    assert!(
        change
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("--adopt"),
        "{change:?}"
    );
    let (observation, change) = plan(provider_over(&client), &resource, true).await;
    assert_eq!(change.action, crate::plan::Action::Adopt, "{change:?}");
    let observed = &observation.found[&resource.id];
    assert_eq!(observed.owner, Owner::Foreign);
    SecurityHubProvider::from_client(client)
        .update(&Change::new(&resource, observed, &change.delta()), &ctx())
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
