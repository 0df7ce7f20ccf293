//! SNS topics with their KMS key, e-mail subscriptions and tags.
//!
//! Observe: one ListTopics for all, then per desired topic GetTopicAttributes,
//! ListSubscriptionsByTopic and ListTagsForResource, concurrently (bounded). Topics of this
//! environment's name prefix (`nc-<env>-`) that the spec does not name have their tags read —
//! only when there are such topics, so a plan without changes pays nothing for it — and those
//! tagged ours for the environment are orphans, planned for deletion like every other
//! taggable kind (the one rule of `aws::Sorter`). An e-mail subscription waiting
//! for its confirmation (`PendingConfirmation`) counts as present: that is the normal state until
//! someone clicks the link, not drift. A confirmed subscription the spec does not name is drift,
//! and apply unsubscribes it; a pending one cannot be removed (AWS expires it after three days),
//! so an unwanted pending subscription is not reported.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::Subscription;

use super::aws::{
    Live, found, gone_is_done, keys_as_they_are, name_and_arn, observe_named, sdk_tags_of, sent,
    tag_api, tagged_only, tags_from,
};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Props, Resource, Value};
use crate::providers::Change;

const KINDS: &[Kind] = &[Kind::SnsTopic];

/// The SNS provider (topics and their subscriptions).
pub struct SnsProvider {
    client: Client,
}

/// The action that tags a topic.
const TAGGING: &str = "sns:TagResource";

tag_api! {
    /// Tags a topic with TagResource / UntagResource (by ARN).
    TopicTags(Client) by resource_arn;
    "sns:TagResource": tag_resource.set_tags(|pairs, topic| sdk_tags_of(pairs, TAGGING, topic));
    "sns:UntagResource": untag_resource.set_tag_keys(keys_as_they_are);
}

/// `protocol:endpoint` entries of the `subscriptions` attribute.
fn desired_subscriptions(resource: &Resource) -> Vec<(String, String)> {
    match resource.props.get("subscriptions") {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|entry| entry.split_once(':'))
            .map(|(protocol, endpoint)| (protocol.to_string(), endpoint.to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

impl SnsProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> SnsProvider {
        SnsProvider { client: aws.sns() }
    }

    /// Topic name → ARN, for every topic of the account and region.
    async fn topics(&self) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = self.client.list_topics().into_paginator().items();
        let topics = sent("sns:ListTopics", "topics", call.send().try_collect()).await?;
        Ok(topics
            .iter()
            .filter_map(|topic| {
                let arn = topic.topic_arn()?;
                let name = arn.rsplit(':').next()?;
                Some((name.to_string(), arn.to_string()))
            })
            .collect())
    }

    /// The subscriptions of a topic (see [`subscribed`]).
    async fn subscriptions(&self, arn: &str) -> Result<Vec<Subscribed>, ProviderError> {
        let call = self.client.list_subscriptions_by_topic().topic_arn(arn);
        let pages = call.into_paginator().items().send();
        let listed = sent("sns:ListSubscriptionsByTopic", arn, pages.try_collect()).await?;
        Ok(listed.iter().filter_map(subscribed).collect())
    }

    /// A topic's tags.
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = self.client.list_tags_for_resource().resource_arn(arn);
        let output = sent("sns:ListTagsForResource", arn, call.send()).await?;
        Ok(tags_from(output.tags(), |tag| (tag.key(), tag.value())))
    }

    /// Everything about one desired topic; `None` when it is gone already.
    async fn read_topic(
        &self,
        resource: &Resource,
        arn: &str,
    ) -> Result<Option<Live>, ProviderError> {
        let attributes = async {
            let call = self.client.get_topic_attributes().topic_arn(arn);
            sent("sns:GetTopicAttributes", arn, call.send()).await
        };
        let (attributes, subscriptions, tags) =
            tokio::join!(attributes, self.subscriptions(arn), self.tags(arn));
        let Some(attributes) = found(attributes)? else {
            return Ok(None);
        };
        let attributes = attributes.attributes().cloned().unwrap_or_default();
        let attribute = |name: &str| Value::str(attributes.get(name).cloned().unwrap_or_default());
        let wanted = desired_subscriptions(resource);
        let mut entries: Vec<String> = subscriptions?
            .into_iter()
            .filter(|(protocol, endpoint, arn)| {
                is_confirmed(arn) || wanted_contains(&wanted, protocol, endpoint)
            })
            .map(|(protocol, endpoint, _)| format!("{protocol}:{endpoint}"))
            .collect();
        entries.sort();
        entries.dedup();
        let mut props = Props::new();
        props.insert("kms_key".to_string(), attribute("KmsMasterKeyId"));
        props.insert("display_name".to_string(), attribute("DisplayName"));
        props.insert(
            "subscriptions".to_string(),
            Value::List(entries.into_iter().map(Value::Str).collect()),
        );
        Ok(Some(
            Live::new(KINDS[0], arn, &resource.name)
                .tags(tags?)
                .props(props)
                .outputs(name_and_arn(&resource.name, arn)),
        ))
    }

    async fn set_attribute(&self, arn: &str, name: &str, value: &str) -> Result<(), ProviderError> {
        let call = self
            .client
            .set_topic_attributes()
            .topic_arn(arn)
            .attribute_name(name)
            .attribute_value(value);
        sent("sns:SetTopicAttributes", arn, call.send()).await?;
        Ok(())
    }

    /// Subscribes every desired endpoint that is not yet subscribed (pending ones included),
    /// and unsubscribes confirmed subscriptions the spec does not name.
    async fn reconcile_subscriptions(
        &self,
        resource: &Resource,
        arn: &str,
        live: &[Subscribed],
    ) -> Result<(), ProviderError> {
        let wanted = desired_subscriptions(resource);
        for (protocol, endpoint, subscription) in live {
            if is_confirmed(subscription) && !wanted_contains(&wanted, protocol, endpoint) {
                let call = self.client.unsubscribe().subscription_arn(subscription);
                sent("sns:Unsubscribe", subscription, call.send()).await?;
            }
        }
        for (protocol, endpoint) in wanted {
            if live
                .iter()
                .any(|(p, e, _)| *p == protocol && e.eq_ignore_ascii_case(&endpoint))
            {
                continue;
            }
            let call = self
                .client
                .subscribe()
                .topic_arn(arn)
                .protocol(&protocol)
                .endpoint(&endpoint);
            sent("sns:Subscribe", arn, call.send()).await?;
        }
        Ok(())
    }
}

