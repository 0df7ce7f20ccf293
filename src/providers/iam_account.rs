//! IAM account-level settings: OpenID Connect providers and the account password policy.
//!
//! Observe: ListOpenIDConnectProviders, then GetOpenIDConnectProvider for each provider (url,
//! client ids, tags: the desired ones, and any other to find ours the spec dropped);
//! GetAccountPasswordPolicy. The password policy is an account singleton without tags
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html>):
//! it is observed as [`Owner::Untracked`], a no-op while it matches the spec. When it differs,
//! the tool's ownership record ([`super::ownership`]) says whether the tool set it up (an
//! update) or not (a conflict until `--adopt`). Create and an adopting update write the record.
//!
//! `iam_oidc_provider` props: `url` (host, no scheme), `client_ids` (sorted), `tags`; create
//! input `thumbprints`. Outputs `arn`.
//! `iam_password_policy` props: `minimum_password_length`, `require_symbols`,
//! `require_numbers`, `require_uppercase_characters`, `require_lowercase_characters`,
//! `allow_users_to_change_password`, `max_password_age`, `password_reuse_prevention`,
//! `hard_expiry`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;

use super::aws::{aws_error, found};
use super::ownership::{How, OwnershipRegistry};
use super::{Aws, Provider, ProviderError, StepCtx, tag_delta, tags_value};
use crate::model::Delta;
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Owner, Props, Resource, Value};
const KINDS: &[Kind] = &[Kind::IamOidcProvider, Kind::IamPasswordPolicy];
/// The physical id of the password policy (one per account).
const PASSWORD_ID: &str = "account";

/// The IAM account-settings provider.
pub struct IamAccountProvider {
    client: Client,
    registry: OwnershipRegistry,
}

