//! `iam_role`: observe (from the account snapshot), create, update, delete.
//!
//! Props (the contract other modules build against): `path`, `assume_role_policy` (Policy),
//! `max_session_seconds`, `permissions_boundary` (ARN or ""), `managed_policies` (sorted
//! ARNs), `inline_policy.<name>` (Policy, one per inline policy), optionally
//! `inline_policy_names` (sorted names: set it to have extra live inline policies removed),
//! `description`, `tags`. Outputs `arn`, `name`, `role_id`.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::RoleDetail;

use super::snapshot::RoleExtras;
use super::tags::{RoleTags, iam_tags, tag_map};
use super::{
    ALREADY_EXISTS, INLINE_PREFIX, inline_policies, observed_list, policy_text, propagating,
    string_list,
};
use crate::model::{Kind, Observed, Outputs, Props, Resource, TAG_ID, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Change, Live, aws_error, gone_is_done, sent, tag_pairs};

/// One role as read from its details (and ListRoles' extras).
pub(super) fn observe(role: &RoleDetail, extras: &RoleExtras) -> Live {
    let name = role.role_name().unwrap_or_default();
    let mut props = Props::new();
    props.insert("path".into(), Value::str(role.path().unwrap_or("/")));
    if let Some(document) = role
        .assume_role_policy_document()
        .and_then(|text| crate::policy::parse(text).ok())
    {
        props.insert("assume_role_policy".into(), Value::Policy(document));
    }
    if let Some((seconds, description)) = extras.get(name) {
        props.insert(
            "max_session_seconds".into(),
            Value::Int(i64::from(*seconds)),
        );
        props.insert("description".into(), Value::str(description.clone()));
    }
    props.insert(
        "permissions_boundary".into(),
        Value::str(
            role.permissions_boundary()
                .and_then(|boundary| boundary.permissions_boundary_arn())
                .unwrap_or_default(),
        ),
    );
    let mut managed: Vec<String> = role
        .attached_managed_policies()
        .iter()
        .filter_map(|policy| policy.policy_arn().map(str::to_string))
        .collect();
    managed.sort();
    props.insert(
        "managed_policies".into(),
        Value::List(managed.into_iter().map(Value::Str).collect()),
    );
    let mut inline_names = Vec::new();
    for policy in role.role_policy_list() {
        let (Some(policy_name), Some(text)) = (policy.policy_name(), policy.policy_document())
        else {
            continue;
        };
        inline_names.push(policy_name.to_string());
        if let Ok(document) = crate::policy::parse(text) {
            props.insert(
                format!("{INLINE_PREFIX}{policy_name}"),
                Value::Policy(document),
            );
        }
    }
    inline_names.sort();
    props.insert(
        "inline_policy_names".into(),
        Value::List(inline_names.into_iter().map(Value::Str).collect()),
    );
    let mut outputs = Outputs::new();
    if let Some(arn) = role.arn() {
        outputs.insert("arn".into(), arn.to_string());
    }
    if let Some(role_id) = role.role_id() {
        outputs.insert("role_id".into(), role_id.to_string());
    }
    outputs.insert("name".into(), name.to_string());
    Live::new(Kind::IamRole, name, name)
        .tags(tag_map(role.tags()))
        .props(props)
        .outputs(outputs)
}

/// Lists that are sets in IAM (attached policies, inline policy names): when the live list
/// holds exactly the desired elements, it takes the desired order, so that a module that does
/// not sort never sees a false difference.
pub(super) fn align_sets(observed: &mut Props, desired: &Props) {
    for name in ["managed_policies", "inline_policy_names"] {
        let (Some(Value::List(live)), Some(Value::List(wanted))) =
            (observed.get(name), desired.get(name))
        else {
            continue;
        };
        let mut left: Vec<&Value> = live.iter().collect();
        let mut right: Vec<&Value> = wanted.iter().collect();
        left.sort_by_key(|value| value.as_str());
        right.sort_by_key(|value| value.as_str());
        if left == right {
            let aligned = Value::List(wanted.clone());
            observed.insert(name.to_string(), aligned);
        }
    }
}

/// Creates the role with its boundary and tags, then attaches its managed policies and puts
/// its inline ones. A retried step whose first attempt made the role carries on if the role
/// is ours.
pub(super) async fn create(client: &Client, resource: &Resource) -> Result<Outputs, ProviderError> {
    let name = resource.name.as_str();
    let trust = policy_text(resource, "assume_role_policy")
        .ok_or_else(|| ProviderError::local("iam:CreateRole", name, "no assume_role_policy"))?;
    let boundary = resource
        .str_prop("permissions_boundary")
        .filter(|arn| !arn.is_empty())
        .map(str::to_string);
    let created = client
        .create_role()
        .role_name(name)
        .path(resource.str_prop("path").unwrap_or("/"))
        .assume_role_policy_document(trust)
        .description(resource.str_prop("description").unwrap_or_default())
        .set_max_session_duration(max_session(resource))
        .set_permissions_boundary(boundary)
        .set_tags(Some(iam_tags(tag_pairs(resource), "iam:CreateRole", name)?))
        .send()
        .await
        .map_err(|error| propagating(aws_error("iam:CreateRole", name, error)));
    let role = match created {
        Ok(created) => created.role().cloned(),
        Err(error) if error.code.as_deref() == Some(ALREADY_EXISTS) => {
            let call = client.get_role().role_name(name);
            let answer = sent("iam:GetRole", name, call.send()).await?;
            let role = answer.role().ok_or(error.clone())?;
            if tag_map(role.tags()).get(TAG_ID).map(String::as_str) != Some(resource.id.as_str()) {
                return Err(error);
            }
            Some(role.clone())
        }
        Err(error) => return Err(error),
    };
    let mut outputs = Outputs::new();
    if let Some(role) = role {
        outputs.insert("arn".into(), role.arn().to_string());
        outputs.insert("role_id".into(), role.role_id().to_string());
    }
    for arn in string_list(resource, "managed_policies") {
        attach(client, name, &arn).await?;
    }
    for policy in inline_policies(&resource.props) {
        put_inline(client, name, &policy).await?;
    }
    outputs.insert("name".into(), name.to_string());
    Ok(outputs)
}

