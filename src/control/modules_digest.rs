//! The modules digest: what the "validated in stg first" rule requires to have run in stg
//! before it runs in prod. Pure: no SDK, no I/O.
//!
//! In a Terraform repository the environments share module code (`modules/vpc`, ...) and
//! differ in their inputs; "validated in stg first" means the module code and the set of
//! modules prod is about to run were applied in stg first. Here the modules are the tool's
//! expanders, and an environment's spec instantiates them. The digest therefore covers:
//!
//! - **the expanders' code**: the tool version, the build id when the build sets one
//!   (`NC_PROVISION_BUILD_ID` at compile time, e.g. the git commit), and a fingerprint of what
//!   this build's expanders make of a fixed reference spec (`reference/prod.toml`, every
//!   module option on), so that a change to any expander's output changes the digest even
//!   without a version bump;
//! - **the spec's module structure**: which module tables the spec has (`vpc`, `iam`, `kms`,
//!   `data`, `data.documents_table`, `observability`, and the optional `data.backup`).
//!
//! Values (CIDRs, names, retentions, e-mails, flags) are environment-specific inputs and are
//! left out, as are `[environment]`, `[tags]` and `[change_control]`: a stg and a prod apply of
//! the same build with the same module tables have the same digest (the shipped stg and prod
//! specs do), and a new build or a module table added or removed changes it.

use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::Target;
use crate::spec::Spec;

/// The reference input of the expanders' fingerprint.
const REFERENCE: &str = include_str!("reference/prod.toml");

/// The build id the build may set at compile time (`NC_PROVISION_BUILD_ID=<git commit>`).
pub const BUILD_ID: Option<&str> = option_env!("NC_PROVISION_BUILD_ID");

/// A spec's modules digest and what it is made of (recorded in audit records, so that a
/// refusal can say which part differs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModulesDigest {
    /// `sha256:<hex>` over the other fields.
    pub digest: String,
    /// The nc-provision version.
    pub tool_version: String,
    /// The build id, when the build set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// `sha256:<hex>` of this build's expansion of the reference spec.
    pub expanders: String,
    /// The module tables the spec has, sorted.
    pub modules: Vec<String>,
}

impl ModulesDigest {
    /// The modules digest of `spec` run by this build.
    ///
    /// # Errors
    /// The reference spec does not parse or expand: a bug of this build (its unit tests fail).
    pub fn of(spec: &Spec) -> Result<ModulesDigest, String> {
        Ok(ModulesDigest::from_parts(
            crate::plan::TOOL_VERSION,
            BUILD_ID,
            expanders()?,
            module_tables(spec),
        ))
    }

    /// The digest of the given parts.
    #[must_use]
    pub fn from_parts(
        tool_version: &str,
        build_id: Option<&str>,
        expanders: String,
        modules: Vec<String>,
    ) -> ModulesDigest {
        let canonical = serde_json::json!({
            "tool_version": tool_version,
            "build_id": build_id,
            "expanders": expanders,
            "modules": modules,
        });
        let digest = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
        );
        ModulesDigest {
            digest,
            tool_version: tool_version.to_string(),
            build_id: build_id.map(str::to_string),
            expanders,
            modules,
        }
    }
}

/// The module tables `spec` has, sorted.
#[must_use]
pub fn module_tables(spec: &Spec) -> Vec<String> {
    let mut tables: Vec<String> = [
        "vpc",
        "iam",
        "kms",
        "data",
        "data.documents_table",
        "observability",
    ]
    .map(str::to_string)
    .to_vec();
    if spec.data.backup.is_some() {
        tables.push("data.backup".to_string());
    }
    tables.sort();
    tables
}

/// The fingerprint of this build's expanders (computed once per process).
///
/// # Errors
/// The reference spec does not parse or expand.
pub fn expanders() -> Result<String, String> {
    static FINGERPRINT: OnceLock<Result<String, String>> = OnceLock::new();
    FINGERPRINT.get_or_init(|| fingerprint(REFERENCE)).clone()
}

