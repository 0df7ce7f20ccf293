//! `iam_password_policy`: the account password policy, a singleton without tags
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html>).
//! It is observed as [`Owner::Untracked`]; who set it up is the ownership record's to say.
//!
//! Props: `minimum_password_length`, `require_symbols`, `require_numbers`,
//! `require_uppercase_characters`, `require_lowercase_characters`,
//! `allow_users_to_change_password`, `max_password_age`, `password_reuse_prevention`,
//! `hard_expiry`.

use aws_sdk_iam::Client;

use crate::model::{Kind, Observed, Outputs, Owner, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, found, gone_is_done, sent};

/// The physical id of the password policy (one per account).
pub(super) const PASSWORD_ID: &str = "account";

/// The live policy under `resource`'s id; `None` when the account has none.
pub(super) async fn observe(
    client: &Client,
    resource: &Resource,
) -> Result<Option<Observed>, ProviderError> {
    let call = client.get_account_password_policy();
    let Some(answer) = found(sent("iam:GetAccountPasswordPolicy", "account", call.send()).await)?
    else {
        return Ok(None);
    };
    let Some(policy) = answer.password_policy() else {
        return Ok(None);
    };
    let int = |value: Option<i32>| Value::Int(i64::from(value.unwrap_or(0)));
    let mut props = Props::new();
    for (name, value) in [
        (
            "minimum_password_length",
            int(policy.minimum_password_length()),
        ),
        ("require_symbols", policy.require_symbols().into()),
        ("require_numbers", policy.require_numbers().into()),
        (
            "require_uppercase_characters",
            policy.require_uppercase_characters().into(),
        ),
        (
            "require_lowercase_characters",
            policy.require_lowercase_characters().into(),
        ),
        (
            "allow_users_to_change_password",
            policy.allow_users_to_change_password().into(),
        ),
        ("max_password_age", int(policy.max_password_age())),
        (
            "password_reuse_prevention",
            int(policy.password_reuse_prevention()),
        ),
        ("hard_expiry", policy.hard_expiry().unwrap_or(false).into()),
    ] {
        props.insert(name.into(), value);
    }
    let live = Live::new(Kind::IamPasswordPolicy, PASSWORD_ID, PASSWORD_ID).props(props);
    Ok(Some(live.owned_by(resource.id.clone(), Owner::Untracked)))
}

/// Sets the policy to the spec (UpdateAccountPasswordPolicy creates or replaces it).
pub(super) async fn put(client: &Client, resource: &Resource) -> Result<Outputs, ProviderError> {
    let int = |name: &str| {
        resource
            .int_prop(name)
            .and_then(|value| i32::try_from(value).ok())
    };
    let flag = |name: &str| resource.bool_prop(name);
    let call = client
        .update_account_password_policy()
        .set_minimum_password_length(int("minimum_password_length"))
        .set_require_symbols(flag("require_symbols"))
        .set_require_numbers(flag("require_numbers"))
        .set_require_uppercase_characters(flag("require_uppercase_characters"))
        .set_require_lowercase_characters(flag("require_lowercase_characters"))
        .set_allow_users_to_change_password(flag("allow_users_to_change_password"))
        .set_max_password_age(int("max_password_age"))
        .set_password_reuse_prevention(int("password_reuse_prevention"))
        .set_hard_expiry(flag("hard_expiry"));
    sent("iam:UpdateAccountPasswordPolicy", "account", call.send()).await?;
    Ok(Outputs::new())
}

/// Deletes the policy (none counts as done).
pub(super) async fn delete(client: &Client) -> Result<(), ProviderError> {
    let call = client.delete_account_password_policy();
    gone_is_done("iam:DeleteAccountPasswordPolicy", "account", call.send()).await
}
