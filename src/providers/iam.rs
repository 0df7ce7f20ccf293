//! IAM (global): roles and customer-managed policies (used as permission boundaries).
//!
//! Observe is flat in the number of roles and policies: one paginated
//! GetAccountAuthorizationDetails (Filter = Role, LocalManagedPolicy) returns every role with
//! its trust document, boundary, attached and inline policies and tags, and every local
//! managed policy with its versions; one paginated ListRoles under the `/nc/` path adds what
//! that call lacks (MaxSessionDuration, Description). Managed policies carry no tags in that
//! answer, so each found one costs a ListPolicyTags.
//!
//! `iam_role` props (the contract other modules build against): `path`, `assume_role_policy`
//! (Policy), `max_session_seconds`, `permissions_boundary` (ARN or ""), `managed_policies`
//! (sorted ARNs), `inline_policy.<name>` (Policy, one per inline policy), optionally
//! `inline_policy_names` (sorted names: set it to have extra live inline policies removed),
//! `description`, `tags`. Outputs `arn`, `name`, `role_id`.
//!
//! `iam_policy` props: `path`, `policy` (Policy), `tags`; create input `description` (IAM
//! cannot change it). Outputs `arn`, `name`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail, RoleDetail, Tag};

use super::aws::{aws_error, found};
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{
    LogicalId, MANAGER, Observation, Observed, Outputs, Owner, Props, Resource, TAG_ENV, TAG_ID,
    TAG_MANAGED_BY, Value,
};
/// Prefix of the per-inline-policy attributes of a role.
pub const INLINE_PREFIX: &str = "inline_policy.";

const KINDS: &[Kind] = &[Kind::IamRole, Kind::IamPolicy];
/// IAM's error code for a name already taken.
const ALREADY_EXISTS: &str = "EntityAlreadyExists";
/// IAM keeps at most five versions of a managed policy, the default version included
/// (IAM user guide, access_policies_managed-versioning: "A managed policy can have up to five
/// versions"; CreatePolicyVersion fails with LimitExceeded beyond).
const MAX_POLICY_VERSIONS: usize = 5;

/// The non-default versions (oldest first) to delete before creating one more version, so that
/// the policy never holds more than [`MAX_POLICY_VERSIONS`] versions in total.
fn versions_to_prune(non_default: &[String]) -> &[String] {
    // Today: the non-default ones and the default; after the create: one more.
    let excess = (non_default.len() + 2).saturating_sub(MAX_POLICY_VERSIONS);
    &non_default[..excess.min(non_default.len())]
}

/// The IAM provider.
pub struct IamProvider {
    client: Client,
}

/// What one GetAccountAuthorizationDetails walk found.
#[derive(Default)]
struct Details {
    roles: BTreeMap<String, RoleDetail>,
    policies: BTreeMap<String, ManagedPolicyDetail>,
}

/// What ListRoles adds per role name: (max session seconds, description).
type RoleExtras = BTreeMap<String, (i32, String)>;

