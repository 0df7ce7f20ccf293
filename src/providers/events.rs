//! EventBridge rules that deliver events into a CloudWatch Logs group (GuardDuty findings into
//! the findings log group), with the Logs resource policy that lets EventBridge write there.
//!
//! Observe: one ListRules by the environment's name prefix, then per desired rule
//! ListTargetsByRule and ListTagsForResource (bounded), and one DescribeResourcePolicies for the
//! delivery policies. ListRules by the prefix already lists every rule of ours: a rule the spec
//! does not name has its tags read (only then, so a plan without changes pays nothing for it),
//! and one tagged ours for the environment is an orphan, planned for deletion like every other
//! taggable kind (the one rule of `aws::Sorter`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{Rule, RuleState, Target};

use super::aws::{
    Live, follow_pages, gone_is_done, keys_as_they_are, name_and_arn, observe_named, output,
    sdk_tags_of, sent, tag_api, tagged_only, tags_from,
};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Props, Resource, Value};
use crate::providers::Change;

const KINDS: &[Kind] = &[Kind::EventBridgeRule];
/// The id of the one target each rule has.
const TARGET_ID: &str = "log-group";

/// The EventBridge provider.
pub struct EventsProvider {
    client: Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

/// The action that tags a rule.
const TAGGING: &str = "events:TagResource";

tag_api! {
    /// Tags a rule with TagResource / UntagResource (by ARN; errors name the rule).
    RuleTags(Client) by resource_arn;
    "events:TagResource": tag_resource.set_tags(|pairs, name| sdk_tags_of(pairs, TAGGING, name));
    "events:UntagResource": untag_resource.set_tag_keys(keys_as_they_are);
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

    /// Rules whose names start with `prefix`, by name. ListRules has no SDK paginator: its
    /// pages are followed by [`follow_pages`].
    async fn rules(&self, prefix: &str) -> Result<BTreeMap<String, Rule>, ProviderError> {
        let rules = follow_pages(|token| async move {
            let call = self.client.list_rules().name_prefix(prefix);
            let call = call.set_next_token(token);
            let page = sent("events:ListRules", prefix, call.send()).await?;
            Ok((page.rules().to_vec(), page.next_token().map(str::to_string)))
        })
        .await?;
        Ok(rules
            .into_iter()
            .filter_map(|rule| Some((rule.name()?.to_string(), rule)))
            .collect())
    }

    /// A rule's tags.
    async fn tags(&self, name: &str, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = self.client.list_tags_for_resource().resource_arn(arn);
        let output = sent("events:ListTagsForResource", name, call.send()).await?;
        Ok(tags_from(output.tags(), |tag| (tag.key(), tag.value())))
    }

    /// Logs resource policies by name.
    async fn delivery_policies(&self) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = self.logs.describe_resource_policies();
        let output = sent(
            "logs:DescribeResourcePolicies",
            "resource policies",
            call.send(),
        )
        .await?;
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

    /// Everything about one desired rule.
    async fn read_rule(
        &self,
        resource: &Resource,
        rule: &Rule,
        policies: &BTreeMap<String, String>,
    ) -> Result<Live, ProviderError> {
        let name = resource.name.as_str();
        let arn = rule.arn().unwrap_or_default().to_string();
        let targets = async {
            let call = self.client.list_targets_by_rule().rule(name);
            sent("events:ListTargetsByRule", name, call.send()).await
        };
        let (targets, tags) = tokio::join!(targets, self.tags(name, &arn));
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
        Ok(Live::new(resource.kind, name, name)
            .tags(tags?)
            .props(props)
            .outputs(name_and_arn(name, &arn)))
    }

    async fn put_rule(
        &self,
        resource: &Resource,
        with_tags: bool,
    ) -> Result<String, ProviderError> {
        let name = resource.name.as_str();
        let tags = if with_tags {
            Some(sdk_tags_of(super::tag_pairs(resource), TAGGING, name)?)
        } else {
            None
        };
        let call = self
            .client
            .put_rule()
            .name(name)
            .event_pattern(resource.str_prop("event_pattern").unwrap_or_default())
            .state(RuleState::from(
                resource.str_prop("state").unwrap_or("ENABLED"),
            ))
            .description(resource.str_prop("description").unwrap_or_default())
            .set_tags(tags);
        let output = sent("events:PutRule", name, call.send()).await?;
        Ok(output.rule_arn().unwrap_or_default().to_string())
    }

    async fn put_target(&self, resource: &Resource) -> Result<(), ProviderError> {
        let name = resource.name.as_str();
        let target = Target::builder()
            .id(TARGET_ID)
            .arn(resource.str_prop("target_arn").unwrap_or_default())
            .build()
            .map_err(|error| ProviderError::local("events:PutTargets", name, error.to_string()))?;
        let call = self.client.put_targets().rule(name).targets(target);
        let output = sent("events:PutTargets", name, call.send()).await?;
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
        let call = self
            .logs
            .put_resource_policy()
            .policy_name(name)
            .policy_document(document.to_string());
        sent("logs:PutResourcePolicy", name, call.send()).await?;
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
        let policies = &policies;
        observe_named(
            desired,
            env,
            &rules,
            |resource, rule| async move { self.read_rule(resource, rule, policies).await.map(Some) },
            |name, rule| {
                let arn = rule.arn().unwrap_or_default();
                tagged_only(KINDS[0], name, name, name_and_arn(name, arn), self.tags(name, arn))
            },
        )
        .await
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        self.put_delivery_policy(resource).await?;
        let arn = self.put_rule(resource, true).await?;
        self.put_target(resource).await?;
        Ok(name_and_arn(&resource.name, &arn))
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let name = change.resource.name.as_str();
        if change.touches("delivery_policy") || change.touches("delivery_policy_name") {
            self.put_delivery_policy(change.resource).await?;
        }
        if ["event_pattern", "state", "description"]
            .iter()
            .any(|attribute| change.touches(attribute))
        {
            self.put_rule(change.resource, false).await?;
        }
        if change.touches("target_arn") {
            self.put_target(change.resource).await?;
        }
        let api = RuleTags::new(&self.client, output(change.observed, "arn"), name);
        change.sync_tags(&api).await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let name = observed.physical_id.as_str();
        let targets = self.client.remove_targets().rule(name).ids(TARGET_ID);
        gone_is_done("events:RemoveTargets", name, targets.send()).await?;
        let rule = self.client.delete_rule().name(name).send();
        gone_is_done("events:DeleteRule", name, rule).await
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
