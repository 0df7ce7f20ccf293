//! EventBridge rules that deliver events into a CloudWatch Logs group (GuardDuty findings into
//! the findings log group), with the Logs resource policy that lets EventBridge write there.
//!
//! Observe: one ListRules by the environment's name prefix, then per rule ListTargetsByRule and
//! ListTagsForResource, and one DescribeResourcePolicies for the delivery policies.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use super::aws::{aws_error, found};
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Owner, Props, Resource, Value};

const KINDS: &[Kind] = &[Kind::EventBridgeRule];
/// The id of the one target each rule has.
const TARGET_ID: &str = "log-group";

/// The EventBridge provider.
pub struct EventsProvider {
    client: Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl EventsProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> EventsProvider {
        EventsProvider {
            client: aws.eventbridge(),
            logs: aws.logs(),
        }
    }

    /// Rules whose names start with `prefix`, by name.
    async fn rules(
        &self,
        prefix: &str,
    ) -> Result<BTreeMap<String, aws_sdk_eventbridge::types::Rule>, ProviderError> {
        let mut rules = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_rules()
                .name_prefix(prefix)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| aws_error("events:ListRules", prefix, error))?;
            for rule in page.rules() {
                if let Some(name) = rule.name() {
                    rules.insert(name.to_string(), rule.clone());
                }
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => return Ok(rules),
            }
        }
    }

    /// Logs resource policies by name.
    async fn delivery_policies(&self) -> Result<BTreeMap<String, String>, ProviderError> {
        let output = self
            .logs
            .describe_resource_policies()
            .send()
            .await
            .map_err(|error| {
                aws_error("logs:DescribeResourcePolicies", "resource policies", error)
            })?;
        Ok(output
            .resource_policies()
            .iter()
            .filter_map(|policy| {
                Some((
                    policy.policy_name()?.to_string(),
                    policy.policy_document()?.to_string(),
                ))
            })
            .collect())
    }

    async fn observe_rule(
        &self,
        resource: &Resource,
        rule: &aws_sdk_eventbridge::types::Rule,
        policies: &BTreeMap<String, String>,
        env: &str,
    ) -> Result<Observed, ProviderError> {
        let name = resource.name.as_str();
        let arn = rule.arn().unwrap_or_default().to_string();
        let targets = async {
            self.client
                .list_targets_by_rule()
                .rule(name)
                .send()
                .await
                .map_err(|error| aws_error("events:ListTargetsByRule", name, error))
        };
        let tags = async {
            self.client
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .map_err(|error| aws_error("events:ListTagsForResource", name, error))
        };
        let (targets, tags) = tokio::join!(targets, tags);
        let mut props = Props::new();
        props.insert(
            "event_pattern".into(),
            Value::Str(canonical_json(rule.event_pattern().unwrap_or_default())),
        );
        props.insert(
            "state".into(),
            Value::str(rule.state().map_or("DISABLED", RuleState::as_str)),
        );
        props.insert(
            "description".into(),
            Value::str(rule.description().unwrap_or_default()),
        );
        let target = targets?
            .targets()
            .iter()
            .find(|target| target.id() == TARGET_ID)
            .map(|target| target.arn().to_string())
            .unwrap_or_default();
        props.insert("target_arn".into(), Value::Str(target));
        if let Some(policy_name) = resource.str_prop("delivery_policy_name")
            && let Some(document) = policies.get(policy_name)
        {
            props.insert("delivery_policy_name".into(), Value::str(policy_name));
            let document = crate::policy::parse(document).map_err(|error| {
                ProviderError::local(
                    "logs:DescribeResourcePolicies",
                    policy_name,
                    format!("unreadable policy: {error}"),
                )
            })?;
            props.insert("delivery_policy".into(), Value::Policy(document));
        }
        let tags: BTreeMap<String, String> = tags?
            .tags()
            .iter()
            .map(|tag| (tag.key().to_string(), tag.value().to_string()))
            .collect();
        let owner = Owner::from_tags(&tags, env);
        props.insert("tags".into(), tags_value(tags));
        Ok(Observed {
            id: resource.id.clone(),
            kind: resource.kind,
            physical_id: name.to_string(),
            props,
            outputs: outputs(name, &arn),
            owner,
            retain: false,
            refused: None,
        })
    }

    async fn put_rule(
        &self,
        resource: &Resource,
        with_tags: bool,
    ) -> Result<String, ProviderError> {
        let name = resource.name.as_str();
        let tags = if with_tags {
            Some(event_tags(super::tag_pairs(resource), name)?)
        } else {
            None
        };
        let output = self
            .client
            .put_rule()
            .name(name)
            .event_pattern(resource.str_prop("event_pattern").unwrap_or_default())
            .state(RuleState::from(
                resource.str_prop("state").unwrap_or("ENABLED"),
            ))
            .description(resource.str_prop("description").unwrap_or_default())
            .set_tags(tags)
            .send()
            .await
            .map_err(|error| aws_error("events:PutRule", name, error))?;
        Ok(output.rule_arn().unwrap_or_default().to_string())
    }

    async fn put_target(&self, resource: &Resource) -> Result<(), ProviderError> {
        let name = resource.name.as_str();
        let target = Target::builder()
            .id(TARGET_ID)
            .arn(resource.str_prop("target_arn").unwrap_or_default())
            .build()
            .map_err(|error| ProviderError::local("events:PutTargets", name, error.to_string()))?;
        let output = self
            .client
            .put_targets()
            .rule(name)
            .targets(target)
            .send()
            .await
            .map_err(|error| aws_error("events:PutTargets", name, error))?;
        if output.failed_entry_count() > 0 {
            let why: Vec<String> = output
                .failed_entries()
                .iter()
                .map(|entry| {
                    format!(
                        "{}: {}",
                        entry.error_code().unwrap_or_default(),
                        entry.error_message().unwrap_or_default()
                    )
                })
                .collect();
            return Err(ProviderError::local(
                "events:PutTargets",
                name,
                why.join("; "),
            ));
        }
        Ok(())
    }

    async fn put_delivery_policy(&self, resource: &Resource) -> Result<(), ProviderError> {
        let (Some(name), Some(document)) = (
            resource.str_prop("delivery_policy_name"),
            resource
                .props
                .get("delivery_policy")
                .and_then(Value::as_policy),
        ) else {
            return Ok(());
        };
        self.logs
            .put_resource_policy()
            .policy_name(name)
            .policy_document(document.to_string())
            .send()
            .await
            .map_err(|error| aws_error("logs:PutResourcePolicy", name, error))?;
        Ok(())
    }
}