impl IamProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> IamProvider {
        IamProvider { client: aws.iam() }
    }

    /// A provider over a given client (tests use mocked clients).
    #[must_use]
    pub fn with_client(client: Client) -> IamProvider {
        IamProvider { client }
    }

    async fn details(&self) -> Result<Details, ProviderError> {
        let mut details = Details::default();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .get_account_authorization_details()
                .filter(EntityType::Role)
                .filter(EntityType::LocalManagedPolicy)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|error| {
                    aws_error("iam:GetAccountAuthorizationDetails", "account", error)
                })?;
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
            match (page.is_truncated(), page.marker()) {
                (true, Some(next)) => marker = Some(next.to_string()),
                _ => return Ok(details),
            }
        }
    }

    /// MaxSessionDuration and Description of the roles under each of `paths`.
    async fn role_extras(&self, paths: &[String]) -> Result<RoleExtras, ProviderError> {
        let mut extras = RoleExtras::new();
        for path in paths {
            let mut marker: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_roles()
                    .path_prefix(path)
                    .set_marker(marker.take())
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:ListRoles", path, error))?;
                for role in page.roles() {
                    extras.insert(
                        role.role_name().to_string(),
                        (
                            role.max_session_duration().unwrap_or(3600),
                            role.description().unwrap_or_default().to_string(),
                        ),
                    );
                }
                match (page.is_truncated(), page.marker()) {
                    (true, Some(next)) => marker = Some(next.to_string()),
                    _ => break,
                }
            }
        }
        Ok(extras)
    }

    async fn policy_tags(&self, arn: &str) -> Result<Vec<(String, String)>, ProviderError> {
        let mut tags = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_policy_tags()
                .policy_arn(arn)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|error| aws_error("iam:ListPolicyTags", arn, error))?;
            tags.extend(
                page.tags()
                    .iter()
                    .map(|tag| (tag.key().to_string(), tag.value().to_string())),
            );
            match (page.is_truncated(), page.marker()) {
                (true, Some(next)) => marker = Some(next.to_string()),
                _ => return Ok(tags),
            }
        }
    }

    async fn create_role(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        let trust = policy_text(resource, "assume_role_policy")
            .ok_or_else(|| ProviderError::local("iam:CreateRole", name, "no assume_role_policy"))?;
        let boundary = resource
            .str_prop("permissions_boundary")
            .filter(|arn| !arn.is_empty())
            .map(str::to_string);
        let created = self
            .client
            .create_role()
            .role_name(name)
            .path(resource.str_prop("path").unwrap_or("/"))
            .assume_role_policy_document(trust)
            .description(resource.str_prop("description").unwrap_or_default())
            .set_max_session_duration(
                resource
                    .int_prop("max_session_seconds")
                    .and_then(|seconds| i32::try_from(seconds).ok()),
            )
            .set_permissions_boundary(boundary)
            .set_tags(Some(iam_tags(super::tag_pairs(resource), name)?))
            .send()
            .await
            .map_err(|error| propagating(aws_error("iam:CreateRole", name, error)));
        let mut outputs = Outputs::new();
        match created {
            Ok(created) => {
                if let Some(role) = created.role() {
                    outputs.insert("arn".into(), role.arn().to_string());
                    outputs.insert("role_id".into(), role.role_id().to_string());
                }
            }
            // A retried step whose first attempt made the role: carry on if it is ours.
            Err(error) if error.code.as_deref() == Some(ALREADY_EXISTS) => {
                let role = self
                    .client
                    .get_role()
                    .role_name(name)
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:GetRole", name, error))?;
                let role = role.role().ok_or(error.clone())?;
                let tags: BTreeMap<String, String> = role
                    .tags()
                    .iter()
                    .map(|tag| (tag.key().to_string(), tag.value().to_string()))
                    .collect();
                if tags.get(TAG_ID).map(String::as_str) != Some(resource.id.as_str()) {
                    return Err(error);
                }
                outputs.insert("arn".into(), role.arn().to_string());
                outputs.insert("role_id".into(), role.role_id().to_string());
            }
            Err(error) => return Err(error),
        }
        for arn in string_list(resource, "managed_policies") {
            self.attach(name, &arn).await?;
        }
        for (policy_name, document) in inline_policies(&resource.props) {
            self.put_inline(name, &policy_name, &document).await?;
        }
        outputs.insert("name".into(), name.to_string());
        Ok(outputs)
    }

    async fn attach(&self, role: &str, arn: &str) -> Result<(), ProviderError> {
        self.client
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|error| propagating(aws_error("iam:AttachRolePolicy", role, error)))?;
        Ok(())
    }

    async fn put_inline(
        &self,
        role: &str,
        name: &str,
        document: &str,
    ) -> Result<(), ProviderError> {
        self.client
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map_err(|error| aws_error("iam:PutRolePolicy", role, error))?;
        Ok(())
    }

    async fn update_role(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
    ) -> Result<Outputs, ProviderError> {
        let name = observed.physical_id.as_str();
        if delta.touches("path") {
            return Err(ProviderError::local(
                "iam:UpdateRole",
                name,
                "a role's path cannot change in place",
            ));
        }
        if delta.touches("assume_role_policy")
            && let Some(trust) = policy_text(resource, "assume_role_policy")
        {
            self.client
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(trust)
                .send()
                .await
                .map_err(|error| aws_error("iam:UpdateAssumeRolePolicy", name, error))?;
        }
        if delta.touches("max_session_seconds") || delta.touches("description") {
            self.client
                .update_role()
                .role_name(name)
                .set_max_session_duration(
                    resource
                        .int_prop("max_session_seconds")
                        .and_then(|seconds| i32::try_from(seconds).ok()),
                )
                .description(resource.str_prop("description").unwrap_or_default())
                .send()
                .await
                .map_err(|error| aws_error("iam:UpdateRole", name, error))?;
        }
        if delta.touches("permissions_boundary") {
            match resource
                .str_prop("permissions_boundary")
                .filter(|arn| !arn.is_empty())
            {
                Some(arn) => {
                    self.client
                        .put_role_permissions_boundary()
                        .role_name(name)
                        .permissions_boundary(arn)
                        .send()
                        .await
                        .map_err(|error| {
                            propagating(aws_error("iam:PutRolePermissionsBoundary", name, error))
                        })?;
                }
                None => {
                    found(
                        self.client
                            .delete_role_permissions_boundary()
                            .role_name(name)
                            .send()
                            .await
                            .map_err(|error| {
                                aws_error("iam:DeleteRolePermissionsBoundary", name, error)
                            }),
                    )?;
                }
            }
        }
        if delta.touches("managed_policies") {
            let desired = string_list(resource, "managed_policies");
            let live = observed_list(observed, "managed_policies");
            for arn in live.iter().filter(|arn| !desired.contains(arn)) {
                found(
                    self.client
                        .detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send()
                        .await
                        .map_err(|error| aws_error("iam:DetachRolePolicy", name, error)),
                )?;
            }
            for arn in desired.iter().filter(|arn| !live.contains(arn)) {
                self.attach(name, arn).await?;
            }
        }
        for (policy_name, document) in inline_policies(&resource.props) {
            if delta.touches(&format!("{INLINE_PREFIX}{policy_name}")) {
                self.put_inline(name, &policy_name, &document).await?;
            }
        }
        if delta.touches("inline_policy_names") {
            let desired = string_list(resource, "inline_policy_names");
            for extra in observed_list(observed, "inline_policy_names")
                .iter()
                .filter(|policy| !desired.contains(policy))
            {
                self.delete_inline(name, extra).await?;
            }
        }
        if delta.touches("tags") {
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                self.client
                    .untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:UntagRole", name, error))?;
            }
            if !set.is_empty() {
                self.client
                    .tag_role()
                    .role_name(name)
                    .set_tags(Some(iam_tags(set, name)?))
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:TagRole", name, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }

    async fn delete_inline(&self, role: &str, policy: &str) -> Result<(), ProviderError> {
        found(
            self.client
                .delete_role_policy()
                .role_name(role)
                .policy_name(policy)
                .send()
                .await
                .map_err(|error| aws_error("iam:DeleteRolePolicy", role, error)),
        )?;
        Ok(())
    }

    async fn delete_role(&self, observed: &Observed) -> Result<(), ProviderError> {
        let name = observed.physical_id.as_str();
        for arn in observed_list(observed, "managed_policies") {
            found(
                self.client
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(&arn)
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:DetachRolePolicy", name, error)),
            )?;
        }
        for policy in observed_list(observed, "inline_policy_names") {
            self.delete_inline(name, &policy).await?;
        }
        found(
            self.client
                .delete_role()
                .role_name(name)
                .send()
                .await
                .map_err(|error| aws_error("iam:DeleteRole", name, error)),
        )?;
        Ok(())
    }

    async fn create_policy(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let name = resource.name.as_str();
        let document = policy_text(resource, "policy")
            .ok_or_else(|| ProviderError::local("iam:CreatePolicy", name, "no policy"))?;
        let created = self
            .client
            .create_policy()
            .policy_name(name)
            .path(resource.str_prop("path").unwrap_or("/"))
            .policy_document(document)
            .set_description(
                resource
                    .create_inputs
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_tags(Some(iam_tags(super::tag_pairs(resource), name)?))
            .send()
            .await
            .map_err(|error| aws_error("iam:CreatePolicy", name, error));
        let mut outputs = Outputs::new();
        match created {
            Ok(created) => {
                if let Some(arn) = created.policy().and_then(|policy| policy.arn()) {
                    outputs.insert("arn".into(), arn.to_string());
                }
            }
            // A retried step whose first attempt made the policy: carry on if it is ours.
            Err(error) if error.code.as_deref() == Some(ALREADY_EXISTS) => {
                let path = resource.str_prop("path").unwrap_or("/");
                let listed = self
                    .client
                    .list_policies()
                    .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                    .path_prefix(path)
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:ListPolicies", name, error))?;
                let Some(arn) = listed
                    .policies()
                    .iter()
                    .find(|policy| policy.policy_name() == Some(name))
                    .and_then(|policy| policy.arn())
                    .map(str::to_string)
                else {
                    return Err(error);
                };
                let tags: BTreeMap<String, String> =
                    self.policy_tags(&arn).await?.into_iter().collect();
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

    async fn update_policy(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
    ) -> Result<Outputs, ProviderError> {
        let arn = observed.physical_id.as_str();
        if delta.touches("path") {
            return Err(ProviderError::local(
                "iam:CreatePolicyVersion",
                arn,
                "a managed policy's path cannot change in place",
            ));
        }
        if delta.touches("policy")
            && let Some(document) = policy_text(resource, "policy")
        {
            // IAM keeps five versions in total, the default one included: drop the oldest
            // non-default ones to make room for the new one.
            let versions = observed_list(observed, "policy_versions");
            for oldest in versions_to_prune(&versions) {
                self.client
                    .delete_policy_version()
                    .policy_arn(arn)
                    .version_id(oldest)
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:DeletePolicyVersion", arn, error))?;
            }
            self.client
                .create_policy_version()
                .policy_arn(arn)
                .policy_document(document)
                .set_as_default(true)
                .send()
                .await
                .map_err(|error| aws_error("iam:CreatePolicyVersion", arn, error))?;
        }
        if delta.touches("tags") {
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                self.client
                    .untag_policy()
                    .policy_arn(arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:UntagPolicy", arn, error))?;
            }
            if !set.is_empty() {
                self.client
                    .tag_policy()
                    .policy_arn(arn)
                    .set_tags(Some(iam_tags(set, arn)?))
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:TagPolicy", arn, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }

    async fn delete_policy(&self, observed: &Observed) -> Result<(), ProviderError> {
        let arn = observed.physical_id.as_str();
        // Release it from the roles that attach it or use it as their boundary first.
        for usage in [
            aws_sdk_iam::types::PolicyUsageType::PermissionsPolicy,
            aws_sdk_iam::types::PolicyUsageType::PermissionsBoundary,
        ] {
            let entities = self
                .client
                .list_entities_for_policy()
                .policy_arn(arn)
                .entity_filter(EntityType::Role)
                .policy_usage_filter(usage.clone())
                .send()
                .await
                .map_err(|error| aws_error("iam:ListEntitiesForPolicy", arn, error));
            let Some(entities) = found(entities)? else {
                return Ok(());
            };
            for role in entities.policy_roles().iter().filter_map(|r| r.role_name()) {
                let released = match usage {
                    aws_sdk_iam::types::PolicyUsageType::PermissionsBoundary => self
                        .client
                        .delete_role_permissions_boundary()
                        .role_name(role)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| {
                            aws_error("iam:DeleteRolePermissionsBoundary", role, error)
                        }),
                    _ => self
                        .client
                        .detach_role_policy()
                        .role_name(role)
                        .policy_arn(arn)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| aws_error("iam:DetachRolePolicy", role, error)),
                };
                found(released)?;
            }
        }
        for version in observed_list(observed, "policy_versions") {
            found(
                self.client
                    .delete_policy_version()
                    .policy_arn(arn)
                    .version_id(&version)
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:DeletePolicyVersion", arn, error)),
            )?;
        }
        found(
            self.client
                .delete_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|error| aws_error("iam:DeletePolicy", arn, error)),
        )?;
        Ok(())
    }
}

/// A policy or role just created may not be visible to the next IAM call yet: for the calls
/// that name one (CreateRole's boundary, AttachRolePolicy, PutRolePermissionsBoundary), IAM's
/// NoSuchEntity is eventual consistency, retried for a bounded time, not "gone".
fn propagating(mut error: ProviderError) -> ProviderError {
    if error.class == super::ErrorClass::NotFound {
        error.class = super::ErrorClass::Propagation;
    }
    error
}

/// Observes one role from its details (and ListRoles' extras).
fn observe_role(id: LogicalId, role: &RoleDetail, extras: &RoleExtras, env: &str) -> Observed {
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
    let tags: BTreeMap<String, String> = role
        .tags()
        .iter()
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect();
    let owner = Owner::from_tags(&tags, env);
    props.insert("tags".into(), tags_value(tags));
    let mut outputs = Outputs::new();
    if let Some(arn) = role.arn() {
        outputs.insert("arn".into(), arn.to_string());
    }
    if let Some(role_id) = role.role_id() {
        outputs.insert("role_id".into(), role_id.to_string());
    }
    outputs.insert("name".into(), name.to_string());
    Observed {
        id,
        kind: Kind::IamRole,
        physical_id: name.to_string(),
        props,
        outputs,
        owner,
        retain: false,
        refused: None,
    }
}

/// Observes one managed policy from its details and tags.
fn observe_policy(
    id: LogicalId,
    policy: &ManagedPolicyDetail,
    tags: Vec<(String, String)>,
    env: &str,
) -> Observed {
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
    let tags: BTreeMap<String, String> = tags.into_iter().collect();
    let owner = Owner::from_tags(&tags, env);
    props.insert("tags".into(), tags_value(tags));
    let arn = policy.arn().unwrap_or_default().to_string();
    let mut outputs = Outputs::new();
    outputs.insert("arn".into(), arn.clone());
    outputs.insert(
        "name".into(),
        policy.policy_name().unwrap_or_default().to_string(),
    );
    Observed {
        id,
        kind: Kind::IamPolicy,
        physical_id: arn,
        props,
        outputs,
        owner,
        retain: false,
        refused: None,
    }
}

/// Whether tags mark a resource as ours for `env`, and its logical id.
fn our_id(tags: &BTreeMap<String, String>, env: &str) -> Option<String> {
    let ours = tags.get(TAG_MANAGED_BY).map(String::as_str) == Some(MANAGER)
        && tags.get(TAG_ENV).map(String::as_str) == Some(env);
    ours.then(|| tags.get(TAG_ID).cloned()).flatten()
}

fn iam_tags(pairs: Vec<(String, String)>, resource: &str) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| ProviderError::local("iam:TagRole", resource, error.to_string()))
        })
        .collect()
}

fn policy_text(resource: &Resource, prop: &str) -> Option<String> {
    resource
        .props
        .get(prop)
        .and_then(Value::as_policy)
        .map(serde_json::Value::to_string)
}

fn string_list(resource: &Resource, prop: &str) -> Vec<String> {
    list_of(resource.props.get(prop))
}

fn observed_list(observed: &Observed, prop: &str) -> Vec<String> {
    list_of(observed.props.get(prop))
}

fn list_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Lists that are sets in IAM (attached policies, inline policy names): when the live list
/// holds exactly the desired elements, it takes the desired order, so that a module that does
/// not sort never sees a false difference.
fn align_set(observed: &mut Props, desired: &Props, name: &str) {
    let (Some(Value::List(live)), Some(Value::List(wanted))) =
        (observed.get(name), desired.get(name))
    else {
        return;
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

/// The inline policies of a role's props: (name, document text).
fn inline_policies(props: &Props) -> Vec<(String, String)> {
    props
        .iter()
        .filter_map(|(name, value)| {
            let policy_name = name.strip_prefix(INLINE_PREFIX)?;
            Some((policy_name.to_string(), value.as_policy()?.to_string()))
        })
        .collect()
}

#[async_trait]
impl Provider for IamProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let mut paths: Vec<String> = desired
            .iter()
            .filter(|resource| resource.kind == Kind::IamRole)
            .map(|resource| resource.str_prop("path").unwrap_or("/").to_string())
            .collect();
        paths.sort();
        paths.dedup();
        // One ListRoles per distinct path prefix; "/" covers every other one.
        if paths.iter().any(|path| path == "/") {
            paths = vec!["/".to_string()];
        }
        let (details, extras) = tokio::join!(self.details(), self.role_extras(&paths));
        let details = details?;
        let extras = extras?;
        let mut observation = Observation::default();
        let desired_ids: Vec<&str> = desired
            .iter()
            .map(|resource| resource.id.as_str())
            .collect();
        let mut seen_roles = Vec::new();
        let mut policy_lookups = Vec::new();
        for resource in desired {
            match resource.kind {
                Kind::IamRole => {
                    if let Some(role) = details.roles.get(&resource.name) {
                        seen_roles.push(resource.name.clone());
                        let mut observed = observe_role(resource.id.clone(), role, &extras, env);
                        for list in ["managed_policies", "inline_policy_names"] {
                            align_set(&mut observed.props, &resource.props, list);
                        }
                        observation.insert(observed);
                    }
                }
                Kind::IamPolicy => {
                    if let Some(policy) = details.policies.get(&resource.name) {
                        policy_lookups.push((resource.id.clone(), policy.clone()));
                    }
                }
                _ => {}
            }
        }
        // Roles of ours that the spec no longer contains.
        for (name, role) in &details.roles {
            if seen_roles.contains(name) {
                continue;
            }
            let tags: BTreeMap<String, String> = role
                .tags()
                .iter()
                .map(|tag| (tag.key().to_string(), tag.value().to_string()))
                .collect();
            if let Some(logical) = our_id(&tags, env)
                && !desired_ids.contains(&logical.as_str())
            {
                observation
                    .orphans
                    .push(observe_role(LogicalId::new(logical), role, &extras, env));
            }
        }
        // Policies under a desired path that no desired policy names: ours (by tag) are
        // orphans. In the steady state there are none, so this costs no call.
        let policy_paths: Vec<&str> = desired
            .iter()
            .filter(|resource| resource.kind == Kind::IamPolicy)
            .filter_map(|resource| resource.str_prop("path"))
            .filter(|path| *path != "/")
            .collect();
        let desired_policies: Vec<&str> = desired
            .iter()
            .filter(|resource| resource.kind == Kind::IamPolicy)
            .map(|resource| resource.name.as_str())
            .collect();
        let strays: Vec<&ManagedPolicyDetail> = details
            .policies
            .iter()
            .filter(|(name, policy)| {
                !desired_policies.contains(&name.as_str())
                    && policy_paths.contains(&policy.path().unwrap_or("/"))
            })
            .map(|(_, policy)| policy)
            .collect();
        let stray_tags = futures::future::try_join_all(
            strays
                .iter()
                .map(|policy| self.policy_tags(policy.arn().unwrap_or_default())),
        )
        .await?;
        for (policy, tags) in strays.into_iter().zip(stray_tags) {
            let map: BTreeMap<String, String> = tags.iter().cloned().collect();
            if let Some(logical) = our_id(&map, env)
                && !desired_ids.contains(&logical.as_str())
            {
                observation.orphans.push(observe_policy(
                    LogicalId::new(logical),
                    policy,
                    tags,
                    env,
                ));
            }
        }
        let tagged = futures::future::try_join_all(policy_lookups.into_iter().map(
            |(id, policy)| async move {
                let arn = policy.arn().unwrap_or_default().to_string();
                let tags = self.policy_tags(&arn).await?;
                Ok::<_, ProviderError>(observe_policy(id, &policy, tags, env))
            },
        ))
        .await?;
        for observed in tagged {
            observation.insert(observed);
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::IamPolicy => self.create_policy(resource).await,
            _ => self.create_role(resource).await,
        }
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::IamPolicy => self.update_policy(resource, observed, delta).await,
            _ => self.update_role(resource, observed, delta).await,
        }
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        match observed.kind {
            Kind::IamPolicy => self.delete_policy(observed).await,
            _ => self.delete_role(observed).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput;
    use aws_sdk_iam::operation::create_role::CreateRoleOutput;
    use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
    use aws_sdk_iam::operation::list_policy_tags::ListPolicyTagsOutput;
    use aws_sdk_iam::operation::list_roles::ListRolesOutput;
    use aws_sdk_iam::types::{
        AttachedPermissionsBoundary, AttachedPolicy, PolicyDetail, PolicyVersion, Role,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;

    use super::*;
    use crate::exec::retry::{RetryPolicy, with_retry};
    use crate::model::DesiredGraph;
    use crate::plan::{Action, DiffOptions, diff};
    use crate::providers::ErrorClass;

    const ACCOUNT: &str = "123456789012";

    fn encode(document: &serde_json::Value) -> String {
        percent_encoding::utf8_percent_encode(
            &document.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string()
    }

    fn trust() -> serde_json::Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    }

    fn boundary_document() -> serde_json::Value {
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "Logs", "Effect": "Allow",
            "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": "*"}]})
    }

    fn tags(id: &str) -> Value {
        Value::Map(
            [
                ("ManagedBy", "nc-provision"),
                ("nc:env", "stg"),
                ("nc:id", id),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
    }

    fn iam_tag_list(id: &str) -> Vec<Tag> {
        [
            ("ManagedBy", "nc-provision"),
            ("nc:env", "stg"),
            ("nc:id", id),
        ]
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
        .collect()
    }

    fn boundary_arn() -> String {
        format!("arn:aws:iam::{ACCOUNT}:policy/nc/pb-etl")
    }

    fn desired() -> Vec<Resource> {
        vec![
            Resource::new("iam.policy.pb-etl", Kind::IamPolicy, "pb-etl")
                .prop("path", "/nc/")
                .prop("policy", Value::Policy(boundary_document()))
                .prop("tags", tags("iam.policy.pb-etl")),
            Resource::new("iam.role.etl", Kind::IamRole, "LambdaETLRole")
                .prop("path", "/nc/")
                .prop("assume_role_policy", Value::Policy(trust()))
                .prop("max_session_seconds", 43_200)
                .prop("permissions_boundary", boundary_arn())
                .prop(
                    "managed_policies",
                    Value::List(vec![
                        Value::str(
                            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                        ),
                        Value::str(boundary_arn()),
                    ]),
                )
                .prop(
                    "inline_policy_names",
                    Value::List(vec![Value::str("extra")]),
                )
                .prop("inline_policy.extra", Value::Policy(boundary_document()))
                .prop("description", "ETL")
                .prop("tags", tags("iam.role.etl")),
        ]
    }

    /// GetAccountAuthorizationDetails as IAM answers it: documents URL-encoded, attachments
    /// in another order, a policy with an old version.
    fn details() -> GetAccountAuthorizationDetailsOutput {
        let role = RoleDetail::builder()
            .path("/nc/")
            .role_name("LambdaETLRole")
            .role_id("AROAEXAMPLE")
            .arn(format!("arn:aws:iam::{ACCOUNT}:role/nc/LambdaETLRole"))
            .assume_role_policy_document(encode(&trust()))
            .permissions_boundary(
                AttachedPermissionsBoundary::builder()
                    .permissions_boundary_arn(boundary_arn())
                    .build(),
            )
            .attached_managed_policies(AttachedPolicy::builder().policy_arn(boundary_arn()).build())
            .attached_managed_policies(
                AttachedPolicy::builder()
                    .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
                    .build(),
            )
            .role_policy_list(
                PolicyDetail::builder()
                    .policy_name("extra")
                    .policy_document(encode(&boundary_document()))
                    .build(),
            )
            .set_tags(Some(iam_tag_list("iam.role.etl")))
            .build();
        let reordered = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": ["*"]}});
        let policy = ManagedPolicyDetail::builder()
            .policy_name("pb-etl")
            .arn(boundary_arn())
            .path("/nc/")
            .policy_version_list(
                PolicyVersion::builder()
                    .version_id("v1")
                    .is_default_version(false)
                    .document(encode(&json!({"Statement": []})))
                    .build(),
            )
            .policy_version_list(
                PolicyVersion::builder()
                    .version_id("v2")
                    .is_default_version(true)
                    .document(encode(&reordered))
                    .build(),
            )
            .build();
        GetAccountAuthorizationDetailsOutput::builder()
            .role_detail_list(role)
            .policies(policy)
            .is_truncated(false)
            .build()
    }

    fn list_roles() -> ListRolesOutput {
        ListRolesOutput::builder()
            .roles(
                Role::builder()
                    .path("/nc/")
                    .role_name("LambdaETLRole")
                    .role_id("AROAEXAMPLE")
                    .arn(format!("arn:aws:iam::{ACCOUNT}:role/nc/LambdaETLRole"))
                    .create_date(aws_smithy_types::DateTime::from_secs(0))
                    .max_session_duration(43_200)
                    .description("ETL")
                    .build()
                    .unwrap(),
            )
            .set_is_truncated(Some(false))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn observes_roles_and_policies_in_one_batch_and_encoded_documents_are_no_change() {
        let gaad = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .match_requests(|request| {
                request.filter() == [EntityType::Role, EntityType::LocalManagedPolicy]
            })
            .then_output(details);
        let roles = mock!(aws_sdk_iam::Client::list_roles)
            .match_requests(|request| request.path_prefix() == Some("/nc/"))
            .then_output(list_roles);
        let policy_tags = mock!(aws_sdk_iam::Client::list_policy_tags).then_output(|| {
            ListPolicyTagsOutput::builder()
                .set_tags(Some(iam_tag_list("iam.policy.pb-etl")))
                .build()
                .unwrap()
        });
        let provider = IamProvider::with_client(mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&gaad, &roles, &policy_tags]
        ));
        let desired = desired();
        let refs: Vec<&Resource> = desired.iter().collect();
        let observation = provider.observe(&refs, "stg").await.unwrap();
        assert_eq!(gaad.num_calls(), 1);
        assert_eq!(roles.num_calls(), 1);
        assert_eq!(policy_tags.num_calls(), 1);
        let role = &observation.found[&LogicalId::new("iam.role.etl")];
        assert_eq!(role.props["max_session_seconds"], Value::Int(43_200));
        assert_eq!(
            role.outputs["arn"],
            format!("arn:aws:iam::{ACCOUNT}:role/nc/LambdaETLRole")
        );
        let policy = &observation.found[&LogicalId::new("iam.policy.pb-etl")];
        assert_eq!(
            policy.props["policy_versions"],
            Value::List(vec![Value::str("v1")])
        );
        let graph = DesiredGraph::new(desired).unwrap();
        let changes = diff(&graph, &observation, DiffOptions::default());
        for change in &changes {
            assert_eq!(
                change.action,
                Action::NoOp,
                "{}: {:?}",
                change.id,
                change.attributes
            );
        }
    }

    /// IAM's answer when a trust policy names a principal it cannot see yet.
    const INVALID_PRINCIPAL: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>MalformedPolicyDocument</Code><Message>Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/nc/Fresh\"</Message></Error><RequestId>1</RequestId></ErrorResponse>";

    const NO_SUCH_POLICY: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>Policy arn:aws:iam::123456789012:policy/nc/pb-etl does not exist or is not attachable.</Message></Error><RequestId>1</RequestId></ErrorResponse>";
    const ALREADY: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>EntityAlreadyExists</Code><Message>Role with name LambdaETLRole already exists.</Message></Error><RequestId>1</RequestId></ErrorResponse>";

    fn made_role() -> Role {
        Role::builder()
            .path("/nc/")
            .role_name("LambdaETLRole")
            .role_id("AROAEXAMPLE")
            .arn(format!("arn:aws:iam::{ACCOUNT}:role/nc/LambdaETLRole"))
            .create_date(aws_smithy_types::DateTime::from_secs(0))
            .set_tags(Some(iam_tag_list("iam.role.etl")))
            .build()
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_retried_create_finds_the_role_its_first_attempt_made_and_finishes_it() {
        let create = mock!(aws_sdk_iam::Client::create_role)
            .sequence()
            .output(|| CreateRoleOutput::builder().role(made_role()).build())
            .http_status(400, Some(ALREADY.to_string()))
            .build();
        let get = mock!(aws_sdk_iam::Client::get_role).then_output(|| {
            aws_sdk_iam::operation::get_role::GetRoleOutput::builder()
                .role(made_role())
                .build()
        });
        // The boundary policy made a moment ago is not attachable yet, then it is.
        let attach = mock!(aws_sdk_iam::Client::attach_role_policy)
            .sequence()
            .http_status(404, Some(NO_SUCH_POLICY.to_string()))
            .output(|| AttachRolePolicyOutput::builder().build())
            .times(2)
            .build();
        let put = mock!(aws_sdk_iam::Client::put_role_policy).then_output(|| {
            aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput::builder().build()
        });
        let provider = IamProvider::with_client(mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&create, &get, &attach, &put]
        ));
        let role = desired().remove(1);
        let ctx = StepCtx {
            id: role.id.clone(),
            env: "stg".into(),
            progress: Arc::new(|_| {}),
            wait_timeout: Duration::from_secs(1),
        };
        let policy = RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(16),
            deadline: Duration::from_secs(180),
        };
        let (result, attempts) = with_retry(policy, || provider.create(&role, &ctx)).await;
        assert_eq!(result.unwrap()["role_id"], "AROAEXAMPLE");
        assert_eq!(attempts, 2);
        assert_eq!(create.num_calls(), 2);
        assert_eq!(get.num_calls(), 1);
        assert_eq!(attach.num_calls(), 3);
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn create_role_is_retried_while_a_trusted_principal_propagates() {
        let create = mock!(aws_sdk_iam::Client::create_role)
            .sequence()
            .http_status(400, Some(INVALID_PRINCIPAL.to_string()))
            .times(2)
            .output(|| {
                CreateRoleOutput::builder()
                    .role(
                        Role::builder()
                            .path("/nc/")
                            .role_name("LambdaETLRole")
                            .role_id("AROAEXAMPLE")
                            .arn(format!("arn:aws:iam::{ACCOUNT}:role/nc/LambdaETLRole"))
                            .create_date(aws_smithy_types::DateTime::from_secs(0))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .build();
        let attach = mock!(aws_sdk_iam::Client::attach_role_policy)
            .then_output(|| AttachRolePolicyOutput::builder().build());
        let put = mock!(aws_sdk_iam::Client::put_role_policy).then_output(|| {
            aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput::builder().build()
        });
        let provider = IamProvider::with_client(mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&create, &attach, &put]
        ));
        let role = desired().remove(1);
        let ctx = StepCtx {
            id: role.id.clone(),
            env: "stg".into(),
            progress: Arc::new(|_| {}),
            wait_timeout: Duration::from_secs(1),
        };
        let policy = RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(16),
            deadline: Duration::from_secs(180),
        };
        let first = provider.create(&role, &ctx).await.unwrap_err();
        assert_eq!(first.class, ErrorClass::Propagation, "{first}");
        let (result, attempts) = with_retry(policy, || provider.create(&role, &ctx)).await;
        assert_eq!(result.unwrap()["role_id"], "AROAEXAMPLE");
        assert_eq!(attempts, 2, "one more rejection, then success");
        assert_eq!(create.num_calls(), 3);
        assert_eq!(attach.num_calls(), 2, "both managed policies attached");
        assert_eq!(put.num_calls(), 1);
    }

    #[test]
    fn versions_are_pruned_before_the_fifth_in_total() {
        let versions = |n: usize| -> Vec<String> { (1..=n).map(|v| format!("v{v}")).collect() };
        for (non_default, pruned) in [(0, 0), (2, 0), (3, 0), (4, 1), (5, 2)] {
            let list = versions(non_default);
            let prune = versions_to_prune(&list);
            assert_eq!(prune.len(), pruned, "{non_default} non-default versions");
            assert_eq!(prune, &list[..pruned], "the oldest go first");
            assert!(
                non_default - pruned + 2 <= MAX_POLICY_VERSIONS,
                "{non_default}: at most five after the create"
            );
        }
    }
}
