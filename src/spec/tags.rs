//! `[tags]`: the required tags, their values for this tool and the environment, and AWS tag
//! syntax.

use std::collections::BTreeMap;

use super::error::SpecErrorKind;
use super::model::EnvName;
use super::reader::{At, Reader, Table};
use super::rules::{self, Problem};

/// Tags every environment must carry.
pub(super) const REQUIRED_TAGS: [&str; 4] = ["Environment", "Project", "ManagedBy", "Owner"];
/// Tags prod must carry in addition.
pub(super) const PROD_TAGS: [&str; 2] = ["CostCenter", "Compliance"];
/// The `ManagedBy` value of everything this tool owns.
pub(super) const MANAGED_BY: &str = "nc-provision";

/// Reads `[tags]`: every entry (problems recorded), in file order of the keys.
pub(super) fn read(
    r: &mut Reader,
    t: &Table<'_, '_>,
    env: Option<EnvName>,
) -> BTreeMap<String, String> {
    let entries = r.string_entries(t);
    let mut required: Vec<&str> = REQUIRED_TAGS.to_vec();
    if env == Some(EnvName::Prod) {
        required.extend(PROD_TAGS);
    }
    let present: Vec<&str> = entries.iter().map(|(k, _)| k.value.as_str()).collect();
    for tag in &required {
        if present.contains(tag) {
            continue;
        }
        let close = present
            .iter()
            .copied()
            .find(|p| rules::did_you_mean(p, &[tag]).is_some());
        let hint = match close {
            Some(p) => format!("found {p:?}; tag keys are case-sensitive: write {tag:?}"),
            None if PROD_TAGS.contains(tag) => format!(
                "prod also needs CostCenter and Compliance (REFERENCE: CostCenter = \
                 \"engineering\", Compliance = \"soc2 iso27001\"); add `{tag} = \"...\"` to [tags]"
            ),
            None => format!(
                "every environment needs {}; add `{tag} = \"...\"` to [tags]",
                REQUIRED_TAGS.join(", ")
            ),
        };
        let scope = if PROD_TAGS.contains(tag) {
            " (required in prod)"
        } else {
            ""
        };
        r.error(
            SpecErrorKind::MissingKey,
            t.span.clone(),
            format!("{tag} is missing here"),
            format!("missing required tag {tag:?} in [tags]{scope}"),
            Some(hint),
        );
    }
    for (k, v) in &entries {
        tag_syntax(r, k, v);
        match k.value.as_str() {
            "Environment" => {
                if let Some(env) = env
                    && v.value != env.as_str()
                {
                    r.problem(
                        v.span.clone(),
                        Problem::new(
                            format!(
                                "tags.Environment {:?} does not match the environment \"{env}\"",
                                v.value
                            ),
                            Some(format!("set Environment = \"{env}\"")),
                        ),
                    );
                }
            }
            "ManagedBy" if v.value != MANAGED_BY => r.problem(
                v.span.clone(),
                Problem::new(
                    format!("tags.ManagedBy {:?}: expected {MANAGED_BY:?}", v.value),
                    Some(format!(
                        "nc-provision manages these resources and recognises its own by \
                         ManagedBy = \"{MANAGED_BY}\" (the seed's \"terraform\" no longer applies)"
                    )),
                ),
            ),
            _ => {}
        }
    }
    entries
        .into_iter()
        .map(|(k, v)| (k.value, v.value))
        .collect()
}

/// AWS tag rules: key 1..=128 letters, digits, spaces and `_ . : / = + - @`, value up to 256
/// characters; `aws:` is reserved by AWS and `nc:` by this tool.
///
/// Values are held to the same character set: the seeds' `Compliance = "soc2,iso27001"` has a
/// comma, which EC2 and KMS accept but IAM, S3 and DynamoDB reject (S3 answers `InvalidTag`),
/// and every resource carries every required tag.
fn tag_syntax(r: &mut Reader, k: &At<String>, v: &At<String>) {
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    let lower = k.value.to_ascii_lowercase();
    if lower.starts_with("aws:") || lower.starts_with("nc:") {
        r.error(
            SpecErrorKind::InvalidValue,
            k.span.clone(),
            "reserved",
            format!("tag key {:?} uses a reserved prefix", k.value),
            Some(
                "aws: is reserved by AWS, and nc: by nc-provision (it sets nc:env and nc:id \
                 itself)"
                    .to_string(),
            ),
        );
    } else if k.value.is_empty() || k.value.chars().count() > 128 || !k.value.chars().all(allowed) {
        r.error(
            SpecErrorKind::InvalidValue,
            k.span.clone(),
            "invalid tag key",
            format!(
                "invalid tag key {:?}: expected 1 to 128 letters, digits, spaces or _ . : / = + - @",
                k.value
            ),
            None,
        );
    }
    let len = v.value.chars().count();
    if !v.value.chars().all(allowed) {
        let suggestion: String = v
            .value
            .chars()
            .map(|c| if allowed(c) { c } else { ' ' })
            .collect();
        r.error(
            SpecErrorKind::InvalidValue,
            v.span.clone(),
            "invalid tag value",
            format!(
                "invalid value {:?} for tag {:?}: expected letters, digits, spaces or _ . : / = + - @",
                v.value, k.value
            ),
            Some(format!(
                "S3, DynamoDB and IAM reject other characters in tag values; write {suggestion:?}"
            )),
        );
    } else if len > 256 {
        r.problem(
            v.span.clone(),
            Problem::new(
                format!(
                    "value of tag {:?} is {len} characters long: expected at most 256",
                    k.value
                ),
                None,
            ),
        );
    }
}