/// JSON with sorted keys and no spaces, so that equal patterns compare equal.
fn canonical_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text).map_or_else(
        |_| text.to_string(),
        |value| crate::policy::canonical_text(&value),
    )
}

fn outputs(name: &str, arn: &str) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.insert("name".into(), name.to_string());
    outputs.insert("arn".into(), arn.to_string());
    outputs
}

fn event_tags(pairs: Vec<(String, String)>, name: &str) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| {
                    ProviderError::local("events:TagResource", name, error.to_string())
                })
        })
        .collect()
}

#[async_trait]
impl Provider for EventsProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let prefix = format!("nc-{env}-");
        let (rules, policies) = tokio::join!(self.rules(&prefix), self.delivery_policies());
        let (rules, policies) = (rules?, policies?);
        let reads = desired.iter().filter_map(|resource| {
            rules
                .get(&resource.name)
                .map(|rule| self.observe_rule(resource, rule, &policies, env))
        });
        let mut observation = Observation::default();
        for observed in futures::future::try_join_all(reads).await? {
            observation.insert(observed);
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        self.put_delivery_policy(resource).await?;
        let arn = self.put_rule(resource, true).await?;
        self.put_target(resource).await?;
        Ok(outputs(&resource.name, &arn))
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        if delta.touches("delivery_policy") || delta.touches("delivery_policy_name") {
            self.put_delivery_policy(resource).await?;
        }
        if ["event_pattern", "state", "description"]
            .iter()
            .any(|attribute| delta.touches(attribute))
        {
            self.put_rule(resource, false).await?;
        }
        if delta.touches("target_arn") {
            self.put_target(resource).await?;
        }
        let arn = observed.outputs.get("arn").cloned().unwrap_or_default();
        if delta.touches("tags") {
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                self.client
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|error| aws_error("events:UntagResource", name, error))?;
            }
            if !set.is_empty() {
                self.client
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(event_tags(set, name)?))
                    .send()
                    .await
                    .map_err(|error| aws_error("events:TagResource", name, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let name = observed.physical_id.as_str();
        found(
            self.client
                .remove_targets()
                .rule(name)
                .ids(TARGET_ID)
                .send()
                .await
                .map_err(|error| aws_error("events:RemoveTargets", name, error)),
        )?;
        found(
            self.client
                .delete_rule()
                .name(name)
                .send()
                .await
                .map_err(|error| aws_error("events:DeleteRule", name, error)),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_patterns_compare_whatever_their_key_order_and_spacing() {
        let ours =
            canonical_json(r#"{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"]}"#);
        let theirs = canonical_json(
            "{\"detail-type\": [\"GuardDuty Finding\"],\n \"source\": [\"aws.guardduty\"]}",
        );
        assert_eq!(ours, theirs);
        assert_ne!(ours, canonical_json(r#"{"source":["aws.securityhub"]}"#));
    }
}
