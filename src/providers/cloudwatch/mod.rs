//! CloudWatch: metric alarms (`cloudwatch_alarm`) and dashboards (`cloudwatch_dashboard`), one
//! file per kind. Observe reads both kinds concurrently: one DescribeAlarms for every alarm,
//! and one ListDashboards plus a GetDashboard per dashboard of the environment.
//!
//! Dashboards are account-wide, not regional: they are observed only when the plan names one
//! (the primary region's). The DR region's plan names none, so it never lists them — there,
//! the primary's dashboards would otherwise look like orphans of this environment.

mod alarm;
mod dashboard;

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;

use super::aws::split_by_kind;
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Resource};
use crate::providers::Change;

const KINDS: &[Kind] = &[Kind::CloudWatchAlarm, Kind::CloudWatchDashboard];

/// The CloudWatch provider (metric alarms and dashboards).
pub struct CloudWatchProvider {
    client: Client,
}

impl CloudWatchProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> CloudWatchProvider {
        CloudWatchProvider {
            client: aws.cloudwatch(),
        }
    }
}

#[async_trait]
impl Provider for CloudWatchProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let (dashboards, alarms) = split_by_kind(desired, Kind::CloudWatchDashboard);
        let alarms = async {
            if alarms.is_empty() {
                return Ok(Observation::default());
            }
            self.observe_alarms(&alarms, env).await
        };
        let dashboards = async {
            if dashboards.is_empty() {
                return Ok(Observation::default());
            }
            self.observe_dashboards(&dashboards, env).await
        };
        let (alarms, dashboards) = tokio::join!(alarms, dashboards);
        let mut observation = alarms?;
        observation.merge(dashboards?);
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::CloudWatchDashboard => self.put_dashboard(resource).await,
            _ => self.create_alarm(resource).await,
        }
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match change.resource.kind {
            Kind::CloudWatchDashboard => self.update_dashboard(change).await,
            _ => self.update_alarm(change).await,
        }
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        match observed.kind {
            Kind::CloudWatchDashboard => self.delete_dashboard(observed).await,
            _ => self.delete_alarm(observed).await,
        }
    }
}
