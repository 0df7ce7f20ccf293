//! The live state of an environment's alarms, for the post-deployment watch: one
//! DescribeAlarms by name prefix (paginated), turned into plain [`AlarmState`]s with no SDK type
//! in them.
//!
//! DescribeAlarms returns each alarm's `StateValue` (`OK`, `ALARM`, `INSUFFICIENT_DATA`), its
//! `StateReason`, `StateUpdatedTimestamp` (any update of the state or its reason) and
//! `StateTransitionedTimestamp` (the last change of the state value):
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html>,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html>.
//! Without `AlarmTypes` only metric alarms are returned; the watch asks for composite alarms too.

use std::time::SystemTime;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm, StateValue};

use super::aws::sent;
use super::{Aws, ProviderError};

/// An alarm's state value (serialised as AWS names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmValue {
    /// `OK`.
    Ok,
    /// `ALARM`.
    Alarm,
    /// `INSUFFICIENT_DATA` (also any value this SDK does not know).
    InsufficientData,
}

impl AlarmValue {
    /// The name AWS uses (`OK`, `ALARM`, `INSUFFICIENT_DATA`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmValue::Ok => "OK",
            AlarmValue::Alarm => "ALARM",
            AlarmValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    fn from_sdk(value: Option<&StateValue>) -> AlarmValue {
        match value {
            Some(StateValue::Ok) => AlarmValue::Ok,
            Some(StateValue::Alarm) => AlarmValue::Alarm,
            _ => AlarmValue::InsufficientData,
        }
    }
}

impl std::fmt::Display for AlarmValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alarm as DescribeAlarms reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmState {
    /// The alarm's name.
    pub name: String,
    /// Its description (carries the tool's ownership marker and its severity).
    pub description: String,
    /// Its state value.
    pub value: AlarmValue,
    /// Why it is in that state (`StateReason`).
    pub reason: String,
    /// When the state value last changed (`StateTransitionedTimestamp`, or
    /// `StateUpdatedTimestamp` where the endpoint does not report the former).
    pub changed_at: Option<SystemTime>,
}

fn system_time(time: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    time.and_then(|time| SystemTime::try_from(*time).ok())
}

/// Implements `AlarmState::$method(&$sdk)` for each SDK alarm type: the metric and composite
/// alarms share these fields but no trait, so the one mapping is written once for both.
macro_rules! alarm_states {
    ($($(#[$doc:meta])* $method:ident($sdk:ty);)*) => {
        impl AlarmState {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $method(alarm: &$sdk) -> AlarmState {
                    AlarmState {
                        name: alarm.alarm_name().unwrap_or_default().to_string(),
                        description: alarm.alarm_description().unwrap_or_default().to_string(),
                        value: AlarmValue::from_sdk(alarm.state_value()),
                        reason: alarm.state_reason().unwrap_or_default().to_string(),
                        changed_at: system_time(alarm.state_transitioned_timestamp())
                            .or_else(|| system_time(alarm.state_updated_timestamp())),
                    }
                }
            )*
        }
    };
}

alarm_states! {
    /// The state of a metric alarm.
    from_metric(MetricAlarm);
    /// The state of a composite alarm.
    from_composite(CompositeAlarm);
}

/// Reads alarm states with the session's CloudWatch client (calls counted).
#[derive(Clone)]
pub struct AlarmStates {
    client: Client,
}

impl AlarmStates {
    /// A reader sharing `aws`'s configuration and call counter.
    #[must_use]
    pub fn new(aws: &Aws) -> AlarmStates {
        AlarmStates {
            client: aws.cloudwatch(),
        }
    }

    /// Every metric and composite alarm whose name starts with `prefix`: one DescribeAlarms
    /// request per page of results (a page holds up to 100 alarms).
    ///
    /// # Errors
    /// `cloudwatch:DescribeAlarms` failed (after the SDK's retries).
    pub async fn by_prefix(&self, prefix: &str) -> Result<Vec<AlarmState>, ProviderError> {
        let call = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .max_records(100)
            .into_paginator();
        let pages: Vec<_> = sent(
            "cloudwatch:DescribeAlarms",
            prefix,
            call.send().try_collect(),
        )
        .await?;
        let mut states: Vec<AlarmState> = pages
            .iter()
            .flat_map(|page| {
                page.metric_alarms()
                    .iter()
                    .map(AlarmState::from_metric)
                    .chain(
                        page.composite_alarms()
                            .iter()
                            .map(AlarmState::from_composite),
                    )
            })
            .collect();
        states.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_alarm_becomes_a_plain_state() {
        let transitioned = aws_smithy_types::DateTime::from_secs(1_800_000_000);
        let alarm = MetricAlarm::builder()
            .alarm_name("nc-stg-kms-access-denied")
            .alarm_description("Critical: KMS access denied [nc-provision:stg]")
            .state_value(StateValue::Alarm)
            .state_reason("forced")
            .state_updated_timestamp(aws_smithy_types::DateTime::from_secs(1_800_000_100))
            .state_transitioned_timestamp(transitioned)
            .build();
        let state = AlarmState::from_metric(&alarm);
        assert_eq!(state.name, "nc-stg-kms-access-denied");
        assert_eq!(state.value, AlarmValue::Alarm);
        assert_eq!(state.reason, "forced");
        assert_eq!(
            state.changed_at,
            SystemTime::try_from(transitioned).ok(),
            "the transition time wins over the update time"
        );
    }

    #[test]
    fn without_a_transition_time_the_update_time_is_used_and_unknown_values_are_insufficient() {
        let updated = aws_smithy_types::DateTime::from_secs(1_800_000_100);
        let alarm = CompositeAlarm::builder()
            .alarm_name("nc-stg-composite")
            .state_value(StateValue::from("SOMETHING_NEW"))
            .state_updated_timestamp(updated)
            .build();
        let state = AlarmState::from_composite(&alarm);
        assert_eq!(state.value, AlarmValue::InsufficientData);
        assert_eq!(state.changed_at, SystemTime::try_from(updated).ok());
        assert_eq!(AlarmValue::Ok.to_string(), "OK");
    }
}
