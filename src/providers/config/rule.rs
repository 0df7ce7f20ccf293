//! AWS Config managed rules (`config_rule`), named `nc-<env>-...`: one DescribeConfigRules
//! (paginated) reads them all; a rule of this environment's prefix that the spec no longer
//! has is an orphan, deleted.

use std::collections::BTreeMap;

use aws_sdk_config::Client;
use aws_sdk_config::types::{ConfigRule, Owner as RuleOwner, Source, Tag};

use crate::model::{
    Kind, LogicalId, Observation, Observed, Outputs, Owner, Props, Resource, Value,
};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, gone_is_done, non_empty_prop, sent};

/// A rule's outputs: its name.
fn outputs(name: &str) -> Outputs {
    Outputs::from([("name".to_string(), name.to_string())])
}

/// Every rule of the region (DescribeConfigRules, all pages).
pub(super) async fn read(client: &Client) -> Result<Vec<ConfigRule>, ProviderError> {
    let call = client.describe_config_rules().into_paginator().items();
    sent(
        "config:DescribeConfigRules",
        "rules",
        call.send().try_collect(),
    )
    .await
}

/// The live rules as matches of the desired ones (by name) and orphans (this environment's
/// prefix, not desired), into `observation` (pure).
pub(super) fn observe(
    desired: &[&Resource],
    live: &[ConfigRule],
    env: &str,
    observation: &mut Observation,
) {
    let by_name: BTreeMap<&str, &Resource> = desired
        .iter()
        .filter(|r| r.kind == Kind::ConfigRule)
        .map(|r| (r.name.as_str(), *r))
        .collect();
    let ours = format!("nc-{env}-");
    for rule in live {
        let Some(name) = rule.config_rule_name() else {
            continue;
        };
        let wanted = by_name.get(name);
        if wanted.is_none() && !name.starts_with(&ours) {
            continue;
        }
        let id = wanted.map_or_else(
            || LogicalId::new(format!("rule:{name}")),
            |resource| resource.id.clone(),
        );
        let observed = Live::new(Kind::ConfigRule, name, name)
            .props(rule_props(rule))
            .outputs(outputs(name))
            .owned_by(id, Owner::Ours);
        if wanted.is_some() {
            observation.insert(observed);
        } else {
            observation.orphans.push(observed);
        }
    }
}

fn rule_props(rule: &ConfigRule) -> Props {
    let text = |value: Option<&str>| Value::str(value.unwrap_or_default());
    Props::from([
        (
            "source_identifier".to_string(),
            text(rule.source().and_then(Source::source_identifier)),
        ),
        (
            "input_parameters".to_string(),
            text(rule.input_parameters().filter(|text| *text != "{}")),
        ),
        ("description".to_string(), text(rule.description())),
    ])
}

/// PutConfigRule: the rule as the spec has it, tagged (from the create inputs) when created.
async fn put(client: &Client, resource: &Resource, with_tags: bool) -> Result<(), ProviderError> {
    let name = resource.name.as_str();
    let local = |error: aws_smithy_types::error::operation::BuildError| {
        ProviderError::local("config:PutConfigRule", name, error.to_string())
    };
    let source = Source::builder()
        .owner(RuleOwner::Aws)
        .source_identifier(resource.str_prop("source_identifier").unwrap_or_default())
        .build()
        .map_err(local)?;
    let rule = ConfigRule::builder()
        .config_rule_name(name)
        .description(resource.str_prop("description").unwrap_or_default())
        .source(source)
        .set_input_parameters(non_empty_prop(resource, "input_parameters"))
        .build();
    let mut request = client.put_config_rule().config_rule(rule);
    if with_tags {
        for (key, value) in resource
            .create_inputs
            .get("tags")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default()
        {
            request = request.tags(Tag::builder().key(key).value(value).build());
        }
    }
    let call = request;
    sent("config:PutConfigRule", name, call.send()).await?;
    Ok(())
}

/// Creates the rule, tagged.
pub(super) async fn create(client: &Client, resource: &Resource) -> Result<Outputs, ProviderError> {
    put(client, resource, true).await?;
    Ok(outputs(&resource.name))
}

/// Puts the rule again as the spec has it.
pub(super) async fn update(
    client: &Client,
    resource: &Resource,
    observed: &Observed,
) -> Result<Outputs, ProviderError> {
    put(client, resource, false).await?;
    Ok(observed.outputs.clone())
}

/// Deletes the rule; one already gone is done.
pub(super) async fn delete(client: &Client, observed: &Observed) -> Result<(), ProviderError> {
    let name = observed.physical_id.as_str();
    let call = client.delete_config_rule().config_rule_name(name);
    gone_is_done("config:DeleteConfigRule", name, call.send()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(name: &str) -> ConfigRule {
        ConfigRule::builder()
            .config_rule_name(name)
            .input_parameters("{}")
            .build()
    }

    #[test]
    fn rules_match_by_name_and_left_over_ones_of_the_environment_are_orphans() {
        let wanted = Resource::new(
            "observability.config.rule.cloudtrail-enabled",
            Kind::ConfigRule,
            "nc-stg-cloudtrail-enabled",
        );
        let rules = [
            live("nc-stg-cloudtrail-enabled"),
            live("nc-stg-retired"),
            live("nc-prod-cloudtrail-enabled"),
            live("someone-elses"),
        ];
        let mut observation = Observation::default();
        observe(&[&wanted], &rules, "stg", &mut observation);
        let found = &observation.found[&wanted.id];
        assert_eq!(found.physical_id, "nc-stg-cloudtrail-enabled");
        assert_eq!(
            found.props["input_parameters"],
            Value::str(""),
            "{{}} is none"
        );
        let orphans: Vec<&str> = observation.orphans.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(orphans, ["rule:nc-stg-retired"]);
    }
}
