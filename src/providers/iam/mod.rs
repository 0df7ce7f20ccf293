//! IAM (global): roles and customer-managed policies (used as permission boundaries), and the
//! account-level settings (OpenID Connect providers, the password policy).
//!
//! [`IamProvider`] observes roles and policies from one account snapshot ([`snapshot`]): flat
//! in their number, plus one ListPolicyTags per managed policy that matters. Each kind lives
//! in its own file ([`role`], [`policy`]); live ones are matched to the spec and ours left
//! over become orphans by the toolkit's one rule ([`Sorter`]).
//! [`IamAccountProvider`] owns the account settings ([`account`]).

mod account;
mod oidc_provider;
mod password_policy;
mod policy;
mod role;
mod snapshot;
mod tags;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use aws_sdk_iam::Client;

pub use account::IamAccountProvider;

use super::aws::{Change, Sorter, list_of, read_all};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Props, Resource, Value};

/// Prefix of the per-inline-policy attributes of a role.
pub const INLINE_PREFIX: &str = "inline_policy.";

const KINDS: &[Kind] = &[Kind::IamRole, Kind::IamPolicy];
/// IAM's error code for a name already taken.
const ALREADY_EXISTS: &str = "EntityAlreadyExists";

/// The IAM provider of roles and managed policies.
pub struct IamProvider {
    client: Client,
}

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
        let of_kind = |kind: Kind| desired.iter().filter(move |r| r.kind == kind);
        let paths = snapshot::role_paths(
            of_kind(Kind::IamRole)
                .map(|role| role.str_prop("path").unwrap_or("/").to_string())
                .collect(),
        );
        let (details, extras) = tokio::join!(
            snapshot::details(&self.client),
            snapshot::role_extras(&self.client, &paths)
        );
        let (details, extras) = (details?, extras?);
        // Managed policies carry no tags in the snapshot: read them for the desired ones, and
        // for the others under a desired (non-root) path, to find ours the spec dropped. In
        // the steady state there are none of those, so that costs no call.
        let desired_names: Vec<&str> = of_kind(Kind::IamPolicy)
            .map(|policy| policy.name.as_str())
            .collect();
        let policy_paths: Vec<&str> = of_kind(Kind::IamPolicy)
            .filter_map(|policy| policy.str_prop("path"))
            .filter(|path| *path != "/")
            .collect();
        let policies: Vec<_> = details
            .policies
            .iter()
            .filter(|(name, policy)| {
                desired_names.contains(&name.as_str())
                    || policy_paths.contains(&policy.path().unwrap_or("/"))
            })
            .map(|(_, policy)| policy)
            .collect();
        let client = &self.client;
        let reads: Vec<_> = policies
            .iter()
            .map(|policy| snapshot::policy_tags(client, policy.arn().unwrap_or_default()))
            .collect();
        let policy_tags = read_all(reads).await?;
        let live: Vec<_> = details
            .roles
            .values()
            .map(|detail| role::observe(detail, &extras))
            .chain(
                policies
                    .into_iter()
                    .zip(policy_tags)
                    .map(|(detail, tags)| policy::observe(detail, tags)),
            )
            .collect();
        // Order does not matter: `Sorter` matches a named resource only by its name, so a
        // leftover copy carrying the same `nc:id` tag is always the orphan.
        let mut sorter = Sorter::new(desired, env);
        for live in live {
            sorter.add(live);
        }
        let mut observation = sorter.finish();
        for resource in of_kind(Kind::IamRole) {
            if let Some(observed) = observation.found.get_mut(&resource.id) {
                role::align_sets(&mut observed.props, &resource.props);
            }
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::IamPolicy => policy::create(&self.client, resource).await,
            _ => role::create(&self.client, resource).await,
        }
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        // Neither a role's path nor a managed policy's can change in place.
        let (action, why) = match change.resource.kind {
            Kind::IamPolicy => (
                "iam:CreatePolicyVersion",
                "a managed policy's path cannot change in place",
            ),
            _ => ("iam:UpdateRole", "a role's path cannot change in place"),
        };
        change.fixed_in_place("path", action, why)?;
        match change.resource.kind {
            Kind::IamPolicy => policy::update(&self.client, change).await,
            _ => role::update(&self.client, change).await,
        }
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        match observed.kind {
            Kind::IamPolicy => policy::delete(&self.client, observed).await,
            _ => role::delete(&self.client, observed).await,
        }
    }
}
