//! Locates the spec keys the expanders name ([`Resource::from_spec`], [`Resource::declared_by`])
//! at their lines in the spec file, so that plans can say which lines cause each change.
//!
//! Two rules apply to every resource, so that no expander has to repeat them:
//! - a resource whose expander names no key that makes it exist is declared by its module's
//!   table (`[kms]`, `[vpc]`, `[data.backup]`), found from its logical id; a standby copy in the
//!   DR region also by the key that asks for the standby;
//! - the entries of its `tags` (and a global table's `replica_tags`) that come from the spec's
//!   `[tags]` come from those lines (`tags.Owner`); the tool's own tags (`nc:id`, `Name`) from
//!   none.

use crate::model::{Resource, STANDBY_PREFIX, SpecLine, TAGS, Value};
use crate::spec::Spec;

/// The map attributes that hold the spec's `[tags]`.
const TAG_ATTRIBUTES: [&str; 2] = [TAGS, "replica_tags"];

/// Applies the two rules above and finds the line of every key each resource names.
pub(super) fn locate(resources: &mut [Resource], spec: &Spec) {
    for resource in resources.iter_mut() {
        apply_defaults(resource, spec);
        let mut lines = std::collections::BTreeMap::new();
        for key in resource.origins.keys() {
            if let Some((found, line)) = spec.provenance.locate(key) {
                lines.insert(
                    key.to_string(),
                    SpecLine {
                        file: spec.provenance.file.clone(),
                        line,
                        key: found.to_string(),
                    },
                );
            }
        }
        resource.origins.lines = lines;
    }
}

/// The module table that declares a resource, from its logical id's first part.
fn module_table(id: &str) -> Option<&'static str> {
    let id = id.strip_prefix(STANDBY_PREFIX).unwrap_or(id);
    let module = id.split('.').next()?;
    Some(match module {
        "kms" => "kms",
        "data" => "data",
        // The account's S3 Block Public Access is one of the iam-baseline's CIS extras.
        "iam" | "s3" => "iam",
        "vpc" => "vpc",
        "observability" => "observability",
        "backup" => "data.backup",
        _ => return None,
    })
}