impl IamAccountProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> IamAccountProvider {
        IamAccountProvider {
            client: aws.iam(),
            registry: OwnershipRegistry::new(aws),
        }
    }

    async fn observe_oidc(
        &self,
        resource: &Resource,
        arn: &str,
        env: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        let Some(provider) = found(
            self.client
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .map_err(|error| aws_error("iam:GetOpenIDConnectProvider", arn, error)),
        )?
        else {
            return Ok(None);
        };
        let mut props = Props::new();
        let url = provider.url().unwrap_or_default();
        props.insert("url".into(), Value::str(url.trim_start_matches("https://")));
        let mut client_ids: Vec<String> = provider.client_id_list().to_vec();
        client_ids.sort();
        props.insert(
            "client_ids".into(),
            Value::List(client_ids.into_iter().map(Value::Str).collect()),
        );
        let tags: BTreeMap<String, String> = provider
            .tags()
            .iter()
            .map(|tag| (tag.key().to_string(), tag.value().to_string()))
            .collect();
        let owner = Owner::from_tags(&tags, env);
        props.insert("tags".into(), tags_value(tags));
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), arn.to_string());
        Ok(Some(Observed {
            id: resource.id.clone(),
            kind: Kind::IamOidcProvider,
            physical_id: arn.to_string(),
            props,
            outputs,
            owner,
            retain: false,
            refused: None,
        }))
    }

    async fn observe_password_policy(
        &self,
        resource: &Resource,
    ) -> Result<Option<Observed>, ProviderError> {
        let Some(answer) = found(
            self.client
                .get_account_password_policy()
                .send()
                .await
                .map_err(|error| aws_error("iam:GetAccountPasswordPolicy", "account", error)),
        )?
        else {
            return Ok(None);
        };
        let Some(policy) = answer.password_policy() else {
            return Ok(None);
        };
        let mut props = Props::new();
        let int = |value: Option<i32>| Value::Int(i64::from(value.unwrap_or(0)));
        props.insert(
            "minimum_password_length".into(),
            int(policy.minimum_password_length()),
        );
        props.insert("require_symbols".into(), policy.require_symbols().into());
        props.insert("require_numbers".into(), policy.require_numbers().into());
        props.insert(
            "require_uppercase_characters".into(),
            policy.require_uppercase_characters().into(),
        );
        props.insert(
            "require_lowercase_characters".into(),
            policy.require_lowercase_characters().into(),
        );
        props.insert(
            "allow_users_to_change_password".into(),
            policy.allow_users_to_change_password().into(),
        );
        props.insert("max_password_age".into(), int(policy.max_password_age()));
        props.insert(
            "password_reuse_prevention".into(),
            int(policy.password_reuse_prevention()),
        );
        props.insert(
            "hard_expiry".into(),
            policy.hard_expiry().unwrap_or(false).into(),
        );
        Ok(Some(Observed {
            id: resource.id.clone(),
            kind: Kind::IamPasswordPolicy,
            physical_id: PASSWORD_ID.into(),
            props,
            outputs: Outputs::new(),
            owner: Owner::Untracked,
            retain: false,
            refused: None,
        }))
    }

    async fn put_password_policy(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let int = |name: &str| {
            resource
                .int_prop(name)
                .and_then(|value| i32::try_from(value).ok())
        };
        let flag = |name: &str| resource.bool_prop(name);
        self.client
            .update_account_password_policy()
            .set_minimum_password_length(int("minimum_password_length"))
            .set_require_symbols(flag("require_symbols"))
            .set_require_numbers(flag("require_numbers"))
            .set_require_uppercase_characters(flag("require_uppercase_characters"))
            .set_require_lowercase_characters(flag("require_lowercase_characters"))
            .set_allow_users_to_change_password(flag("allow_users_to_change_password"))
            .set_max_password_age(int("max_password_age"))
            .set_password_reuse_prevention(int("password_reuse_prevention"))
            .set_hard_expiry(flag("hard_expiry"))
            .send()
            .await
            .map_err(|error| aws_error("iam:UpdateAccountPasswordPolicy", "account", error))?;
        Ok(Outputs::new())
    }

    async fn create_oidc(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let host = resource.str_prop("url").unwrap_or(&resource.name);
        let created = self
            .client
            .create_open_id_connect_provider()
            .url(format!("https://{host}"))
            .set_client_id_list(Some(list(resource.props.get("client_ids"))))
            .set_thumbprint_list(Some(list(resource.create_inputs.get("thumbprints"))))
            .set_tags(Some(iam_tags(super::tag_pairs(resource), host)?))
            .send()
            .await
            .map_err(|error| aws_error("iam:CreateOpenIDConnectProvider", host, error))?;
        let mut outputs = Outputs::new();
        if let Some(arn) = created.open_id_connect_provider_arn() {
            outputs.insert("arn".into(), arn.to_string());
        }
        Ok(outputs)
    }

    async fn update_oidc(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
    ) -> Result<Outputs, ProviderError> {
        let arn = observed.physical_id.as_str();
        if delta.touches("client_ids") {
            let desired = list(resource.props.get("client_ids"));
            let live = list(observed.props.get("client_ids"));
            for client in desired.iter().filter(|client| !live.contains(client)) {
                self.client
                    .add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(client)
                    .send()
                    .await
                    .map_err(|error| {
                        aws_error("iam:AddClientIDToOpenIDConnectProvider", arn, error)
                    })?;
            }
            for client in live.iter().filter(|client| !desired.contains(client)) {
                self.client
                    .remove_client_id_from_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(client)
                    .send()
                    .await
                    .map_err(|error| {
                        aws_error("iam:RemoveClientIDFromOpenIDConnectProvider", arn, error)
                    })?;
            }
        }
        if delta.touches("tags") {
            let (remove, set) = tag_delta(resource, observed);
            if !remove.is_empty() {
                self.client
                    .untag_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:UntagOpenIDConnectProvider", arn, error))?;
            }
            if !set.is_empty() {
                self.client
                    .tag_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .set_tags(Some(iam_tags(set, arn)?))
                    .send()
                    .await
                    .map_err(|error| aws_error("iam:TagOpenIDConnectProvider", arn, error))?;
            }
        }
        Ok(observed.outputs.clone())
    }
}

