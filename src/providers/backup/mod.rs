//! AWS Backup: the vault (`backup_vault`, retained: it holds the recovery points), the plan
//! with its rules (`backup_plan`) and the plan's selection of resources (`backup_selection`).
//!
//! Observe: ListBackupVaults and ListBackupPlans (all pages), then, for the vaults and plans
//! named like this environment's (`nc-<env>-`), ListTags, GetBackupPlan (the rules) and
//! ListBackupSelections / GetBackupSelection. A plan or vault of ours that the spec no longer
//! names is an orphan (a vault is retained); so is a selection of one of our plans. Selections
//! take no tags: one belongs to us when its plan does.
//!
//! moto serves vaults and plans but neither UpdateBackupPlan nor the selection calls: it
//! answers them with an HTML "500 Internal Server Error" page, never an AWS error document.
//! Such an answer is classified as the endpoint lacking the operation ([`lacking`]), so in
//! emulator mode the selection is listed as not checked and its step is skipped; the code is
//! covered by tests over mocked clients (`tests.rs`).

mod plan;
mod selection;
mod tags_path;
mod vault;

use async_trait::async_trait;
use aws_sdk_backup::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::aws::{
    Change, ErrorClass, aws_error, client_token, keys_as_they_are, run_token, tag_api, tag_map_of,
};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Owner, Resource};

#[cfg(test)]
mod tests;

const KINDS: &[Kind] = &[Kind::BackupVault, Kind::BackupPlan, Kind::BackupSelection];

/// The AWS Backup provider.
pub struct BackupProvider {
    client: Client,
    /// The client of the selection reads: in emulator mode a single attempt, since moto answers
    /// them with an HTML 500 page that the SDK would otherwise retry with back-off on every
    /// plan (10-16 s); otherwise `client`.
    selections: Client,
    emulator: bool,
    /// This run's part of every `CreatorRequestId` (see [`client_token`]).
    run: String,
}

impl BackupProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> BackupProvider {
        let client = aws.backup();
        let client = if aws.endpoint_overridden {
            Client::from_conf(
                client
                    .config()
                    .to_builder()
                    .interceptor(tags_path::ListTagsTrailingSlash)
                    .build(),
            )
        } else {
            client
        };
        let selections = aws.backup_single_attempt_in_emulator();
        BackupProvider {
            client,
            selections,
            emulator: aws.emulator,
            run: run_token(),
        }
    }

    /// A provider over a given client (tests use mocked clients).
    #[cfg(test)]
    #[must_use]
    pub fn from_client(client: Client, emulator: bool) -> BackupProvider {
        BackupProvider {
            selections: client.clone(),
            client,
            emulator,
            run: "run".to_string(),
        }
    }

    /// The `CreatorRequestId` of a create step: the same for the SDK's re-sends of this
    /// step, so a create whose answer was lost is answered with what it made, never made
    /// twice (AWS Backup API reference: CreateBackupVault, CreateBackupPlan,
    /// CreateBackupSelection).
    fn request_id(&self, ctx: &StepCtx) -> String {
        client_token(&self.run, &ctx.env, ctx.id.as_str(), 0)
    }
}

/// One create step of a vault, plan or selection: the client, the desired resource, the step,
/// and the step's `CreatorRequestId` (see [`BackupProvider::request_id`]).
struct Create<'a> {
    client: &'a Client,
    resource: &'a Resource,
    ctx: &'a StepCtx,
    request_id: String,
}

impl Create<'_> {
    /// The name of the resource being created.
    fn name(&self) -> &str {
        &self.resource.name
    }

    /// Lets the create reuse the vault or plan of its name (ARN `arn`) that `appeared` since
    /// the plan only when its tags say it is this environment's: a create whose answer was
    /// lost. Notes the reuse as `reusing`.
    ///
    /// # Errors
    /// The tag read failed, or the resource is not ours (`action` refused).
    async fn reuse_if_ours(
        &self,
        action: &str,
        arn: &str,
        appeared: &str,
        reusing: &str,
    ) -> Result<(), ProviderError> {
        let (name, env) = (self.name(), &self.ctx.env);
        let tags = read_tags(self.client, name, arn).await?;
        if Owner::from_tags(&tags, env) != Owner::Ours {
            return Err(ProviderError::local(
                action,
                name,
                format!(
                    "{appeared} and is not tagged as nc-provision's for {env}; make a new plan"
                ),
            ));
        }
        self.ctx.note(&format!("reusing the {reusing} {name}"));
        Ok(())
    }
}