fn max_session(resource: &Resource) -> Option<i32> {
    resource
        .int_prop("max_session_seconds")
        .and_then(|seconds| i32::try_from(seconds).ok())
}

async fn attach(client: &Client, role: &str, arn: &str) -> Result<(), ProviderError> {
    client
        .attach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await
        .map_err(|error| propagating(aws_error("iam:AttachRolePolicy", role, error)))?;
    Ok(())
}

async fn detach(client: &Client, role: &str, arn: &str) -> Result<(), ProviderError> {
    let call = client.detach_role_policy().role_name(role).policy_arn(arn);
    gone_is_done("iam:DetachRolePolicy", role, call.send()).await
}

/// Puts one inline policy (its name and document, as [`inline_policies`] reads them) on `role`.
async fn put_inline(
    client: &Client,
    role: &str,
    (name, document): &(String, String),
) -> Result<(), ProviderError> {
    let call = client.put_role_policy().role_name(role).policy_name(name);
    let call = call.policy_document(document);
    sent("iam:PutRolePolicy", role, call.send()).await.map(drop)
}

async fn delete_inline(client: &Client, role: &str, policy: &str) -> Result<(), ProviderError> {
    let call = client
        .delete_role_policy()
        .role_name(role)
        .policy_name(policy);
    gone_is_done("iam:DeleteRolePolicy", role, call.send()).await
}

/// Removes a role's permissions boundary (gone already counts as done).
pub(super) async fn delete_boundary(client: &Client, role: &str) -> Result<(), ProviderError> {
    let call = client.delete_role_permissions_boundary().role_name(role);
    gone_is_done("iam:DeleteRolePermissionsBoundary", role, call.send()).await
}

/// Releases `arn` from `role`'s attached policies (gone already counts as done).
pub(super) async fn release(client: &Client, role: &str, arn: &str) -> Result<(), ProviderError> {
    detach(client, role, arn).await
}

/// Changes the attributes in `delta` (the path, which cannot change in place, was refused
/// before).
pub(super) async fn update(client: &Client, change: &Change<'_>) -> Result<Outputs, ProviderError> {
    let name = change.physical_id();
    if change.touches("assume_role_policy")
        && let Some(trust) = policy_text(change.resource, "assume_role_policy")
    {
        let call = client
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust);
        sent("iam:UpdateAssumeRolePolicy", name, call.send()).await?;
    }
    if change
        .delta
        .touches_any(&["max_session_seconds", "description"])
    {
        let call = client
            .update_role()
            .role_name(name)
            .set_max_session_duration(max_session(change.resource))
            .description(change.resource.str_prop("description").unwrap_or_default());
        sent("iam:UpdateRole", name, call.send()).await?;
    }
    if change.touches("permissions_boundary") {
        match change
            .resource
            .str_prop("permissions_boundary")
            .filter(|arn| !arn.is_empty())
        {
            Some(arn) => {
                client
                    .put_role_permissions_boundary()
                    .role_name(name)
                    .permissions_boundary(arn)
                    .send()
                    .await
                    .map_err(|error| {
                        propagating(aws_error("iam:PutRolePermissionsBoundary", name, error))
                    })?;
            }
            None => delete_boundary(client, name).await?,
        }
    }
    if change.touches("managed_policies") {
        let desired = string_list(change.resource, "managed_policies");
        let live = observed_list(change.observed, "managed_policies");
        for arn in live.iter().filter(|arn| !desired.contains(arn)) {
            detach(client, name, arn).await?;
        }
        for arn in desired.iter().filter(|arn| !live.contains(arn)) {
            attach(client, name, arn).await?;
        }
    }
    for policy in inline_policies(&change.resource.props) {
        if change.touches(&format!("{INLINE_PREFIX}{}", policy.0)) {
            put_inline(client, name, &policy).await?;
        }
    }
    if change.touches("inline_policy_names") {
        let desired = string_list(change.resource, "inline_policy_names");
        for extra in observed_list(change.observed, "inline_policy_names")
            .iter()
            .filter(|policy| !desired.contains(policy))
        {
            delete_inline(client, name, extra).await?;
        }
    }
    let api = RoleTags::new(client, name, name);
    change.sync_tags(&api).await
}

/// Detaches the role's policies, deletes its inline ones, then the role.
pub(super) async fn delete(client: &Client, observed: &Observed) -> Result<(), ProviderError> {
    let name = observed.physical_id.as_str();
    for arn in observed_list(observed, "managed_policies") {
        detach(client, name, &arn).await?;
    }
    for policy in observed_list(observed, "inline_policy_names") {
        delete_inline(client, name, &policy).await?;
    }
    let call = client.delete_role().role_name(name);
    gone_is_done("iam:DeleteRole", name, call.send()).await
}