fn list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn iam_tags(pairs: Vec<(String, String)>, resource: &str) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| {
                    ProviderError::local(
                        "iam:TagOpenIDConnectProvider",
                        resource,
                        error.to_string(),
                    )
                })
        })
        .collect()
}

#[async_trait]
impl Provider for IamAccountProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let oidc: Vec<&Resource> = desired
            .iter()
            .copied()
            .filter(|resource| resource.kind == Kind::IamOidcProvider)
            .collect();
        // Listed even when none is desired, so that one the spec dropped is found (orphan).
        let arns: Vec<String> = self
            .client
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|error| aws_error("iam:ListOpenIDConnectProviders", "account", error))?
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|entry| entry.arn().map(str::to_string))
            .collect();
        let mut lookups = Vec::new();
        let mut matched = Vec::new();
        for resource in &oidc {
            let host = resource.str_prop("url").unwrap_or(&resource.name);
            if let Some(arn) = arns
                .iter()
                .find(|arn| arn.ends_with(&format!(":oidc-provider/{host}")))
            {
                matched.push(arn.clone());
                lookups.push(self.observe_oidc(resource, arn, env));
            }
        }
        // Providers no desired resource names: read their tags to find ours (orphans).
        let stray = Resource::new("iam.oidc.unknown", Kind::IamOidcProvider, "");
        let strays = futures::future::try_join_all(
            arns.iter()
                .filter(|arn| !matched.contains(arn))
                .map(|arn| self.observe_oidc(&stray, arn, env)),
        );
        let password = async {
            match desired
                .iter()
                .find(|resource| resource.kind == Kind::IamPasswordPolicy)
            {
                Some(resource) => self.observe_password_policy(resource).await,
                None => Ok(None),
            }
        };
        let (providers, password, strays) =
            tokio::join!(futures::future::try_join_all(lookups), password, strays);
        let mut observation = Observation::default();
        for observed in providers?.into_iter().flatten() {
            observation.insert(observed);
        }
        let desired_ids: Vec<&str> = desired.iter().map(|r| r.id.as_str()).collect();
        for mut observed in strays?.into_iter().flatten() {
            let tags = observed
                .props
                .get("tags")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default();
            if observed.owner == Owner::Ours
                && let Some(logical) = tags.get(crate::model::TAG_ID)
                && !desired_ids.contains(&logical.as_str())
            {
                observed.id = crate::model::LogicalId::new(logical.clone());
                observation.orphans.push(observed);
            }
        }
        if let Some(observed) = password? {
            observation.insert(observed);
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::IamPasswordPolicy => {
                let outputs = self.put_password_policy(resource).await?;
                self.registry
                    .record(Kind::IamPasswordPolicy, PASSWORD_ID, ctx, How::Created)
                    .await?;
                Ok(outputs)
            }
            _ => self.create_oidc(resource).await,
        }
    }

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        delta: &Delta,
        ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        match resource.kind {
            Kind::IamPasswordPolicy => {
                let outputs = self.put_password_policy(resource).await?;
                self.registry.record_adoption(observed, ctx).await?;
                Ok(outputs)
            }
            _ => self.update_oidc(resource, observed, delta).await,
        }
    }

    async fn look_up_owner(&self, observed: &Observed, env: &str) -> Result<Owner, ProviderError> {
        self.registry
            .owner(observed.kind, &observed.physical_id, env)
            .await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        match observed.kind {
            Kind::IamPasswordPolicy => {
                found(
                    self.client
                        .delete_account_password_policy()
                        .send()
                        .await
                        .map_err(|error| {
                            aws_error("iam:DeleteAccountPasswordPolicy", "account", error)
                        }),
                )?;
            }
            _ => {
                found(
                    self.client
                        .delete_open_id_connect_provider()
                        .open_id_connect_provider_arn(&observed.physical_id)
                        .send()
                        .await
                        .map_err(|error| {
                            aws_error(
                                "iam:DeleteOpenIDConnectProvider",
                                &observed.physical_id,
                                error,
                            )
                        }),
                )?;
            }
        }
        Ok(())
    }
}
