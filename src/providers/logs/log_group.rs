//! Log groups: retention, KMS encryption and tags. Observe: one DescribeLogGroups per distinct
//! name prefix, then ListTagsForResource per group that may be a desired one (bounded). A group
//! whose name is only known at apply time (a `Concat` of references, e.g. a flow-log group named
//! after the VPC id) is found under its prefix by its `nc:id` tag; several groups may carry one
//! `nc:id` (a flow-log group kept after its VPC was replaced): the newest is the one in use, the
//! older ones are orphans under `<id>~<name>`. That rule — by name when the name is known, else
//! by tag, newest first — is this kind's own, so it does not go through `aws::Sorter`. Log
//! groups hold log data: they are retained, never deleted by the tool.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_cloudwatchlogs::Client;

use super::LogsProvider;
use crate::model::{
    Kind, LogicalId, Observation, Observed, Outputs, Owner, Props, Resource, TAG_ID, Value,
};
use crate::providers::ProviderError;
use crate::providers::aws::{
    Change, Live, found, gone_is_done, keys_as_they_are, name_and_arn, non_empty_prop, output,
    read_all, sent, tag_api, tag_map_of, tag_pairs,
};

/// A log group as DescribeLogGroups lists it.
#[derive(Debug, Clone)]
struct Listed {
    name: String,
    arn: String,
    retention_days: i64,
    kms_key: String,
    /// Creation time, milliseconds since the epoch.
    created: i64,
}

/// The group name a resource wants, when it is already known (not a pending reference).
fn known_name(resource: &Resource) -> Option<String> {
    match resource.props.get("group_name") {
        Some(Value::Str(name)) => Some(name.clone()),
        Some(_) => None,
        None => Some(resource.name.clone()),
    }
}

/// The prefix a resource is looked up under.
fn prefix_of(resource: &Resource) -> String {
    resource
        .str_prop("name_prefix")
        .map(str::to_string)
        .or_else(|| known_name(resource))
        .unwrap_or_default()
}

/// The distinct prefixes to list, dropping any prefix another one already covers.
fn distinct_prefixes(prefixes: impl IntoIterator<Item = String>) -> Vec<String> {
    let all: BTreeSet<String> = prefixes.into_iter().collect();
    all.iter()
        .filter(|prefix| {
            !all.iter()
                .any(|other| other != *prefix && prefix.starts_with(other.as_str()))
        })
        .cloned()
        .collect()
}

/// The group name of a resource whose references are resolved (create and update).
fn resolved_name(resource: &Resource) -> String {
    resource
        .str_prop("group_name")
        .map_or_else(|| resource.name.clone(), str::to_string)
}

tag_api! {
    /// Tags a group with TagResource / UntagResource (by ARN; errors name the group).
    GroupTags(Client) by resource_arn;
    "logs:TagResource": tag_resource.set_tags(tag_map_of);
    "logs:UntagResource": untag_resource.set_tag_keys(keys_as_they_are);
}

impl LogsProvider {
    /// Log groups whose names start with `prefix` (every group when it is empty).
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, ProviderError> {
        let request = self
            .client
            .describe_log_groups()
            .set_log_group_name_prefix((!prefix.is_empty()).then(|| prefix.to_string()));
        let call = request.into_paginator().items();
        let groups = sent("logs:DescribeLogGroups", prefix, call.send().try_collect()).await?;
        Ok(groups
            .iter()
            .filter_map(|group| {
                let name = group.log_group_name()?;
                let arn = group
                    .log_group_arn()
                    .map(str::to_string)
                    .or_else(|| {
                        group
                            .arn()
                            .map(|arn| arn.trim_end_matches(":*").to_string())
                    })
                    .unwrap_or_default();
                Some(Listed {
                    name: name.to_string(),
                    arn,
                    retention_days: i64::from(group.retention_in_days().unwrap_or(0)),
                    kms_key: group.kms_key_id().unwrap_or_default().to_string(),
                    created: group.creation_time().unwrap_or(0),
                })
            })
            .collect())
    }

