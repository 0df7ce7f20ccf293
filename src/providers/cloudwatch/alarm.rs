//! CloudWatch metric alarms (`cloudwatch_alarm`).
//!
//! Observe: DescribeAlarms by name prefix (one paginated call for every alarm of the
//! environment). Ownership is read from the description's `[nc-provision:<env>]` marker, which
//! DescribeAlarms returns, instead of one ListTagsForResource per alarm: tags are still written
//! in PutMetricAlarm (the create call) for cost allocation, but not re-read.
//!
//! An alarm is either a single metric (`namespace`, `metric_name`, `statistic`, `dimensions`) or,
//! when `expression` is set, the expression over `m1` (= `metric_name`) and `m2`
//! (= `denominator_metric`) of the same namespace, statistic and dimensions (a rate).

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat,
    Statistic, Tag,
};

use super::CloudWatchProvider;
use crate::model::{
    Kind, Observation, Observed, Outputs, Owner, Resource, Value, alarm_threshold_text,
};
use crate::providers::ProviderError;
use crate::providers::aws::{
    Change, Live, MarkerSorter, gone_is_done, list_prop, name_and_arn, sent,
};

/// The longest common name prefix of the desired alarms (one DescribeAlarms for all).
fn common_prefix(names: &[&str]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    let mut prefix = first.to_string();
    for name in names {
        while !name.starts_with(&prefix) {
            prefix.pop();
        }
    }
    prefix
}

/// Dimensions as name → value.
fn dimension_map(dimensions: &[Dimension]) -> BTreeMap<String, String> {
    let pair = |d: &Dimension| {
        let name = d.name().unwrap_or_default().to_string();
        (name, d.value().unwrap_or_default().to_string())
    };
    dimensions.iter().map(pair).collect()
}

fn observe_alarm(alarm: &MetricAlarm) -> BTreeMap<String, Value> {
    let mut props = BTreeMap::new();
    let mut namespace = alarm.namespace().unwrap_or_default().to_string();
    let mut metric_name = alarm.metric_name().unwrap_or_default().to_string();
    let mut statistic = alarm
        .statistic()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let mut period = alarm.period().unwrap_or(0);
    let mut dimensions = dimension_map(alarm.dimensions());
    let mut expression = String::new();
    let mut denominator = String::new();
    for query in alarm.metrics() {
        if let Some(text) = query.expression() {
            expression = text.to_string();
        }
        let Some(stat) = query.metric_stat() else {
            continue;
        };
        let metric = stat.metric();
        let name = metric
            .and_then(Metric::metric_name)
            .unwrap_or_default()
            .to_string();
        if query.id() == Some("m2") {
            denominator = name;
            continue;
        }
        metric_name = name;
        namespace = metric
            .and_then(Metric::namespace)
            .unwrap_or_default()
            .to_string();
        statistic = stat.stat().unwrap_or_default().to_string();
        period = stat.period().unwrap_or(0);
        dimensions = dimension_map(metric.map(Metric::dimensions).unwrap_or_default());
    }
    let mut actions: Vec<String> = alarm.alarm_actions().to_vec();
    actions.sort();
    props.insert(
        "description".into(),
        Value::str(alarm.alarm_description().unwrap_or_default()),
    );
    props.insert("namespace".into(), Value::Str(namespace));
    props.insert("metric_name".into(), Value::Str(metric_name));
    props.insert("statistic".into(), Value::Str(statistic));
    props.insert("period".into(), Value::Int(i64::from(period)));
    props.insert("dimensions".into(), Value::Map(dimensions));
    props.insert("expression".into(), Value::Str(expression));
    props.insert("denominator_metric".into(), Value::Str(denominator));
    props.insert(
        "evaluation_periods".into(),
        Value::Int(i64::from(alarm.evaluation_periods().unwrap_or(0))),
    );
    props.insert(
        "threshold".into(),
        Value::Str(alarm_threshold_text(alarm.threshold().unwrap_or(0.0))),
    );
    props.insert(
        "comparison".into(),
        Value::str(
            alarm
                .comparison_operator()
                .map(ComparisonOperator::as_str)
                .unwrap_or_default(),
        ),
    );
    props.insert(
        "treat_missing_data".into(),
        Value::str(alarm.treat_missing_data().unwrap_or("missing")),
    );
    props.insert(
        "actions_enabled".into(),
        Value::Bool(alarm.actions_enabled().unwrap_or(true)),
    );
    props.insert(
        "alarm_actions".into(),
        Value::List(actions.into_iter().map(Value::Str).collect()),
    );
    props
}

fn dimension_list(resource: &Resource) -> Vec<Dimension> {
    resource
        .props
        .get("dimensions")
        .and_then(Value::as_map)
        .map(|map| {
            map.iter()
                .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                .collect()
        })
        .unwrap_or_default()
}

fn metric_query(resource: &Resource, id: &str, metric_name: &str) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(resource.str_prop("namespace").unwrap_or_default())
        .metric_name(metric_name)
        .set_dimensions(Some(dimension_list(resource)))
        .build();
    let period = i32::try_from(resource.int_prop("period").unwrap_or(300)).unwrap_or(300);
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat(resource.str_prop("statistic").unwrap_or("Sum"))
                .build(),
        )
        .return_data(false)
        .build()
}

