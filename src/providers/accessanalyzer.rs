//! IAM Access Analyzer (regional): one account analyzer per region applied.
//!
//! Observe: one ListAnalyzers (type ACCOUNT), tags included. No emulator serves Access
//! Analyzer (LocalStack 501, moto 500): this provider is covered by unit tests over a mocked
//! SDK client, and integration tests turn it off with `iam.enable_access_analyzer = false`.
//!
//! `access_analyzer` props: `type` ("ACCOUNT"), `tags`. Outputs `arn`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_accessanalyzer::Client;
use aws_sdk_accessanalyzer::types::Type;

use super::aws::{aws_error, found};
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value, touches};
use crate::model::{Observation, Observed, Outputs, Owner, Props, Resource, Value};
use crate::plan::AttrChange;

const KIND: &str = "access_analyzer";
const KINDS: &[&str] = &[KIND];

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

#[async_trait]
impl Provider for AccessAnalyzerProvider {
    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let mut analyzers = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_analyzers()
                .r#type(Type::Account)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| aws_error("access-analyzer:ListAnalyzers", "account", error))?;
            analyzers.extend(page.analyzers().iter().cloned());
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        let mut observation = Observation::default();
        for resource in desired {
            let Some(analyzer) = analyzers
                .iter()
                .find(|analyzer| analyzer.name() == resource.name)
            else {
                continue;
            };
            let tags: BTreeMap<String, String> = analyzer
                .tags()
                .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let owner = Owner::from_tags(&tags, env);
            let mut props = Props::new();
            props.insert("type".into(), Value::str(analyzer.r#type().as_str()));
            props.insert("tags".into(), tags_value(tags));
            let mut outputs = Outputs::new();
            outputs.insert("arn".into(), analyzer.arn().to_string());
            observation.insert(Observed {
                id: resource.id.clone(),
                kind: KIND,
                physical_id: analyzer.arn().to_string(),
                props,
                outputs,
                owner,
                retain: false,
            });
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        let created = self
            .client
            .create_analyzer()
            .analyzer_name(name)
            .r#type(Type::from(resource.str_prop("type").unwrap_or("ACCOUNT")))
            .set_tags(Some(resource.tags().into_iter().collect()))
            .client_token(format!("nc-provision-{name}"))
            .send()
            .await
            .map_err(|error| aws_error("access-analyzer:CreateAnalyzer", name, error))?;
        let mut outputs = Outputs::new();
        if let Some(arn) = created.arn() {
            outputs.insert("arn".into(), arn.to_string());
        }
        Ok(outputs)
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        changes: &[AttrChange],
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let arn = observed.physical_id.as_str();
        if touches(changes, "tags") {
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                self.client
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|error| aws_error("access-analyzer:UntagResource", arn, error))?;
            }
            if !set.is_empty() {
                self.client
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(set.into_iter().collect()))
                    .send()
                    .await
                    .map_err(|error| aws_error("access-analyzer:TagResource", arn, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let name = observed
            .outputs
            .get("arn")
            .map_or(observed.physical_id.as_str(), |arn| {
                arn.rsplit('/').next().unwrap_or(arn)
            });
        found(
            self.client
                .delete_analyzer()
                .analyzer_name(name)
                .send()
                .await
                .map_err(|error| aws_error("access-analyzer:DeleteAnalyzer", name, error)),
        )?;
        Ok(())
    }
}
