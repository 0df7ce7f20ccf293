//! The account-level resources of the iam-baseline module: the GitHub Actions OIDC provider
//! and its deploy role, and the CIS extras (password policy, account-level S3 Block Public
//! Access).

use serde_json::json;

use super::roles::{role, trust};
use super::{GITHUB_OIDC_HOST, HOUR};
use crate::model::{Kind, Resource, Value, policy_ref};
use crate::modules::{Context, id};

pub(super) fn github(context: &Context<'_>) -> Vec<Resource> {
    let iam = &context.spec.iam;
    let provider_id = id("iam.oidc.github");
    let provider = Resource::new(
        provider_id.as_str(),
        Kind::IamOidcProvider,
        GITHUB_OIDC_HOST,
    )
    .prop("url", GITHUB_OIDC_HOST)
    .prop(
        "client_ids",
        Value::List(vec![Value::str("sts.amazonaws.com")]),
    )
    .prop("tags", context.tags(provider_id.as_str()))
    .create_input(
        "thumbprints",
        Value::List(vec![
            Value::str("6938fd4d98bab03faadb97b34396831e3780aea1"),
            Value::str("1c58a3a8518e8759bf075b76b750d4f2df264fcd"),
        ]),
    )
    .replace_on(&["url"])
    .declared_by("iam.enable_github_oidc");
    let org = iam.github_org.as_deref().unwrap_or_default();
    let repo = iam.github_repo.as_deref().unwrap_or_default();
    let deploy_trust = trust(vec![json!({
        "Effect": "Allow",
        "Principal": {"Federated": policy_ref(&provider_id, "arn")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {format!("{GITHUB_OIDC_HOST}:aud"): "sts.amazonaws.com"},
            "StringLike": {format!("{GITHUB_OIDC_HOST}:sub"): format!("repo:{org}/{repo}:*")}
        }
    })]);
    let deploy = role(
        context,
        "iam.role.github-deploy",
        "GitHubDeployRole",
        "GitHub Actions deployments (OIDC)",
        deploy_trust,
        HOUR,
        Some("pb-admin"),
        vec!["arn:aws:iam::aws:policy/PowerUserAccess".to_string()],
    )
    .declared_by("iam.enable_github_oidc")
    .from_spec("assume_role_policy", "iam.github_org")
    .from_spec("assume_role_policy", "iam.github_repo");
    vec![provider, deploy]
}

/// CIS extras: the password policy and account-level S3 Block Public Access.
pub(super) fn account_settings(context: &Context<'_>) -> Vec<Resource> {
    vec![
        Resource::new("iam.password_policy", Kind::IamPasswordPolicy, "account")
            .prop("minimum_password_length", 14)
            .prop("require_symbols", true)
            .prop("require_numbers", true)
            .prop("require_uppercase_characters", true)
            .prop("require_lowercase_characters", true)
            .prop("allow_users_to_change_password", true)
            .prop("max_password_age", 90)
            .prop("password_reuse_prevention", 24)
            .prop("hard_expiry", false),
        Resource::new(
            "s3.account_public_access_block",
            Kind::S3AccountPublicAccessBlock,
            context.target.account_id.clone(),
        )
        .prop("block_public_acls", true)
        .prop("ignore_public_acls", true)
        .prop("block_public_policy", true)
        .prop("restrict_public_buckets", true),
    ]
}