/// `sha256:<hex>` of the expansion of the prod spec `text` for a fixed target: every
/// resource's id, kind, name, attributes, create inputs, dependencies and placement.
fn fingerprint(text: &str) -> Result<String, String> {
    let spec = crate::spec::parse_with(
        Path::new("reference/prod.toml"),
        text,
        &crate::spec::Variables::new(),
    )
    .map_err(|errors| format!("the modules digest's reference spec is invalid: {errors}"))?;
    let target = Target {
        env: "prod".to_string(),
        region: "us-east-1".to_string(),
        account_id: "123456789012".to_string(),
        primary_region: true,
        availability_zones: vec!["us-east-1a".to_string(), "us-east-1b".to_string()],
    };
    let graph = crate::modules::expand(&spec, &target)
        .map_err(|error| format!("the modules digest's reference spec does not expand: {error}"))?;
    let mut resources: Vec<String> = graph
        .resources()
        .iter()
        .map(|resource| format!("{resource:?}"))
        .collect();
    resources.sort();
    let mut hash = Sha256::new();
    for resource in &resources {
        hash.update(resource.as_bytes());
        hash.update(b"\n");
    }
    Ok(format!("sha256:{}", hex::encode(hash.finalize())))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn shipped(env: &str) -> Spec {
        let text = std::fs::read_to_string(format!("specs/{env}.toml")).expect("shipped spec");
        crate::spec::parse(Path::new(&format!("specs/{env}.toml")), &text).expect("valid")
    }

    #[test]
    fn the_reference_spec_parses_expands_and_turns_every_module_on() {
        let fingerprint = expanders().expect("the reference spec expands");
        assert!(fingerprint.starts_with("sha256:"), "{fingerprint}");
        let spec = crate::spec::parse_with(
            Path::new("reference/prod.toml"),
            REFERENCE,
            &crate::spec::Variables::new(),
        )
        .expect("valid");
        assert!(spec.data.backup.is_some() && spec.data.replicate_to_dr_region);
        assert!(spec.change_control.is_none());
    }

    #[test]
    fn shipped_stg_and_prod_share_a_digest_that_dev_does_not() {
        let stg = ModulesDigest::of(&shipped("stg")).expect("digest");
        let prod = ModulesDigest::of(&shipped("prod")).expect("digest");
        let dev = ModulesDigest::of(&shipped("dev")).expect("digest");
        // Different values (CIDRs, retentions, DR replication) but the same module tables.
        assert_eq!(stg, prod);
        // dev has no [data.backup]: another module structure.
        assert_ne!(dev.digest, stg.digest);
        assert!(!dev.modules.contains(&"data.backup".to_string()));
        assert_eq!(stg.expanders, dev.expanders, "same build, same expanders");
    }

    #[test]
    fn every_part_changes_the_digest() {
        let base = || {
            ModulesDigest::from_parts(
                "0.1.0",
                None,
                "sha256:e".into(),
                vec!["data".into(), "vpc".into()],
            )
        };
        assert_eq!(base(), base(), "deterministic");
        let others = [
            ModulesDigest::from_parts(
                "0.2.0",
                None,
                "sha256:e".into(),
                vec!["data".into(), "vpc".into()],
            ),
            ModulesDigest::from_parts(
                "0.1.0",
                Some("abc123"),
                "sha256:e".into(),
                vec!["data".into(), "vpc".into()],
            ),
            ModulesDigest::from_parts(
                "0.1.0",
                None,
                "sha256:f".into(),
                vec!["data".into(), "vpc".into()],
            ),
            ModulesDigest::from_parts(
                "0.1.0",
                None,
                "sha256:e".into(),
                vec!["data".into(), "data.backup".into(), "vpc".into()],
            ),
        ];
        for other in others {
            assert_ne!(other.digest, base().digest, "{other:?}");
        }
    }

    #[test]
    fn a_change_in_what_an_expander_makes_changes_the_fingerprint() {
        // The same code on another input stands in for other code on the same input: the
        // fingerprint follows the expansion, resource by resource.
        let base = fingerprint(REFERENCE).expect("reference");
        let wider_window =
            REFERENCE.replace("deletion_window_days = 30", "deletion_window_days = 29");
        assert_ne!(fingerprint(&wider_window).expect("valid"), base);
        assert_eq!(fingerprint(REFERENCE).expect("reference"), base);
        assert!(fingerprint("not toml [").is_err());
    }
}
