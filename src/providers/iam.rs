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
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value, touches};
use crate::model::{
    LogicalId, MANAGER, Observation, Observed, Outputs, Owner, Props, Resource, TAG_ENV, TAG_ID,
    TAG_MANAGED_BY, Value,
};
use crate::plan::AttrChange;

/// Kind of an IAM role.
pub const ROLE_KIND: &str = "iam_role";
/// Kind of a customer-managed IAM policy.
pub const POLICY_KIND: &str = "iam_policy";
/// Prefix of the per-inline-policy attributes of a role.
pub const INLINE_PREFIX: &str = "inline_policy.";

const KINDS: &[&str] = &[ROLE_KIND, POLICY_KIND];
/// IAM keeps at most five versions of a managed policy.
const MAX_POLICY_VERSIONS: usize = 5;

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
            .map_err(|error| aws_error("iam:CreateRole", name, error))?;
        for arn in string_list(resource, "managed_policies") {
            self.attach(name, &arn).await?;
        }
        for (policy_name, document) in inline_policies(&resource.props) {
            self.put_inline(name, &policy_name, &document).await?;
        }
        let mut outputs = Outputs::new();
        if let Some(role) = created.role() {
            outputs.insert("arn".into(), role.arn().to_string());
            outputs.insert("role_id".into(), role.role_id().to_string());
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
            .map_err(|error| aws_error("iam:AttachRolePolicy", role, error))?;
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
        changes: &[AttrChange],
    ) -> Result<Outputs, ProviderError> {
        let name = observed.physical_id.as_str();
        if touches(changes, "path") {
            return Err(ProviderError::local(
                "iam:UpdateRole",
                name,
                "a role's path cannot change in place",
            ));
        }
        if touches(changes, "assume_role_policy")
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
        if touches(changes, "max_session_seconds") || touches(changes, "description") {
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
        if touches(changes, "permissions_boundary") {
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
                            aws_error("iam:PutRolePermissionsBoundary", name, error)
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
        if touches(changes, "managed_policies") {
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
            if touches(changes, &format!("{INLINE_PREFIX}{policy_name}")) {
                self.put_inline(name, &policy_name, &document).await?;
            }
        }
        if touches(changes, "inline_policy_names") {
            let desired = string_list(resource, "inline_policy_names");
            for extra in observed_list(observed, "inline_policy_names")
                .iter()
                .filter(|policy| !desired.contains(policy))
            {
                self.delete_inline(name, extra).await?;
            }
        }
        if touches(changes, "tags") {
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
            .map_err(|error| aws_error("iam:CreatePolicy", name, error))?;
        let mut outputs = Outputs::new();
        if let Some(arn) = created.policy().and_then(|policy| policy.arn()) {
            outputs.insert("arn".into(), arn.to_string());
        }
        outputs.insert("name".into(), name.to_string());
        Ok(outputs)
    }

    async fn update_policy(
        &self,
        resource: &Resource,
        observed: &Observed,
        changes: &[AttrChange],
    ) -> Result<Outputs, ProviderError> {
        let arn = observed.physical_id.as_str();
        if touches(changes, "path") {
            return Err(ProviderError::local(
                "iam:CreatePolicyVersion",
                arn,
                "a managed policy's path cannot change in place",
            ));
        }
        if touches(changes, "policy")
            && let Some(document) = policy_text(resource, "policy")
        {
            // IAM keeps five versions: drop the oldest non-default one to make room.
            let versions = observed_list(observed, "policy_versions");
            if versions.len() >= MAX_POLICY_VERSIONS
                && let Some(oldest) = versions.first()
            {
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
        if touches(changes, "tags") {
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
        kind: ROLE_KIND,
        physical_id: name.to_string(),
        props,
        outputs,
        owner,
        retain: false,
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
        kind: POLICY_KIND,
        physical_id: arn,
        props,
        outputs,
        owner,
        retain: false,
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
    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let mut paths: Vec<String> = desired
            .iter()
            .filter(|resource| resource.kind == ROLE_KIND)
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
                ROLE_KIND => {
                    if let Some(role) = details.roles.get(&resource.name) {
                        seen_roles.push(resource.name.clone());
                        observation.insert(observe_role(resource.id.clone(), role, &extras, env));
                    }
                }
                POLICY_KIND => {
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
            POLICY_KIND => self.create_policy(resource).await,
            _ => self.create_role(resource).await,
        }
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        changes: &[AttrChange],
        _ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        match resource.kind {
            POLICY_KIND => self.update_policy(resource, observed, changes).await,
            _ => self.update_role(resource, observed, changes).await,
        }
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        match observed.kind {
            POLICY_KIND => self.delete_policy(observed).await,
            _ => self.delete_role(observed).await,
        }
    }
}
