//! Metric filters (`log_metric_filter`): sub-resources of their log group, without tags,
//! named `nc-<env>-...` — a filter of that prefix the spec does not name is an orphan. Observe:
//! one DescribeMetricFilters per log group they sit on (or per metric, for a filter whose group
//! is named after an output not known yet).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatchlogs::types::MetricTransformation;

use super::LogsProvider;
use crate::model::{Kind, Observation, Observed, Outputs, Owner, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, MarkerSorter, found, gone_is_done, read_all, sent};

/// What to read for the desired filters: the log groups they sit on, and the metrics (name,
/// namespace) of the filters whose log group is named after an output not known yet (e.g. the
/// VPC's flow-log group), which are looked up by their metric instead.
fn lookups(desired: &[&Resource]) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let text = |resource: &Resource, name| resource.str_prop(name).unwrap_or_default().to_string();
    let (known, unknown): (Vec<&Resource>, Vec<&Resource>) = desired
        .iter()
        .partition(|resource| resource.str_prop("log_group").is_some());
    let groups = known
        .into_iter()
        .map(|resource| text(resource, "log_group"))
        .collect();
    let metrics = unknown
        .into_iter()
        .map(|resource| {
            (
                text(resource, "metric_name"),
                text(resource, "metric_namespace"),
            )
        })
        .collect();
    (groups, metrics)
}

impl LogsProvider {
    /// (group, name, pattern, metric name, namespace, value) of every filter on `group`, or
    /// of every filter publishing `metric` (name, namespace).
    async fn filters(
        &self,
        group: Option<&str>,
        metric: Option<(&str, &str)>,
    ) -> Result<Vec<FilterRow>, ProviderError> {
        let target = group.or(metric.map(|(name, _)| name)).unwrap_or_default();
        let call = self
            .client
            .describe_metric_filters()
            .set_log_group_name(group.map(str::to_string))
            .set_metric_name(metric.map(|(name, _)| name.to_string()))
            .set_metric_namespace(metric.map(|(_, namespace)| namespace.to_string()))
            .into_paginator()
            .items();
        let listed = sent(
            "logs:DescribeMetricFilters",
            target,
            call.send().try_collect(),
        )
        .await;
        let Some(listed) = found(listed)? else {
            return Ok(Vec::new());
        };
        Ok(listed
            .iter()
            .map(|filter| {
                let transformation = filter.metric_transformations().first();
                (
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
                )
            })
            .collect())
    }

    /// Metric filters, one DescribeMetricFilters per log group they sit on.
    pub(super) async fn observe_filters(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let (groups, metrics) = lookups(desired);
        let by_group: Vec<_> = groups
            .iter()
            .map(|group| self.filters(Some(group), None))
            .collect();
        let by_metric: Vec<_> = metrics
            .iter()
            .map(|(name, namespace)| self.filters(None, Some((name, namespace))))
            .collect();
        let (by_group, by_metric) = tokio::join!(read_all(by_group), read_all(by_metric));
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
        let ours = format!("nc-{env}-");
        let mut sorter = MarkerSorter::new(desired, "filter");
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
            let live = Live::new(Kind::LogMetricFilter, name, name)
                .props(props)
                .outputs(outputs);
            sorter.add(live, Owner::Ours, name.starts_with(&ours));
        }
        Ok(sorter.finish())
    }

    /// PutMetricFilter is an upsert: create and update are the same call.
    pub(super) async fn put_filter(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        let transformation = MetricTransformation::builder()
            .metric_name(resource.str_prop("metric_name").unwrap_or_default())
            .metric_namespace(resource.str_prop("metric_namespace").unwrap_or_default())
            .metric_value(resource.str_prop("metric_value").unwrap_or("1"))
            .build()
            .map_err(|error| {
                ProviderError::local("logs:PutMetricFilter", name, error.to_string())
            })?;
        let call = self
            .client
            .put_metric_filter()
            .log_group_name(resource.str_prop("log_group").unwrap_or_default())
            .filter_name(name)
            .filter_pattern(resource.str_prop("pattern").unwrap_or_default())
            .metric_transformations(transformation);
        sent("logs:PutMetricFilter", name, call.send()).await?;
        let mut outputs = Outputs::new();
        outputs.insert("name".into(), name.to_string());
        Ok(outputs)
    }

    /// Deletes a filter; NotFound counts as done.
    pub(super) async fn delete_filter(&self, observed: &Observed) -> Result<(), ProviderError> {
        let group = observed
            .props
            .get("log_group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = observed.physical_id.as_str();
        let call = self.client.delete_metric_filter().log_group_name(group);
        let call = call.filter_name(name);
        gone_is_done("logs:DeleteMetricFilter", name, call.send()).await
    }
}

/// One metric filter as listed: group, name, pattern, metric name, namespace, value.
type FilterRow = (String, String, String, String, String, String);