fn apply_defaults(resource: &mut Resource, spec: &Spec) {
    let origins = &mut resource.origins;
    if origins.resource.is_empty()
        && let Some(table) = module_table(resource.id.as_str())
    {
        origins.declare(table);
    }
    if let Some(copied) = resource.id.as_str().strip_prefix(STANDBY_PREFIX) {
        // The standby's backup vault is there for the copies; its data key for both; the
        // replica buckets for replication.
        let backups = copied.starts_with("backup.") || copied.starts_with("kms.");
        if spec.data.replicate_to_dr_region && !copied.starts_with("backup.") {
            origins.declare("data.replicate_to_dr_region");
        }
        if backups
            && spec
                .data
                .backup
                .as_ref()
                .is_some_and(|backup| backup.copy_to_dr_region)
        {
            origins.declare("data.backup.copy_to_dr_region");
        }
    }
    for attribute in TAG_ATTRIBUTES {
        let entries: Vec<String> = match resource.props.get(attribute) {
            Some(Value::Map(tags)) => spec
                .tags
                .keys()
                .filter(|key| tags.contains_key(*key))
                .cloned()
                .collect(),
            _ => continue,
        };
        for entry in entries {
            origins.add_entry(attribute, &entry, &format!("tags.{entry}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::graph_for;

    #[test]
    fn every_resource_of_every_shipped_spec_is_declared_by_a_located_line() {
        for env in ["dev", "stg", "prod"] {
            let graph = graph_for(env, &["us-east-1a", "us-east-1b"]);
            let undeclared: Vec<&str> = graph
                .resources()
                .iter()
                .filter(|resource| resource.origins.resource_lines().is_empty())
                .map(|resource| resource.id.as_str())
                .collect();
            assert!(
                undeclared.is_empty(),
                "{env}: no spec line declares {undeclared:?}"
            );
            for resource in graph.resources().iter() {
                let lines = resource.origins.resource_lines();
                assert!(
                    lines
                        .iter()
                        .all(|line| line.file.ends_with(&format!("{env}.toml")) && line.line > 0),
                    "{env}: {}: {lines:?}",
                    resource.id
                );
            }
        }
    }

    #[test]
    fn spec_tags_come_from_their_lines_and_the_tools_own_tags_from_none() {
        let graph = graph_for("stg", &["us-east-1a", "us-east-1b"]);
        let key = graph
            .resources()
            .iter()
            .find(|resource| resource.id.as_str() == "kms.key.data")
            .expect("the data key");
        let owner = key.origins.entry_lines(TAGS, "Owner");
        assert_eq!(owner.len(), 1, "{owner:?}");
        assert_eq!(owner[0].key, "tags.Owner");
        let text = std::fs::read_to_string(&owner[0].file).expect("the spec");
        let written = text.lines().nth(owner[0].line - 1).expect("the line");
        assert!(written.trim_start().starts_with("Owner ="), "{written}");
        assert!(key.origins.entry_lines(TAGS, "nc:id").is_empty());
    }

    #[test]
    fn expanders_name_the_keys_users_change() {
        let graph = graph_for("stg", &["us-east-1a", "us-east-1b"]);
        let keys = |id: &str, attribute: Option<&str>| -> Vec<String> {
            let resource = graph
                .resources()
                .iter()
                .find(|resource| resource.id.as_str() == id)
                .unwrap_or_else(|| panic!("{id} is expanded"));
            let lines = match attribute {
                Some(name) => resource.origins.attribute_lines(name),
                None => resource.origins.resource_lines(),
            };
            lines.into_iter().map(|line| line.key).collect()
        };
        let cases: [(&str, &str, Option<&str>, &[&str]); 10] = [
            (
                "the operational log retention",
                "observability.log.operations",
                Some("retention_days"),
                &["observability.log_retention_days"],
            ),
            (
                "the trail log group's audit retention",
                "observability.log.trail",
                Some("retention_days"),
                &["observability.audit_log_retention_days"],
            ),
            (
                "the second bucket of the list",
                "data.bucket.norm",
                None,
                &["data.buckets[1]"],
            ),
            (
                "a subnet's CIDR",
                "vpc.subnet.app-a",
                Some("cidr"),
                &["vpc.cidr", "vpc.az_count"],
            ),
            (
                "a NAT gateway",
                "vpc.nat.a",
                None,
                &["vpc.enable_nat_gateway", "vpc.single_nat_gateway"],
            ),
            (
                "the key's rotation",
                "kms.key.data",
                Some("rotation"),
                &["kms.enable_key_rotation"],
            ),
            (
                "the alerts topic's e-mail",
                "observability.topic.security-alerts",
                Some("subscriptions"),
                &["observability.alert_email"],
            ),
            (
                "the backup rule's retention",
                "backup.plan",
                Some("rule.daily.delete_after_days"),
                &["data.backup.retention_days"],
            ),
            (
                "a resource with no key of its own: its module's table",
                "kms.key.logs",
                None,
                &["kms"],
            ),
            (
                "the access analyzer, on by default: located at [iam]",
                "iam.access_analyzer",
                None,
                &["iam"],
            ),
        ];
        for (reason, id, attribute, want) in cases {
            assert_eq!(keys(id, attribute), want.to_vec(), "{reason}");
        }
    }

    #[test]
    fn the_dr_standby_is_declared_by_the_key_that_asks_for_it() {
        let graph = graph_for("prod", &["us-east-1a", "us-east-1b"]);
        let declared = |id: &str| -> Vec<String> {
            graph
                .resources()
                .iter()
                .find(|resource| resource.id.as_str() == id)
                .unwrap_or_else(|| panic!("{id} is expanded"))
                .origins
                .resource_lines()
                .into_iter()
                .map(|line| line.key)
                .collect()
        };
        assert_eq!(
            declared("dr.data.bucket.raw"),
            ["data.buckets[0]", "data.replicate_to_dr_region"]
        );
        assert_eq!(
            declared("dr.backup.vault"),
            ["data.backup", "data.backup.copy_to_dr_region"]
        );
        assert_eq!(
            declared("dr.kms.key.data"),
            [
                "kms",
                "data.replicate_to_dr_region",
                "data.backup.copy_to_dr_region"
            ]
        );
    }
}
