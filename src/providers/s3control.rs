//! S3 Control: the account-level S3 Block Public Access (CIS 2.1.5).
//!
//! Observe: one GetPublicAccessBlock for the account. The setting has no tags
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-block-public-access-account.html>):
//! it is observed as [`Owner::Untracked`], a no-op while it matches the spec. When it differs,
//! the tool's ownership record ([`super::ownership`]) says whether the tool set it up (an
//! update) or not (a conflict until `--adopt`). Create and an adopting update write the record.
//!
//! `s3_account_public_access_block` (name = account id) props: `block_public_acls`,
//! `ignore_public_acls`, `block_public_policy`, `restrict_public_buckets`.

use async_trait::async_trait;
use aws_sdk_s3control::Client;
use aws_sdk_s3control::config::endpoint::{Endpoint, EndpointFuture, Params, ResolveEndpoint};
use aws_sdk_s3control::types::PublicAccessBlockConfiguration;

use super::aws::{Live, found, gone_is_done, sent};
use super::ownership::{How, OwnershipRegistry};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::Kind;
use crate::model::{Observation, Observed, Outputs, Owner, Props, Resource, Value};
use crate::providers::Change;
const KINDS: &[Kind] = &[Kind::S3AccountPublicAccessBlock];
const FLAGS: [&str; 4] = [
    "block_public_acls",
    "ignore_public_acls",
    "block_public_policy",
    "restrict_public_buckets",
];

/// Resolves S3 Control to an overridden endpoint as it is. The standard rules put
/// `<account-id>.` before the host (`123456789012.s3-control...`), which does not resolve for a
/// local emulator; this keeps the host and signs for `s3` in the client's region.
#[derive(Debug, Default)]
pub struct KeepHostResolver {
    standard: aws_sdk_s3control::config::endpoint::DefaultResolver,
}

impl ResolveEndpoint for KeepHostResolver {
    fn resolve_endpoint<'a>(&'a self, params: &'a Params) -> EndpointFuture<'a> {
        match params.endpoint() {
            Some(url) => EndpointFuture::ready(Ok(Endpoint::builder()
                .url(url.to_string())
                .auth_scheme(
                    aws_smithy_types::endpoint::EndpointAuthScheme::with_capacity("sigv4", 3)
                        .put("disableDoubleEncoding", true)
                        .put("signingName", "s3".to_string())
                        .put(
                            "signingRegion",
                            params.region().unwrap_or("us-east-1").to_string(),
                        ),
                )
                .build())),
            None => self.standard.resolve_endpoint(params),
        }
    }
}

/// The S3 Control provider.
pub struct S3ControlProvider {
    client: Client,
    registry: OwnershipRegistry,
}

impl S3ControlProvider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> S3ControlProvider {
        S3ControlProvider {
            client: aws.s3control(),
            registry: OwnershipRegistry::new(aws),
        }
    }

    async fn put(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let account = resource.name.as_str();
        let flag = |name: &str| resource.bool_prop(name);
        let call = self
            .client
            .put_public_access_block()
            .account_id(account)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .set_block_public_acls(flag(FLAGS[0]))
                    .set_ignore_public_acls(flag(FLAGS[1]))
                    .set_block_public_policy(flag(FLAGS[2]))
                    .set_restrict_public_buckets(flag(FLAGS[3]))
                    .build(),
            );
        sent("s3:PutAccountPublicAccessBlock", account, call.send()).await?;
        Ok(Outputs::new())
    }
}

#[async_trait]
impl Provider for S3ControlProvider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        _env: &str,
    ) -> Result<Observation, ProviderError> {
        let mut observation = Observation::default();
        for resource in desired {
            let account = resource.name.as_str();
            let call = self.client.get_public_access_block().account_id(account);
            let answer = found(sent("s3:GetAccountPublicAccessBlock", account, call.send()).await)?;
            let Some(configuration) =
                answer.and_then(|answer| answer.public_access_block_configuration().cloned())
            else {
                continue;
            };
            let values = [
                configuration.block_public_acls(),
                configuration.ignore_public_acls(),
                configuration.block_public_policy(),
                configuration.restrict_public_buckets(),
            ];
            let props: Props = FLAGS
                .iter()
                .zip(values)
                .map(|(name, value)| ((*name).to_string(), Value::Bool(value.unwrap_or(false))))
                .collect();
            let live = Live::new(Kind::S3AccountPublicAccessBlock, account, account).props(props);
            observation.insert(live.owned_by(resource.id.clone(), Owner::Untracked));
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let outputs = self.put(resource).await?;
        self.registry
            .record(
                Kind::S3AccountPublicAccessBlock,
                &resource.name,
                ctx,
                How::Created,
            )
            .await?;
        Ok(outputs)
    }

    async fn update(&self, change: &Change<'_>, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        let outputs = self.put(change.resource).await?;
        self.registry.record_adoption(change.observed, ctx).await?;
        Ok(outputs)
    }

    async fn look_up_owner(&self, observed: &Observed, env: &str) -> Result<Owner, ProviderError> {
        self.registry
            .owner(Kind::S3AccountPublicAccessBlock, &observed.physical_id, env)
            .await
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        let call = self
            .client
            .delete_public_access_block()
            .account_id(&observed.physical_id);
        gone_is_done(
            "s3:DeleteAccountPublicAccessBlock",
            &observed.physical_id,
            call.send(),
        )
        .await
    }
}
