//! Security Hub: enabled in the region with its standards.

use super::{Context, HUB};
use crate::model::{Kind, Resource, Value};

/// The Security Hub standards of the region: CIS AWS Foundations (v1.4.0, the newest Security
/// Hub offers at or below the benchmark's v1.5) and AWS Foundational Security Best Practices.
#[must_use]
pub fn hub_standards(region: &str) -> Vec<String> {
    vec![
        format!(
            "arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0"
        ),
        format!("arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/1.4.0"),
    ]
}

pub(super) fn security_hub(context: &Context<'_>) -> Resource {
    Resource::new(HUB, Kind::SecurityHubHub, "hub")
        .prop(
            "standards",
            Value::List(
                hub_standards(&context.target.region)
                    .into_iter()
                    .map(Value::Str)
                    .collect(),
            ),
        )
        .create_input("tags", context.tags(HUB))
        .declared_by("observability.enable_security_hub")
}
