//! CloudWatch Logs: log groups (retention, KMS encryption, tags) and metric filters.
//!
//! Observe: one DescribeLogGroups per distinct name prefix (the `name_prefix` prop, or the group
//! name itself), then ListTagsForResource per matched group, concurrently. A group whose name is
//! only known at apply time (a `Concat` of references, e.g. a flow-log group named after the VPC
//! id) is found under its prefix by its `nc:id` tag. Log groups hold log data: they are retained,
//! never deleted by the tool.
//!
//! Metric filters (`log_metric_filter`) have no tags: they are sub-resources of their log group,
//! named `nc-<env>-...`, observed with one DescribeMetricFilters per log group.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::MetricTransformation;

use super::aws::{aws_error, found};
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{LogicalId, Observation, Observed, Outputs, Owner, Resource, TAG_ID, Value};

const KINDS: &[Kind] = &[Kind::LogGroup, Kind::LogMetricFilter];

/// The CloudWatch Logs provider (log groups).
pub struct LogsProvider {
    client: Client,
}

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

impl LogsProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> LogsProvider {
        LogsProvider { client: aws.logs() }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, ProviderError> {
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .client
                .describe_log_groups()
                .set_next_token(token.take());
            if !prefix.is_empty() {
                request = request.log_group_name_prefix(prefix);
            }
            let page = request
                .send()
                .await
                .map_err(|error| aws_error("logs:DescribeLogGroups", prefix, error))?;
            for group in page.log_groups() {
                let Some(name) = group.log_group_name() else {
                    continue;
                };
                let arn = group
                    .log_group_arn()
                    .map(str::to_string)
                    .or_else(|| {
                        group
                            .arn()
                            .map(|arn| arn.trim_end_matches(":*").to_string())
                    })
                    .unwrap_or_default();
                groups.push(Listed {
                    name: name.to_string(),
                    arn,
                    retention_days: i64::from(group.retention_in_days().unwrap_or(0)),
                    kms_key: group.kms_key_id().unwrap_or_default().to_string(),
                    created: group.creation_time().unwrap_or(0),
                });
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(groups),
            }
        }
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let output = found(
            self.client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|error| aws_error("logs:ListTagsForResource", arn, error)),
        )?;
        Ok(output
            .and_then(|output| output.tags().cloned())
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    fn observed(
        id: LogicalId,
        group: &Listed,
        tags: BTreeMap<String, String>,
        name_prefix: Option<&str>,
        env: &str,
    ) -> Observed {
        let mut props = BTreeMap::new();
        props.insert("group_name".to_string(), Value::str(&group.name));
        if let Some(prefix) = name_prefix {
            props.insert("name_prefix".to_string(), Value::str(prefix));
        }
        props.insert(
            "retention_days".to_string(),
            Value::Int(group.retention_days),
        );
        props.insert("kms_key".to_string(), Value::str(&group.kms_key));
        let owner = Owner::from_tags(&tags, env);
        props.insert("tags".to_string(), tags_value(tags));
        Observed {
            id,
            kind: KINDS[0],
            physical_id: group.name.clone(),
            props,
            outputs: outputs(&group.name, &group.arn),
            owner,
            retain: true,
            refused: None,
        }
    }

    async fn put_retention(&self, name: &str, days: i64) -> Result<(), ProviderError> {
        if days <= 0 {
            let result = self
                .client
                .delete_retention_policy()
                .log_group_name(name)
                .send()
                .await
                .map_err(|error| aws_error("logs:DeleteRetentionPolicy", name, error));
            found(result)?;
            return Ok(());
        }
        let days = i32::try_from(days).map_err(|_| {
            ProviderError::local("logs:PutRetentionPolicy", name, "retention out of range")
        })?;
        self.client
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .map_err(|error| aws_error("logs:PutRetentionPolicy", name, error))?;
        Ok(())
    }

    async fn put_kms_key(&self, name: &str, key: &str) -> Result<(), ProviderError> {
        if key.is_empty() {
            self.client
                .disassociate_kms_key()
                .log_group_name(name)
                .send()
                .await
                .map_err(|error| aws_error("logs:DisassociateKmsKey", name, error))?;
        } else {
            self.client
                .associate_kms_key()
                .log_group_name(name)
                .kms_key_id(key)
                .send()
                .await
                .map_err(|error| aws_error("logs:AssociateKmsKey", name, error))?;
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

fn outputs(name: &str, arn: &str) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.insert("name".into(), name.to_string());
    outputs.insert("arn".into(), arn.to_string());
    outputs
}

/// The group name of a resource whose references are resolved (create and update).
fn resolved_name(resource: &Resource) -> String {
    resource
        .str_prop("group_name")
        .map_or_else(|| resource.name.clone(), str::to_string)
}

#[async_trait]
impl Provider for LogsProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let (filters, groups): (Vec<&Resource>, Vec<&Resource>) = desired
            .iter()
            .copied()
            .partition(|resource| resource.kind == Kind::LogMetricFilter);
        let (mut observation, filters) = tokio::join!(
            self.observe_groups(&groups, env),
            self.observe_filters(&filters, env)
        );
        if let Ok(observation) = &mut observation {
            observation.merge(filters?);
        }
        observation
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        if resource.kind == Kind::LogMetricFilter {
            return self.put_filter(resource).await;
        }
        self.create_group(resource).await
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        if resource.kind == Kind::LogMetricFilter {
            return self.put_filter(resource).await;
        }
        self.update_group(resource, observed, delta).await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        if observed.kind == Kind::LogMetricFilter {
            let group = observed
                .props
                .get("log_group")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let result = self
                .client
                .delete_metric_filter()
                .log_group_name(group)
                .filter_name(&observed.physical_id)
                .send()
                .await
                .map_err(|error| {
                    aws_error("logs:DeleteMetricFilter", &observed.physical_id, error)
                });
            found(result)?;
            return Ok(());
        }
        Err(ProviderError::local(
            "logs:DeleteLogGroup",
            &observed.physical_id,
            "log groups hold log data and are never deleted by nc-provision",
        ))
    }
}

