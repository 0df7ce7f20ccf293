//! The VPC's flow log to CloudWatch Logs.

use aws_sdk_ec2::types::{
    FlowLog, FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType,
};

use super::props::text_props;
use super::{Created, Ec2Provider, New};
use crate::model::{FLOW_LOG_AGGREGATION_SECONDS, Kind};
use crate::model::{Props, Value};
use crate::providers::ErrorClass;
use crate::providers::ProviderError;
use crate::providers::aws::{Live, sent};

/// A flow log as observed.
pub(super) fn observe(flow_log: &FlowLog) -> Option<Live> {
    let flow_log_id = flow_log.flow_log_id()?;
    Some(Live::new(Kind::FlowLog, flow_log_id, "").props(flow_log_props(flow_log)))
}

fn flow_log_props(flow_log: &FlowLog) -> Props {
    let mut props = text_props([("resource_id", flow_log.resource_id())]);
    props.insert(
        "traffic_type".into(),
        Value::str(flow_log.traffic_type().map_or("", TrafficType::as_str)),
    );
    props.insert(
        "log_destination_type".into(),
        Value::str(
            flow_log
                .log_destination_type()
                .map_or("cloud-watch-logs", LogDestinationType::as_str),
        ),
    );
    props.extend(text_props([
        ("log_group_name", flow_log.log_group_name()),
        (
            "deliver_logs_permission_arn",
            flow_log.deliver_logs_permission_arn(),
        ),
    ]));
    props.insert(
        "max_aggregation_interval".into(),
        Value::Int(
            flow_log
                .max_aggregation_interval()
                .map_or(FLOW_LOG_AGGREGATION_SECONDS, i64::from),
        ),
    );
    props
}

impl Ec2Provider {
    /// CreateFlowLogs with a client token; a refused one is reported with its reason.
    pub(super) async fn create_flow_log(&self, new: &mut New<'_>) -> Created {
        let resource = new.resource;
        let ctx = new.ctx;
        let name = resource.id.as_str();
        let call = self
            .creates
            .create_flow_logs()
            .resource_ids(new.text("resource_id")?)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::from(new.text("traffic_type")?.as_str()))
            .log_destination_type(LogDestinationType::CloudWatchLogs)
            .log_group_name(new.text("log_group_name")?)
            .deliver_logs_permission_arn(new.text("deliver_logs_permission_arn")?)
            .max_aggregation_interval(
                i32::try_from(
                    resource
                        .int_prop("max_aggregation_interval")
                        .unwrap_or(FLOW_LOG_AGGREGATION_SECONDS),
                )
                .unwrap_or(600),
            )
            .client_token(self.token(&ctx.env, &format!("{name}/{}", new.text("resource_id")?), 0))
            .tag_specifications(new.tags(ResourceType::VpcFlowLog));
        let created = sent("ec2:CreateFlowLogs", name, call.send()).await?;
        if let Some(failure) = created.unsuccessful().first() {
            let error = failure.error();
            return Err(ProviderError {
                action: "ec2:CreateFlowLogs".into(),
                resource: name.to_string(),
                class: ErrorClass::Fatal,
                code: error.and_then(|e| e.code()).map(str::to_string),
                message: format!(
                    "{}: {}",
                    error.and_then(|e| e.code()).unwrap_or_default(),
                    error.and_then(|e| e.message()).unwrap_or_default()
                ),
            });
        }
        Ok(created.flow_log_ids().first().cloned().unwrap_or_default())
    }
}
