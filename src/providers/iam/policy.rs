//! `iam_policy` (customer-managed policies, used as permission boundaries): observe (from the
//! account snapshot and the policy's tags), create, update, delete.
//!
//! Props: `path`, `policy` (Policy), `tags`; create input `description` (IAM cannot change
//! it). Outputs `arn`, `name`.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail, PolicyScopeType, PolicyUsageType};

use super::snapshot::policy_tags;
use super::tags::{PolicyTags, iam_tags};
use super::{ALREADY_EXISTS, observed_list, policy_text, role};
use crate::model::{Kind, Observed, Outputs, Props, Resource, TAG_ID, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Change, Live, found, gone_is_done, sent, tag_pairs};

/// IAM keeps at most five versions of a managed policy, the default version included
/// (IAM user guide, access_policies_managed-versioning: "A managed policy can have up to five
/// versions"; CreatePolicyVersion fails with LimitExceeded beyond).
pub(super) const MAX_POLICY_VERSIONS: usize = 5;

/// The non-default versions (oldest first) to delete before creating one more version, so that
/// the policy never holds more than [`MAX_POLICY_VERSIONS`] versions in total.
pub(super) fn versions_to_prune(non_default: &[String]) -> &[String] {
    // Today: the non-default ones and the default; after the create: one more.
    let excess = (non_default.len() + 2).saturating_sub(MAX_POLICY_VERSIONS);
    &non_default[..excess.min(non_default.len())]
}

/// One managed policy as read from its details and tags.
pub(super) fn observe(policy: &ManagedPolicyDetail, tags: BTreeMap<String, String>) -> Live {
    let mut props = Props::new();
    props.insert("path".into(), Value::str(policy.path().unwrap_or("/")));
    let versions = policy.policy_version_list();
    if let Some(document) = versions
        .iter()
        .find(|version| version.is_default_version())
        .and_then(|version| version.document())
        .and_then(|text| crate::policy::parse(text).ok())
    {
        props.insert("policy".into(), Value::Policy(document));
    }
    // Non-default versions, oldest first (version ids are v1, v2, ...).
    let mut old: Vec<(u64, String)> = versions
        .iter()
        .filter(|version| !version.is_default_version())
        .filter_map(|version| version.version_id())
        .map(|version| {
            let number = version.trim_start_matches('v').parse().unwrap_or(0);
            (number, version.to_string())
        })
        .collect();
    old.sort();
    props.insert(
        "policy_versions".into(),
        Value::List(old.into_iter().map(|(_, id)| Value::Str(id)).collect()),
    );
    let arn = policy.arn().unwrap_or_default();
    let name = policy.policy_name().unwrap_or_default();
    let mut outputs = Outputs::new();
    outputs.insert("arn".into(), arn.to_string());
    outputs.insert("name".into(), name.to_string());
    Live::new(Kind::IamPolicy, arn, name)
        .tags(tags)
        .props(props)
        .outputs(outputs)
}

/// Creates the policy, tagged. A retried step whose first attempt made the policy carries on
/// if the policy is ours.
pub(super) async fn create(client: &Client, resource: &Resource) -> Result<Outputs, ProviderError> {
    let name = resource.name.as_str();
    let path = resource.str_prop("path").unwrap_or("/");
    let document = policy_text(resource, "policy")
        .ok_or_else(|| ProviderError::local("iam:CreatePolicy", name, "no policy"))?;
    let call = client
        .create_policy()
        .policy_name(name)
        .path(path)
        .policy_document(document)
        .set_description(
            resource
                .create_inputs
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
        )
        .set_tags(Some(iam_tags(
            tag_pairs(resource),
            "iam:CreatePolicy",
            name,
        )?));
    let created = sent("iam:CreatePolicy", name, call.send()).await;
    let mut outputs = Outputs::new();
    match created {
        Ok(created) => {
            if let Some(arn) = created.policy().and_then(|policy| policy.arn()) {
                outputs.insert("arn".into(), arn.to_string());
            }
        }
        Err(error) if error.code.as_deref() == Some(ALREADY_EXISTS) => {
            let call = client
                .list_policies()
                .scope(PolicyScopeType::Local)
                .path_prefix(path);
            let listed = sent("iam:ListPolicies", name, call.send()).await?;
            let Some(arn) = listed
                .policies()
                .iter()
                .find(|policy| policy.policy_name() == Some(name))
                .and_then(|policy| policy.arn())
                .map(str::to_string)
            else {
                return Err(error);
            };
            let tags = policy_tags(client, &arn).await?;
            if tags.get(TAG_ID).map(String::as_str) != Some(resource.id.as_str()) {
                return Err(error);
            }
            outputs.insert("arn".into(), arn);
        }
        Err(error) => return Err(error),
    }
    outputs.insert("name".into(), name.to_string());
    Ok(outputs)
}

/// Changes the document (a new default version, pruning the oldest beyond five) and tags (the
/// path, which cannot change in place, was refused before).
pub(super) async fn update(client: &Client, change: &Change<'_>) -> Result<Outputs, ProviderError> {
    let arn = change.physical_id();
    if change.touches("policy")
        && let Some(document) = policy_text(change.resource, "policy")
    {
        let versions = observed_list(change.observed, "policy_versions");
        for oldest in versions_to_prune(&versions) {
            let call = client
                .delete_policy_version()
                .policy_arn(arn)
                .version_id(oldest);
            sent("iam:DeletePolicyVersion", arn, call.send()).await?;
        }
        let call = client
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true);
        sent("iam:CreatePolicyVersion", arn, call.send()).await?;
    }
    let api = PolicyTags::new(client, arn, arn);
    change.sync_tags(&api).await
}

/// Releases the policy from the roles that attach it or use it as their boundary, deletes its
/// non-default versions, then the policy.
pub(super) async fn delete(client: &Client, observed: &Observed) -> Result<(), ProviderError> {
    let arn = observed.physical_id.as_str();
    for usage in [
        PolicyUsageType::PermissionsPolicy,
        PolicyUsageType::PermissionsBoundary,
    ] {
        let call = client
            .list_entities_for_policy()
            .policy_arn(arn)
            .entity_filter(EntityType::Role)
            .policy_usage_filter(usage.clone());
        let entities = sent("iam:ListEntitiesForPolicy", arn, call.send()).await;
        let Some(entities) = found(entities)? else {
            return Ok(());
        };
        for name in entities.policy_roles().iter().filter_map(|r| r.role_name()) {
            match usage {
                PolicyUsageType::PermissionsBoundary => role::delete_boundary(client, name).await?,
                _ => role::release(client, name, arn).await?,
            }
        }
    }
    for version in observed_list(observed, "policy_versions") {
        let call = client
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(&version);
        found(sent("iam:DeletePolicyVersion", arn, call.send()).await)?;
    }
    let call = client.delete_policy().policy_arn(arn);
    gone_is_done("iam:DeletePolicy", arn, call.send()).await
}