impl CloudWatchProvider {
    /// Every metric alarm whose name starts with `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<MetricAlarm>, ProviderError> {
        let call = self.client.describe_alarms().alarm_name_prefix(prefix);
        let call = call.alarm_types(AlarmType::MetricAlarm).into_paginator();
        let pages: Vec<_> = sent(
            "cloudwatch:DescribeAlarms",
            prefix,
            call.send().try_collect(),
        )
        .await?;
        Ok(pages
            .iter()
            .flat_map(|page| page.metric_alarms().iter().cloned())
            .collect())
    }

    async fn put(&self, resource: &Resource, with_tags: bool) -> Result<(), ProviderError> {
        let name = resource.name.as_str();
        let period = i32::try_from(resource.int_prop("period").unwrap_or(300)).unwrap_or(300);
        let threshold: f64 = resource
            .str_prop("threshold")
            .unwrap_or("0")
            .parse()
            .map_err(|_| {
                ProviderError::local("cloudwatch:PutMetricAlarm", name, "bad threshold")
            })?;
        let actions = list_prop(resource, "alarm_actions");
        let mut request = self
            .client
            .put_metric_alarm()
            .alarm_name(name)
            .alarm_description(resource.str_prop("description").unwrap_or_default())
            .actions_enabled(resource.bool_prop("actions_enabled").unwrap_or(true))
            .set_alarm_actions(Some(actions))
            .evaluation_periods(
                i32::try_from(resource.int_prop("evaluation_periods").unwrap_or(1)).unwrap_or(1),
            )
            .threshold(threshold)
            .comparison_operator(ComparisonOperator::from(
                resource
                    .str_prop("comparison")
                    .unwrap_or("GreaterThanThreshold"),
            ))
            .treat_missing_data(resource.str_prop("treat_missing_data").unwrap_or("missing"));
        let expression = resource.str_prop("expression").unwrap_or_default();
        if expression.is_empty() {
            request = request
                .namespace(resource.str_prop("namespace").unwrap_or_default())
                .metric_name(resource.str_prop("metric_name").unwrap_or_default())
                .statistic(Statistic::from(
                    resource.str_prop("statistic").unwrap_or("Sum"),
                ))
                .period(period)
                .set_dimensions(Some(dimension_list(resource)));
        } else {
            let numerator = resource.str_prop("metric_name").unwrap_or_default();
            let denominator = resource.str_prop("denominator_metric").unwrap_or_default();
            request = request
                .metrics(metric_query(resource, "m1", numerator))
                .metrics(metric_query(resource, "m2", denominator))
                .metrics(
                    MetricDataQuery::builder()
                        .id("e1")
                        .expression(expression)
                        .return_data(true)
                        .build(),
                );
        }
        if with_tags {
            let tags = resource
                .create_inputs
                .get("tags")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default();
            for (key, value) in tags {
                request = request.tags(Tag::builder().key(key).value(value).build());
            }
        }
        sent("cloudwatch:PutMetricAlarm", name, request.send()).await?;
        Ok(())
    }

    /// The alarms of `desired`, and the orphans whose marker names `env`.
    pub(super) async fn observe_alarms(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let names: Vec<&str> = desired.iter().map(|r| r.name.as_str()).collect();
        let prefix = common_prefix(&names);
        let alarms = self.list(&prefix).await?;
        let mut sorter = MarkerSorter::new(desired, "alarm");
        for alarm in &alarms {
            let Some(name) = alarm.alarm_name() else {
                continue;
            };
            let owner = Owner::from_marker(alarm.alarm_description().unwrap_or_default(), env);
            let live = Live::new(Kind::CloudWatchAlarm, name, name)
                .props(observe_alarm(alarm))
                .outputs(name_and_arn(name, alarm.alarm_arn().unwrap_or_default()));
            let orphan = owner == Owner::Ours;
            sorter.add(live, owner, orphan);
        }
        Ok(sorter.finish())
    }

    /// Creates an alarm.
    pub(super) async fn create_alarm(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        // PutMetricAlarm is an upsert: a re-run converges. Nothing references an alarm's ARN,
        // so it is not read back (one DescribeAlarms per alarm saved).
        self.put(resource, true).await?;
        Ok(name_and_arn(&resource.name, ""))
    }

    /// Updates an alarm.
    pub(super) async fn update_alarm(&self, change: &Change<'_>) -> Result<Outputs, ProviderError> {
        // PutMetricAlarm replaces the whole definition; tags are left as they are.
        self.put(change.resource, false).await?;
        Ok(change.observed.outputs.clone())
    }

    /// Deletes an alarm; NotFound counts as done.
    pub(super) async fn delete_alarm(&self, observed: &Observed) -> Result<(), ProviderError> {
        let name = observed.physical_id.as_str();
        let call = self.client.delete_alarms().alarm_names(name);
        gone_is_done("cloudwatch:DeleteAlarms", name, call.send()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_prefix_covers_every_alarm() {
        assert_eq!(
            common_prefix(&["nc-stg-a", "nc-stg-cis-4-1", "nc-stg-b"]),
            "nc-stg-"
        );
    }
}