/// Whether a live vault or plan (`kind`) named `name` is read: one named like this
/// environment's (`nc-<env>-`), or one the spec desires.
fn wanted<'a>(desired: &'a [&'a Resource], kind: Kind, env: &str) -> impl Fn(&str) -> bool + 'a {
    let ours = format!("nc-{env}-");
    move |name: &str| {
        name.starts_with(&ours) || desired.iter().any(|r| r.kind == kind && r.name == name)
    }
}

/// [`aws_error`], with an HTML "500" page (moto's answer to an operation it lacks) classified
/// as [`ErrorClass::Unsupported`]. AWS answers every operation it has with an error document.
pub(crate) fn lacking<E>(
    action: &str,
    resource: &str,
    error: SdkError<E, HttpResponse>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let html_page = error.raw_response().is_some_and(|response| {
        response.status().as_u16() == 500
            && response.body().bytes().is_some_and(|body| {
                let head = String::from_utf8_lossy(&body[..body.len().min(64)]).to_lowercase();
                head.trim_start().starts_with("<!doctype html")
                    || head.trim_start().starts_with("<html")
            })
    });
    let mut error = aws_error(action, resource, error);
    if html_page && error.code.is_none() {
        error.class = ErrorClass::Unsupported;
        error.message = "the endpoint has no such operation (HTTP 500 page)".to_string();
    }
    error
}

tag_api! {
    /// TagResource / UntagResource on a vault or plan ARN (errors name the resource).
    BackupTags(Client) by resource_arn;
    "backup:TagResource": tag_resource.set_tags(tag_map_of);
    "backup:UntagResource": untag_resource.set_tag_key_list(keys_as_they_are);
}

/// Whether a create failed because a vault or plan of that name exists: after a lost answer,
/// the SDK's re-send of the create meets the one the first send made.
fn already_exists(error: &ProviderError) -> bool {
    error.code.as_deref() == Some("AlreadyExistsException")
}

/// The tags of a vault or plan (ListTags, all pages).
async fn read_tags(
    client: &Client,
    name: &str,
    arn: &str,
) -> Result<std::collections::BTreeMap<String, String>, ProviderError> {
    let mut tags = std::collections::BTreeMap::new();
    let mut pages = client.list_tags().resource_arn(arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("backup:ListTags", name, error))?;
        if let Some(page_tags) = page.tags() {
            tags.extend(page_tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Ok(tags)
}

#[async_trait]
impl Provider for BackupProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let (vaults, plans) = tokio::join!(
            vault::read(&self.client, desired, env),
            plan::read(&self.client, desired, env),
        );
        let mut observation = vault::observe(desired, vaults?, env);
        let plans = plans?;
        match selection::read(&self.selections, desired, &plans).await {
            Ok(selections) => selection::observe(desired, &selections, &mut observation),
            Err(error) if error.class == ErrorClass::Unsupported && self.emulator => {
                tracing::warn!("{error}: the backup selections are skipped at this endpoint");
                for resource in desired.iter().filter(|r| r.kind == Kind::BackupSelection) {
                    observation
                        .unsupported
                        .insert(resource.id.clone(), error.to_string());
                }
            }
            Err(error) => return Err(error.unsupported_is_fatal()),
        }
        observation.merge(plan::observe(desired, plans, env));
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let create = Create {
            client: &self.client,
            resource,
            ctx,
            request_id: self.request_id(ctx),
        };
        match resource.kind {
            Kind::BackupVault => vault::create(&create).await,
            Kind::BackupPlan => plan::create(&create).await,
            _ => selection::create(&create).await,
        }
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        match change.resource.kind {
            Kind::BackupVault => vault::update(&self.client, change).await,
            Kind::BackupPlan => plan::update(&self.client, change).await,
            // Every attribute of a selection forces its replacement (there is no
            // UpdateBackupSelection): nothing is changed in place.
            _ => Ok(change.observed.outputs.clone()),
        }
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        match observed.kind {
            Kind::BackupVault => Err(ProviderError::local(
                "backup:DeleteBackupVault",
                &observed.physical_id,
                "a backup vault holds recovery points: the tool never deletes it",
            )),
            Kind::BackupPlan => plan::delete(&self.client, observed).await,
            _ => selection::delete(&self.client, observed).await,
        }
    }
}