    /// A group's tags (none when it is gone).
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = self.client.list_tags_for_resource().resource_arn(arn);
        let output = found(sent("logs:ListTagsForResource", arn, call.send()).await)?;
        Ok(output
            .and_then(|output| output.tags().cloned())
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    /// The observation of a listed group under `id`.
    fn observed(
        id: LogicalId,
        group: &Listed,
        tags: BTreeMap<String, String>,
        name_prefix: Option<&str>,
        env: &str,
    ) -> Observed {
        let mut props = Props::new();
        props.insert("group_name".to_string(), Value::str(&group.name));
        if let Some(prefix) = name_prefix {
            props.insert("name_prefix".to_string(), Value::str(prefix));
        }
        props.insert(
            "retention_days".to_string(),
            Value::Int(group.retention_days),
        );
        props.insert("kms_key".to_string(), Value::str(&group.kms_key));
        Live::new(Kind::LogGroup, &group.name, &group.name)
            .tags(tags)
            .props(props)
            .outputs(name_and_arn(&group.name, &group.arn))
            .observed(id, env)
    }

    /// Log groups: one DescribeLogGroups per distinct prefix, then the tags of the groups
    /// that may be desired ones (bounded).
    pub(super) async fn observe_groups(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        if desired.is_empty() {
            return Ok(Observation::default());
        }
        let prefixes = distinct_prefixes(desired.iter().map(|resource| prefix_of(resource)));
        let lists: Vec<_> = prefixes.iter().map(|prefix| self.list(prefix)).collect();
        let lists = read_all(lists).await?;
        let groups: BTreeMap<String, Listed> = lists
            .into_iter()
            .flatten()
            .map(|group| (group.name.clone(), group))
            .collect();
        let exact: BTreeMap<String, &Resource> = desired
            .iter()
            .filter_map(|resource| known_name(resource).map(|name| (name, *resource)))
            .collect();
        // Prefixes under which a group is found by its nc:id tag (its name is not known yet).
        let tag_prefixes: Vec<String> = desired
            .iter()
            .filter(|resource| known_name(resource).is_none())
            .map(|resource| prefix_of(resource))
            .collect();
        let candidates: Vec<&Listed> = groups
            .values()
            .filter(|group| {
                exact.contains_key(&group.name)
                    || tag_prefixes
                        .iter()
                        .any(|prefix| group.name.starts_with(prefix.as_str()))
            })
            .collect();
        let tags: Vec<_> = candidates
            .iter()
            .map(|group| self.tags(&group.arn))
            .collect();
        let tags = read_all(tags).await?;
        let by_id: BTreeMap<&str, &Resource> = desired
            .iter()
            .map(|resource| (resource.id.as_str(), *resource))
            .collect();
        // Several groups may carry one nc:id (a flow-log group kept after its VPC was
        // replaced): the newest is the one in use, the older ones are kept as orphans.
        let mut candidates: Vec<(&Listed, BTreeMap<String, String>)> =
            candidates.into_iter().zip(tags).collect();
        candidates.sort_by_key(|(group, _)| std::cmp::Reverse(group.created));
        let mut observation = Observation::default();
        for (group, tags) in candidates {
            let owner = Owner::from_tags(&tags, env);
            let tagged = tags.get(TAG_ID).cloned();
            let resource = exact.get(&group.name).copied().or_else(|| {
                tagged
                    .as_deref()
                    .and_then(|id| by_id.get(id).copied())
                    .filter(|resource| known_name(resource).is_none())
            });
            let resource = resource.filter(|resource| {
                exact.contains_key(&group.name) || !observation.found.contains_key(&resource.id)
            });
            match resource {
                Some(resource) => observation.insert(Self::observed(
                    resource.id.clone(),
                    group,
                    tags,
                    resource.str_prop("name_prefix"),
                    env,
                )),
                None => {
                    if owner == Owner::Ours
                        && let Some(id) = tagged
                    {
                        // An older group of an id in use gets its own id, by name.
                        let id = if by_id.contains_key(id.as_str()) {
                            format!("{id}~{}", group.name)
                        } else {
                            id
                        };
                        observation.orphans.push(Self::observed(
                            LogicalId::new(id),
                            group,
                            tags,
                            None,
                            env,
                        ));
                    }
                }
            }
        }
        Ok(observation)
    }

    /// Creates a group, tagged and encrypted in the create call, then sets its retention.
    pub(super) async fn create_group(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let name = resolved_name(resource);
        let tags: HashMap<String, String> = tag_pairs(resource).into_iter().collect();
        let call = self
            .client
            .create_log_group()
            .log_group_name(&name)
            .set_kms_key_id(non_empty_prop(resource, "kms_key"))
            .set_tags(Some(tags));
        // `ResourceAlreadyExistsException` (an earlier CreateLogGroup whose answer was lost,
        // re-sent by the SDK) is returned as it is: the executor re-observes the group and, if
        // it is ours, changes only what differs (`exec::recover`) — never configures a group
        // that is not ours, and never calls AssociateKmsKey for a key the group already has.
        sent("logs:CreateLogGroup", &name, call.send()).await?;
        if let Some(days) = resource.int_prop("retention_days") {
            self.put_retention(&name, days).await?;
        }
        let arn = self.arn_of(&name).await?;
        Ok(name_and_arn(&name, &arn))
    }

    /// Changes a group's retention, key and tags in place.
    pub(super) async fn update_group(&self, change: &Change<'_>) -> Result<Outputs, ProviderError> {
        let (name, resource) = (change.physical_id(), change.resource);
        if change.touches("retention_days") {
            let days = resource.int_prop("retention_days").unwrap_or(0);
            self.put_retention(name, days).await?;
        }
        if change.touches("kms_key") {
            let key = resource.str_prop("kms_key").unwrap_or_default();
            self.put_kms_key(name, key).await?;
        }
        let api = GroupTags::new(&self.client, output(change.observed, "arn"), name);
        change.sync_tags(&api).await
    }

    /// Sets (or, for 0 days, removes) a group's retention.
    async fn put_retention(&self, name: &str, days: i64) -> Result<(), ProviderError> {
        if days <= 0 {
            let call = self.client.delete_retention_policy().log_group_name(name);
            return gone_is_done("logs:DeleteRetentionPolicy", name, call.send()).await;
        }
        let days = i32::try_from(days).map_err(|_| {
            ProviderError::local("logs:PutRetentionPolicy", name, "retention out of range")
        })?;
        let call = self.client.put_retention_policy().log_group_name(name);
        let call = call.retention_in_days(days);
        sent("logs:PutRetentionPolicy", name, call.send()).await?;
        Ok(())
    }

    /// Associates (or, for an empty key, disassociates) a group's KMS key.
    async fn put_kms_key(&self, name: &str, key: &str) -> Result<(), ProviderError> {
        if key.is_empty() {
            let call = self.client.disassociate_kms_key().log_group_name(name);
            sent("logs:DisassociateKmsKey", name, call.send()).await?;
        } else {
            let call = self.client.associate_kms_key().log_group_name(name);
            let call = call.kms_key_id(key);
            sent("logs:AssociateKmsKey", name, call.send()).await?;
        }
        Ok(())
    }

    /// The ARN of a group by exact name (after a create whose answer carries no ARN).
    async fn arn_of(&self, name: &str) -> Result<String, ProviderError> {
        Ok(self
            .list(name)
            .await?
            .into_iter()
            .find(|group| group.name == name)
            .map(|group| group.arn)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_covered_by_a_shorter_one_are_not_listed_again() {
        let prefixes = distinct_prefixes([
            "/nc/stg/".to_string(),
            "/nc/stg/app".to_string(),
            "/aws/vpc/flow-logs/".to_string(),
            "/nc/stg/".to_string(),
        ]);
        assert_eq!(prefixes, vec!["/aws/vpc/flow-logs/", "/nc/stg/"]);
    }

    #[test]
    fn a_pending_name_is_found_by_prefix() {
        let resource = Resource::new("vpc.flow_logs.group", Kind::LogGroup, "pending")
            .prop(
                "group_name",
                Value::Concat(vec![
                    Value::str("/aws/vpc/flow-logs/"),
                    Value::reference(&LogicalId::new("vpc.vpc"), "id"),
                ]),
            )
            .prop("name_prefix", "/aws/vpc/flow-logs/");
        assert_eq!(known_name(&resource), None);
        assert_eq!(prefix_of(&resource), "/aws/vpc/flow-logs/");
        let named = Resource::new("obs.log.trail", Kind::LogGroup, "/nc/stg/trail")
            .prop("group_name", "/nc/stg/trail");
        assert_eq!(known_name(&named).as_deref(), Some("/nc/stg/trail"));
        assert_eq!(prefix_of(&named), "/nc/stg/trail");
    }
}