/// What SNS says of a subscription that waits for its confirmation.
const PENDING: &str = "PendingConfirmation";

/// A listed subscription as (protocol, endpoint, subscription ARN or [`PENDING`]); `None`
/// without a protocol or an endpoint.
fn subscribed(subscription: &Subscription) -> Option<Subscribed> {
    let arn = subscription.subscription_arn().unwrap_or(PENDING);
    Some((
        subscription.protocol()?.to_string(),
        subscription.endpoint()?.to_string(),
        arn.to_string(),
    ))
}

/// One subscription: protocol, endpoint, subscription ARN (or [`PENDING`]).
type Subscribed = (String, String, String);

fn is_confirmed(subscription_arn: &str) -> bool {
    subscription_arn.starts_with("arn:")
}

fn wanted_contains(wanted: &[(String, String)], protocol: &str, endpoint: &str) -> bool {
    wanted
        .iter()
        .any(|(p, e)| p == protocol && e.eq_ignore_ascii_case(endpoint))
}

#[async_trait]
impl Provider for SnsProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        observe_named(
            desired,
            env,
            &self.topics().await?,
            |resource, arn| self.read_topic(resource, arn),
            |name, arn| {
                let tags = self.tags(arn);
                tagged_only(KINDS[0], arn, name, name_and_arn(name, arn), tags)
            },
        )
        .await
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        let mut request = self
            .client
            .create_topic()
            .name(name)
            .set_tags(Some(sdk_tags_of(
                super::tag_pairs(resource),
                TAGGING,
                name,
            )?));
        if let Some(key) = resource.str_prop("kms_key").filter(|key| !key.is_empty()) {
            request = request.attributes("KmsMasterKeyId", key);
        }
        if let Some(display) = resource.str_prop("display_name").filter(|d| !d.is_empty()) {
            request = request.attributes("DisplayName", display);
        }
        // CreateTopic is idempotent for the same name and attributes.
        let call = request;
        let created = sent("sns:CreateTopic", name, call.send()).await?;
        let arn = created.topic_arn().unwrap_or_default().to_string();
        let live = self.subscriptions(&arn).await?;
        self.reconcile_subscriptions(resource, &arn, &live).await?;
        Ok(name_and_arn(name, &arn))
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let arn = change.observed.physical_id.as_str();
        for (name, attribute) in [
            ("kms_key", "KmsMasterKeyId"),
            ("display_name", "DisplayName"),
        ] {
            if change.touches(name) {
                let value = change.resource.str_prop(name).unwrap_or_default();
                self.set_attribute(arn, attribute, value).await?;
            }
        }
        if change.touches("subscriptions") {
            let live = self.subscriptions(arn).await?;
            self.reconcile_subscriptions(change.resource, arn, &live)
                .await?;
        }
        let api = TopicTags::new(&self.client, arn, arn);
        change.sync_tags(&api).await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let arn = observed.physical_id.as_str();
        let call = self.client.delete_topic().topic_arn(arn).send();
        gone_is_done("sns:DeleteTopic", arn, call).await
    }
}
