//! The IAM reads behind one observe, flat in the number of roles and policies: one paginated
//! GetAccountAuthorizationDetails (Filter = Role, LocalManagedPolicy) returns every role with
//! its trust document, boundary, attached and inline policies and tags, and every local
//! managed policy with its versions; one paginated ListRoles per distinct path adds what that
//! call lacks (MaxSessionDuration, Description). Managed policies carry no tags in that
//! answer, so each policy that matters costs a ListPolicyTags
//! (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html>).

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail, RoleDetail};

use crate::providers::ProviderError;
use crate::providers::aws::{sent, tags_from};

/// What ListRoles adds per role name: (max session seconds, description).
pub(super) type RoleExtras = BTreeMap<String, (i32, String)>;

/// What one GetAccountAuthorizationDetails walk found, by name.
#[derive(Default)]
pub(super) struct Details {
    /// Every role, by role name.
    pub roles: BTreeMap<String, RoleDetail>,
    /// Every local managed policy, by policy name.
    pub policies: BTreeMap<String, ManagedPolicyDetail>,
}

/// Every role and local managed policy of the account, in one paginated call.
pub(super) async fn details(client: &Client) -> Result<Details, ProviderError> {
    let call = client
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .filter(EntityType::LocalManagedPolicy)
        .into_paginator();
    let pages: Vec<_> = sent(
        "iam:GetAccountAuthorizationDetails",
        "account",
        call.send().try_collect(),
    )
    .await?;
    let mut details = Details::default();
    for page in pages {
        for role in page.role_detail_list() {
            if let Some(name) = role.role_name() {
                details.roles.insert(name.to_string(), role.clone());
            }
        }
        for policy in page.policies() {
            if let Some(name) = policy.policy_name() {
                details.policies.insert(name.to_string(), policy.clone());
            }
        }
    }
    Ok(details)
}

/// The ListRoles path prefixes that cover `paths`: one per distinct path; "/" covers every
/// other one.
pub(super) fn role_paths(mut paths: Vec<String>) -> Vec<String> {
    paths.sort();
    paths.dedup();
    if paths.iter().any(|path| path == "/") {
        return vec!["/".to_string()];
    }
    paths
}

/// MaxSessionDuration and Description of the roles under each of `paths`.
pub(super) async fn role_extras(
    client: &Client,
    paths: &[String],
) -> Result<RoleExtras, ProviderError> {
    let mut extras = RoleExtras::new();
    for path in paths {
        let call = client
            .list_roles()
            .path_prefix(path)
            .into_paginator()
            .items();
        let roles: Vec<_> = sent("iam:ListRoles", path, call.send().try_collect()).await?;
        for role in roles {
            extras.insert(
                role.role_name().to_string(),
                (
                    role.max_session_duration().unwrap_or(3600),
                    role.description().unwrap_or_default().to_string(),
                ),
            );
        }
    }
    Ok(extras)
}

/// The tags of one managed policy.
pub(super) async fn policy_tags(
    client: &Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let call = client.list_policy_tags().policy_arn(arn);
    let call = call.into_paginator().items();
    let tags: Vec<_> = sent("iam:ListPolicyTags", arn, call.send().try_collect()).await?;
    Ok(tags_from(&tags, |tag| (tag.key(), tag.value())))
}
