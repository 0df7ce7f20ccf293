//! IAM Access Analyzer (regional): one account analyzer per region applied.
//!
//! Observe: one ListAnalyzers (type ACCOUNT), tags included. AWS allows one account-level
//! analyzer per analyzer type, account and region, a quota that cannot be raised
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-quotas.html>): the
//! analyzer of the spec's name is observed if it exists, otherwise the region's account
//! analyzer under whatever name it has, which is then kept (creating a second one would fail
//! on the quota). Ownership is read from its tags: an analyzer not tagged as ours is a conflict
//! until `--adopt`, whose update tags it. No emulator serves Access
//! Analyzer (LocalStack 501, moto 500): this provider is covered by unit tests over a mocked
//! SDK client, and integration tests turn it off with `iam.enable_access_analyzer = false`.
//!
//! `access_analyzer` props: `type` ("ACCOUNT"), `tags`. Outputs `arn`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_accessanalyzer::Client;
use aws_sdk_accessanalyzer::types::{AnalyzerSummary, Type};

use super::aws::{Live, aws_error, gone_is_done, keys_as_they_are, sent, tag_api, tag_map_of};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Props, Resource, Value};
use crate::providers::Change;

const KINDS: &[Kind] = &[Kind::AccessAnalyzer];

/// The Access Analyzer provider.
pub struct AccessAnalyzerProvider {
    client: Client,
}

impl AccessAnalyzerProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> AccessAnalyzerProvider {
        AccessAnalyzerProvider {
            client: aws.accessanalyzer(),
        }
    }

    /// A provider over a given client (tests use mocked clients).
    #[must_use]
    pub fn with_client(client: Client) -> AccessAnalyzerProvider {
        AccessAnalyzerProvider { client }
    }
}

/// The region's account analyzers (ListAnalyzers, every page).
async fn account_analyzers(client: &Client) -> Result<Vec<AnalyzerSummary>, ProviderError> {
    let call = client
        .list_analyzers()
        .r#type(Type::Account)
        .into_paginator()
        .items();
    let action = "access-analyzer:ListAnalyzers";
    sent(action, "account", call.send().try_collect()).await
}

