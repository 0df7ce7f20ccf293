//! Module expanders: pure functions from the spec to desired resources, one file per module
//! of REFERENCE.md. No SDK types here.

pub mod addr;
mod backup;
mod data;
mod iam;
mod kms;
mod observability;
mod provenance;
mod role;
pub mod standby;
pub mod vpc;

use crate::model::Target;
use crate::model::{
    DesiredGraph, GraphError, LogicalId, MANAGER, Resource, TAG_ENV, TAG_ID, TAG_MANAGED_BY, Value,
};
use crate::spec::Spec;

pub use addr::{DATA_KEY, LOGS_KEY, OPS_TOPIC};
pub use iam::security_external_id;

/// Everything the spec asks for in `target`'s region, as a checked graph.
///
/// # Errors
/// A malformed graph (a bug in an expander).
pub fn expand(spec: &Spec, target: &Target) -> Result<DesiredGraph, GraphError> {
    let context = Context { spec, target };
    let mut resources = Vec::new();
    resources.extend(kms::expand(&context));
    resources.extend(data::expand(&context));
    resources.extend(iam::expand(&context));
    resources.extend(vpc::expand(&context));
    resources.extend(observability::expand(&context));
    resources.extend(backup::expand(&context));
    resources.extend(standby_data(spec, target));
    // After every module: observability links onto the others' resources (flow-log groups).
    observability::link(&context, &mut resources);
    // A consumer waits for the policies that permit it (the catalogue of integrations).
    crate::policy::integrations::link(&mut resources, target, spec);
    // The spec lines each resource and attribute come from, for the plan's causes.
    provenance::locate(&mut resources, spec);
    DesiredGraph::new(resources)
}

/// In the primary region of an environment that replicates its data to the DR region: the
/// DR region's data key (and its policy) and replica buckets, as [`standby`] copies. With
/// `data.backup.copy_to_dr_region`, the DR region's backup vault and its data key too.
fn standby_data(spec: &Spec, target: &Target) -> Vec<Resource> {
    let Some(dr_region) = spec.environment.dr_region.as_deref() else {
        return Vec::new();
    };
    let replicate = spec.data.replicate_to_dr_region;
    let copy_backups = spec
        .data
        .backup
        .as_ref()
        .is_some_and(|b| b.copy_to_dr_region);
    if !target.primary_region || !(replicate || copy_backups) {
        return Vec::new();
    }
    let dr_target = Target {
        region: dr_region.to_string(),
        primary_region: false,
        availability_zones: Vec::new(),
        ..target.clone()
    };
    let dr = Context {
        spec,
        target: &dr_target,
    };
    let data_key = addr::data_key();
    let mut copied: Vec<Resource> = kms::expand(&dr)
        .into_iter()
        .filter(|resource| {
            resource.id == data_key
                || resource.props.get("key_id") == Some(&Value::reference(&data_key, "key_id"))
        })
        .collect();
    if replicate {
        copied.extend(
            data::expand(&dr)
                .into_iter()
                .filter(|resource| resource.kind == crate::model::Kind::S3Bucket),
        );
    }
    copied.extend(
        backup::expand(&dr)
            .into_iter()
            .filter(|resource| resource.kind == crate::model::Kind::BackupVault),
    );
    standby::relabel(copied, dr_region)
}

/// What every expander reads.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The validated spec.
    pub spec: &'a Spec,
    /// Account and region.
    pub target: &'a Target,
}

impl Context<'_> {
    /// The environment name.
    #[must_use]
    pub fn env(&self) -> &str {
        self.spec.environment.name.as_str()
    }

    /// The tags every resource carries: the spec's required tags with `ManagedBy=nc-provision`,
    /// plus `nc:env` and `nc:id`.
    #[must_use]
    pub fn tags(&self, id: &str) -> Value {
        let mut tags = self.spec.tags.clone();
        tags.insert(TAG_MANAGED_BY.to_string(), MANAGER.to_string());
        tags.insert(TAG_ENV.to_string(), self.env().to_string());
        tags.insert(TAG_ID.to_string(), id.to_string());
        Value::Map(tags)
    }

    /// A globally unique name: in the primary region the base name, elsewhere the base name
    /// with a deterministic regional suffix (S3 bucket names are global).
    #[must_use]
    pub fn global_name(&self, base: &str) -> String {
        if self.target.primary_region {
            base.to_string()
        } else {
            format!("{base}-{}", region_code(&self.target.region))
        }
    }

    /// The root principal ARN of the account.
    #[must_use]
    pub fn account_root(&self) -> String {
        format!("arn:aws:iam::{}:root", self.target.account_id)
    }
}

/// A short code for a region: `us-east-1` → `use1`, `ca-central-1` → `cac1`.
#[must_use]
pub fn region_code(region: &str) -> String {
    let mut code = String::new();
    for (index, part) in region.split('-').enumerate() {
        match index {
            0 => code.push_str(part),
            _ => match part.parse::<u32>() {
                Ok(number) => code.push_str(&number.to_string()),
                Err(_) => code.extend(part.chars().next()),
            },
        }
    }
    code
}

/// A logical id from its dotted text.
#[must_use]
pub fn id(text: &str) -> LogicalId {
    LogicalId::new(text)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A target in `zones`' region with those zones, account 123456789012.
    pub(crate) fn target_for(env: &str, zones: &[&str]) -> Target {
        let region = zones.first().map_or("us-east-1", |zone| {
            zone.trim_end_matches(char::is_alphabetic)
        });
        Target {
            env: env.to_string(),
            region: region.to_string(),
            account_id: "123456789012".to_string(),
            primary_region: region == "us-east-1",
            availability_zones: zones.iter().map(|zone| (*zone).to_string()).collect(),
        }
    }

    /// The repository's spec of `env`, expanded for `zones`.
    pub(crate) fn graph_for(env: &str, zones: &[&str]) -> DesiredGraph {
        let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let spec = crate::spec::load(&specs, env).expect("the repository's specs are valid");
        expand(&spec, &target_for(env, zones)).expect("a well-formed graph")
    }

    #[test]
    fn region_codes_are_short_and_distinct() {
        assert_eq!(region_code("us-east-1"), "use1");
        assert_eq!(region_code("ca-central-1"), "cac1");
    }
}
