//! CloudWatch Logs: log groups (retention, KMS encryption, tags; `log_group`) and metric
//! filters (`log_metric_filter`), one file per kind. Observe reads both kinds concurrently.

mod log_group;
mod metric_filter;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;

use super::aws::split_by_kind;
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Resource};
use crate::providers::Change;

const KINDS: &[Kind] = &[Kind::LogGroup, Kind::LogMetricFilter];

/// The CloudWatch Logs provider (log groups and metric filters).
pub struct LogsProvider {
    client: Client,
}

impl LogsProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> LogsProvider {
        LogsProvider { client: aws.logs() }
    }
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
        let (filters, groups) = split_by_kind(desired, Kind::LogMetricFilter);
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

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        if change.resource.kind == Kind::LogMetricFilter {
            return self.put_filter(change.resource).await;
        }
        self.update_group(change).await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        if observed.kind == Kind::LogMetricFilter {
            return self.delete_filter(observed).await;
        }
        Err(ProviderError::local(
            "logs:DeleteLogGroup",
            &observed.physical_id,
            "log groups hold log data and are never deleted by nc-provision",
        ))
    }
}