/// An analyzer as read: its type, tags, ARN and name.
fn live(analyzer: &AnalyzerSummary) -> Live {
    let tags: BTreeMap<String, String> = analyzer
        .tags()
        .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut props = Props::new();
    props.insert("type".into(), Value::str(analyzer.r#type().as_str()));
    let mut outputs = Outputs::new();
    outputs.insert("arn".into(), analyzer.arn().to_string());
    outputs.insert("name".into(), analyzer.name().to_string());
    Live::new(Kind::AccessAnalyzer, analyzer.arn(), analyzer.name())
        .tags(tags)
        .props(props)
        .outputs(outputs)
}

tag_api! {
    /// Tags of one analyzer, by ARN: TagResource / UntagResource.
    AnalyzerTags(Client) by resource_arn;
    "access-analyzer:TagResource": tag_resource.set_tags(tag_map_of);
    "access-analyzer:UntagResource": untag_resource.set_tag_keys(keys_as_they_are);
}

#[async_trait]
impl Provider for AccessAnalyzerProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let analyzers = account_analyzers(&self.client).await?;
        let mut observation = Observation::default();
        for resource in desired {
            // The spec's analyzer by name, or else the region's one account analyzer.
            let by_name = analyzers
                .iter()
                .find(|analyzer| analyzer.name() == resource.name);
            if let Some(analyzer) = by_name.or_else(|| analyzers.first()) {
                observation.insert(live(analyzer).observed(resource.id.clone(), env));
            }
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let name = &resource.name;
        let created = self
            .client
            .create_analyzer()
            .analyzer_name(name)
            .r#type(Type::from(resource.str_prop("type").unwrap_or("ACCOUNT")))
            .set_tags(Some(resource.tags().into_iter().collect()))
            .client_token(format!("nc-provision-{name}"))
            .send()
            .await
            .map_err(|error| {
                let mut error = aws_error("access-analyzer:CreateAnalyzer", name, error);
                if error.code.as_deref() == Some("ServiceQuotaExceededException") {
                    error.message = format!(
                        "{} (the region already has its one account analyzer, made after the \
                         plan; make a new plan, and apply --adopt to take it over)",
                        error.message
                    );
                }
                error
            })?;
        let mut outputs = Outputs::new();
        if let Some(arn) = created.arn() {
            outputs.insert("arn".into(), arn.to_string());
        }
        Ok(outputs)
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let arn = change.observed.physical_id.as_str();
        let api = AnalyzerTags::new(&self.client, arn, arn);
        change.sync_tags(&api).await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let name = observed
            .outputs
            .get("arn")
            .map_or(observed.physical_id.as_str(), |arn| {
                arn.rsplit('/').next().unwrap_or(arn)
            });
        let call = self.client.delete_analyzer().analyzer_name(name);
        gone_is_done("access-analyzer:DeleteAnalyzer", name, call.send()).await
    }
}

/// No emulator serves Access Analyzer: these tests run the provider over a mocked SDK client.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_accessanalyzer::operation::create_analyzer::CreateAnalyzerOutput;
    use aws_sdk_accessanalyzer::operation::list_analyzers::ListAnalyzersOutput;
    use aws_sdk_accessanalyzer::operation::tag_resource::TagResourceOutput;
    use aws_sdk_accessanalyzer::operation::untag_resource::UntagResourceOutput;
    use aws_sdk_accessanalyzer::types::{AnalyzerStatus, AnalyzerSummary};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;
    use crate::model::Observation;
    use crate::model::Owner;
    use crate::plan::{Action, DiffOptions, diff};

    const ARN: &str = "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/nc-stg-account";

    /// The analyzer's tags, complete.
    const COMPLETE: [(&str, &str); 3] = [
        ("ManagedBy", "nc-provision"),
        ("nc:env", "stg"),
        ("nc:id", "iam.access_analyzer"),
    ];

    fn desired() -> Resource {
        let tags: BTreeMap<String, String> = COMPLETE
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Resource::new(
            "iam.access_analyzer",
            Kind::AccessAnalyzer,
            "nc-stg-account",
        )
        .prop("type", "ACCOUNT")
        .prop("tags", Value::Map(tags))
    }

    fn summary(tags: &[(&str, &str)]) -> AnalyzerSummary {
        summary_of(ARN, "nc-stg-account", tags)
    }

    fn summary_of(arn: &str, name: &str, tags: &[(&str, &str)]) -> AnalyzerSummary {
        AnalyzerSummary::builder()
            .arn(arn)
            .name(name)
            .r#type(Type::Account)
            .created_at(aws_smithy_types::DateTime::from_secs(0))
            .status(AnalyzerStatus::Active)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
            ))
            .build()
            .unwrap()
    }

    fn ctx() -> StepCtx {
        StepCtx::silent("iam.access_analyzer", "stg", Duration::from_secs(1))
    }

    /// ListAnalyzers, answering `analyzer`.
    fn listing(analyzer: AnalyzerSummary) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_accessanalyzer::Client::list_analyzers).then_output(move || {
            ListAnalyzersOutput::builder()
                .analyzers(analyzer.clone())
                .build()
                .unwrap()
        })
    }

    /// A provider whose account lists only `analyzer`.
    fn listing_only(analyzer: AnalyzerSummary) -> AccessAnalyzerProvider {
        let list = listing(analyzer);
        AccessAnalyzerProvider::with_client(mock_client!(aws_sdk_accessanalyzer, [&list]))
    }

    /// A provider whose account answers the listing `list` and one more call, `call`.
    fn listing_and(list: &Rule, call: &Rule) -> AccessAnalyzerProvider {
        let client = mock_client!(aws_sdk_accessanalyzer, RuleMode::MatchAny, [list, call]);
        AccessAnalyzerProvider::with_client(client)
    }

    async fn plan(provider: &AccessAnalyzerProvider) -> (Observation, Action) {
        let resource = desired();
        let observation = provider.observe(&[&resource], "stg").await.unwrap();
        let graph = crate::model::DesiredGraph::new(vec![resource]).unwrap();
        let changes = diff(&graph, &observation, DiffOptions::default());
        (observation, changes[0].action)
    }

    #[tokio::test]
    async fn a_missing_analyzer_is_created_as_an_account_analyzer_with_tags_and_a_client_token() {
        let list = mock!(aws_sdk_accessanalyzer::Client::list_analyzers)
            .match_requests(|request| request.r#type() == Some(&Type::Account))
            .then_output(|| {
                ListAnalyzersOutput::builder()
                    .set_analyzers(Some(Vec::new()))
                    .build()
                    .unwrap()
            });
        let create = mock!(aws_sdk_accessanalyzer::Client::create_analyzer)
            .match_requests(|request| {
                request.analyzer_name() == Some("nc-stg-account")
                    && request.r#type() == Some(&Type::Account)
                    && request.client_token() == Some("nc-provision-nc-stg-account")
                    && request.tags().is_some_and(|tags| {
                        tags.get("nc:id").map(String::as_str) == Some("iam.access_analyzer")
                    })
            })
            .then_output(|| CreateAnalyzerOutput::builder().arn(ARN).build());
        let provider = listing_and(&list, &create);
        let (_, action) = plan(&provider).await;
        assert_eq!(action, Action::Create);
        let outputs = provider.create(&desired(), &ctx()).await.unwrap();
        assert_eq!(outputs["arn"], ARN);
        assert_eq!(create.num_calls(), 1);
        assert_eq!(list.num_calls(), 1, "one ListAnalyzers per observe");
    }

    #[tokio::test]
    async fn an_existing_analyzer_is_no_change_and_a_lost_tag_is_put_back() {
        let provider = listing_only(summary(&COMPLETE));
        let (observation, action) = plan(&provider).await;
        assert_eq!(action, Action::NoOp);
        assert_eq!(
            observation.found.values().next().unwrap().owner,
            Owner::Ours
        );

        let list = listing(summary(&COMPLETE[..2]));
        let tag = mock!(aws_sdk_accessanalyzer::Client::tag_resource)
            .match_requests(|request| {
                request.resource_arn() == Some(ARN)
                    && request
                        .tags()
                        .is_some_and(|tags| tags.len() == 1 && tags.contains_key("nc:id"))
            })
            .then_output(|| TagResourceOutput::builder().build());
        let provider = listing_and(&list, &tag);
        let (observation, action) = plan(&provider).await;
        assert_eq!(action, Action::Update);
        let observed = observation.found.values().next().unwrap();
        provider
            .update(
                &Change::new(&desired(), observed, &crate::model::Delta::new(["tags"])),
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!(tag.num_calls(), 1);
    }

    const OTHER_ARN: &str = "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/ct-account";

    fn other_summary(tags: &[(&str, &str)]) -> AnalyzerSummary {
        summary_of(OTHER_ARN, "ct-account", tags)
    }

    /// AWS allows one account analyzer per region: one made by someone else under another
    /// name is the region's analyzer. It is a conflict, adopted by tagging it, and its name is
    /// kept afterwards (no second analyzer, which the quota would refuse).
    #[tokio::test]
    async fn the_regions_analyzer_under_another_name_is_adopted_by_tagging_and_kept() {
        let list = listing(other_summary(&[("team", "security")]));
        let tag = mock!(aws_sdk_accessanalyzer::Client::tag_resource)
            .match_requests(|request| {
                request.resource_arn() == Some(OTHER_ARN)
                    && request.tags().is_some_and(|tags| {
                        tags.get("ManagedBy").map(String::as_str) == Some("nc-provision")
                            && tags.get("nc:env").map(String::as_str) == Some("stg")
                    })
            })
            .then_output(|| TagResourceOutput::builder().build());
        let untag = mock!(aws_sdk_accessanalyzer::Client::untag_resource)
            .then_output(|| UntagResourceOutput::builder().build());
        let create = mock!(aws_sdk_accessanalyzer::Client::create_analyzer)
            .then_output(|| CreateAnalyzerOutput::builder().arn(ARN).build());
        let client = mock_client!(
            aws_sdk_accessanalyzer,
            RuleMode::MatchAny,
            [&list, &tag, &untag, &create]
        );
        let provider = AccessAnalyzerProvider::with_client(client);
        let (observation, action) = plan(&provider).await;
        assert_eq!(action, Action::Conflict);
        let observed = observation.found.values().next().unwrap().clone();
        assert_eq!(observed.physical_id, OTHER_ARN);
        assert_eq!(observed.owner, Owner::Foreign);

        let resource = desired();
        let graph = crate::model::DesiredGraph::new(vec![resource.clone()]).unwrap();
        let changes = diff(&graph, &observation, DiffOptions { adopt: true });
        assert_eq!(changes[0].action, Action::Adopt);
        provider
            .update(
                &Change::new(&resource, &observed, &changes[0].delta()),
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!(tag.num_calls(), 1, "tagged as ours");
        assert_eq!(untag.num_calls(), 1, "someone else's tag removed");
        assert_eq!(create.num_calls(), 0, "no second analyzer");

        let provider = listing_only(other_summary(&COMPLETE));
        let (observation, action) = plan(&provider).await;
        assert_eq!(action, Action::NoOp, "adopted: ours under its own name");
        assert_eq!(
            observation.found.values().next().unwrap().outputs["name"],
            "ct-account"
        );
    }

    #[tokio::test]
    async fn a_foreign_analyzer_of_the_same_name_is_a_conflict() {
        let (_, action) = plan(&listing_only(summary(&[]))).await;
        assert_eq!(action, Action::Conflict);
    }
}