impl LogsProvider {
    async fn observe_groups(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        if desired.is_empty() {
            return Ok(Observation::default());
        }
        let prefixes = distinct_prefixes(desired.iter().map(|resource| prefix_of(resource)));
        let lists = futures::future::try_join_all(prefixes.iter().map(|p| self.list(p))).await?;
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
        let tags =
            futures::future::try_join_all(candidates.iter().map(|group| self.tags(&group.arn)))
                .await?;
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

    async fn create_group(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let name = resolved_name(resource);
        let tags: HashMap<String, String> = super::tag_pairs(resource).into_iter().collect();
        let kms_key = resource
            .str_prop("kms_key")
            .filter(|key| !key.is_empty())
            .map(str::to_string);
        let created = self
            .client
            .create_log_group()
            .log_group_name(&name)
            .set_kms_key_id(kms_key)
            .set_tags(Some(tags))
            .send()
            .await;
        // `ResourceAlreadyExistsException` (an earlier CreateLogGroup whose answer was lost,
        // re-sent by the SDK) is returned as it is: the executor re-observes the group and, if
        // it is ours, changes only what differs (`exec::recover`) — never configures a group
        // that is not ours, and never calls AssociateKmsKey for a key the group already has.
        created.map_err(|error| aws_error("logs:CreateLogGroup", &name, error))?;
        if let Some(days) = resource.int_prop("retention_days") {
            self.put_retention(&name, days).await?;
        }
        let arn = self.arn_of(&name).await?;
        Ok(outputs(&name, &arn))
    }

    async fn update_group(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
    ) -> Result<Outputs, ProviderError> {
        let name = observed.physical_id.clone();
        if delta.touches("retention_days") {
            self.put_retention(&name, resource.int_prop("retention_days").unwrap_or(0))
                .await?;
        }
        if delta.touches("kms_key") {
            self.put_kms_key(&name, resource.str_prop("kms_key").unwrap_or_default())
                .await?;
        }
        if delta.touches("tags") {
            let arn = observed.outputs.get("arn").cloned().unwrap_or_default();
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                self.client
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|error| aws_error("logs:UntagResource", &name, error))?;
            }
            if !set.is_empty() {
                self.client
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(set.into_iter().collect()))
                    .send()
                    .await
                    .map_err(|error| aws_error("logs:TagResource", &name, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }

    /// Metric filters, one DescribeMetricFilters per log group they sit on.
    async fn observe_filters(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let groups: BTreeSet<String> = desired
            .iter()
            .filter_map(|resource| resource.str_prop("log_group"))
            .map(str::to_string)
            .collect();
        // A filter whose log group is named after an output not known yet (e.g. the VPC's
        // flow-log group) is looked up by its metric instead.
        let metrics: BTreeSet<(String, String)> = desired
            .iter()
            .filter(|resource| resource.str_prop("log_group").is_none())
            .map(|resource| {
                (
                    resource
                        .str_prop("metric_name")
                        .unwrap_or_default()
                        .to_string(),
                    resource
                        .str_prop("metric_namespace")
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        let by_group = futures::future::try_join_all(
            groups.iter().map(|group| self.filters(Some(group), None)),
        );
        let by_metric = futures::future::try_join_all(
            metrics
                .iter()
                .map(|(name, namespace)| self.filters(None, Some((name, namespace)))),
        );
        let (by_group, by_metric) = tokio::join!(by_group, by_metric);
        let mut seen = BTreeSet::new();
        let lists: Vec<Vec<FilterRow>> = by_group?
            .into_iter()
            .chain(by_metric?)
            .map(|rows| {
                rows.into_iter()
                    .filter(|row| seen.insert((row.0.clone(), row.1.clone())))
                    .collect()
            })
            .collect();
        let by_name: BTreeMap<&str, &Resource> = desired
            .iter()
            .map(|resource| (resource.name.as_str(), *resource))
            .collect();
        let ours = format!("nc-{env}-");
        let mut observation = Observation::default();
        for filter in lists.into_iter().flatten() {
            let (group, name) = (&filter.0, &filter.1);
            let mut props = BTreeMap::new();
            props.insert("log_group".to_string(), Value::str(group));
            props.insert("pattern".to_string(), Value::str(&filter.2));
            props.insert("metric_name".to_string(), Value::str(&filter.3));
            props.insert("metric_namespace".to_string(), Value::str(&filter.4));
            props.insert("metric_value".to_string(), Value::str(&filter.5));
            let mut outputs = Outputs::new();
            outputs.insert("name".into(), name.clone());
            let (id, orphan) = match by_name.get(name.as_str()) {
                Some(resource) => (resource.id.clone(), false),
                None if name.starts_with(&ours) => (LogicalId::new(format!("filter:{name}")), true),
                None => continue,
            };
            let observed = Observed {
                id,
                kind: Kind::LogMetricFilter,
                physical_id: name.clone(),
                props,
                outputs,
                owner: Owner::Ours,
                retain: false,
                refused: None,
            };
            if orphan {
                observation.orphans.push(observed);
            } else {
                observation.insert(observed);
            }
        }
        Ok(observation)
    }

    /// (group, name, pattern, metric name, namespace, value) of every filter on `group`, or
    /// of every filter publishing `metric` (name, namespace).
    async fn filters(
        &self,
        group: Option<&str>,
        metric: Option<(&str, &str)>,
    ) -> Result<Vec<FilterRow>, ProviderError> {
        let mut rows = Vec::new();
        let mut token: Option<String> = None;
        let target = group.or(metric.map(|(name, _)| name)).unwrap_or_default();
        loop {
            let result = self
                .client
                .describe_metric_filters()
                .set_log_group_name(group.map(str::to_string))
                .set_metric_name(metric.map(|(name, _)| name.to_string()))
                .set_metric_namespace(metric.map(|(_, namespace)| namespace.to_string()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| aws_error("logs:DescribeMetricFilters", target, error));
            let Some(page) = found(result)? else {
                return Ok(rows);
            };
            for filter in page.metric_filters() {
                let transformation = filter.metric_transformations().first();
                rows.push((
                    filter
                        .log_group_name()
                        .or(group)
                        .unwrap_or_default()
                        .to_string(),
                    filter.filter_name().unwrap_or_default().to_string(),
                    filter.filter_pattern().unwrap_or_default().to_string(),
                    transformation.map_or("", |t| t.metric_name()).to_string(),
                    transformation
                        .map_or("", |t| t.metric_namespace())
                        .to_string(),
                    transformation.map_or("", |t| t.metric_value()).to_string(),
                ));
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(rows),
            }
        }
    }

    /// PutMetricFilter is an upsert: create and update are the same call.
    async fn put_filter(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        let transformation = MetricTransformation::builder()
            .metric_name(resource.str_prop("metric_name").unwrap_or_default())
            .metric_namespace(resource.str_prop("metric_namespace").unwrap_or_default())
            .metric_value(resource.str_prop("metric_value").unwrap_or("1"))
            .build()
            .map_err(|error| {
                ProviderError::local("logs:PutMetricFilter", name, error.to_string())
            })?;
        self.client
            .put_metric_filter()
            .log_group_name(resource.str_prop("log_group").unwrap_or_default())
            .filter_name(name)
            .filter_pattern(resource.str_prop("pattern").unwrap_or_default())
            .metric_transformations(transformation)
            .send()
            .await
            .map_err(|error| aws_error("logs:PutMetricFilter", name, error))?;
        let mut outputs = Outputs::new();
        outputs.insert("name".into(), name.to_string());
        Ok(outputs)
    }
}

/// One metric filter as listed: group, name, pattern, metric name, namespace, value.
type FilterRow = (String, String, String, String, String, String);

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
