//! Writing a bucket's configuration: one S3 Put call per attribute group. Tags are written
//! whole (PutBucketTagging replaces the tag set, so one call both adds and removes).

use aws_sdk_s3::types::{
    BucketLoggingStatus, BucketVersioningStatus, LoggingEnabled, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tagging, VersioningConfiguration,
};

use super::{ACCESS_BLOCKS, S3Provider, s3_tags};
use crate::model::{Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::sent;

/// A Put call's answer, as done: S3's Put answers carry nothing the tool keeps.
fn written<T>(answer: Result<T, ProviderError>) -> Result<(), ProviderError> {
    answer.map(drop)
}

impl S3Provider {
    pub(super) async fn put_logging(&self, resource: &Resource) -> Result<(), ProviderError> {
        let bucket = resource.name.as_str();
        let target = resource.str_prop("logging_target").unwrap_or_default();
        let mut status = BucketLoggingStatus::builder();
        if !target.is_empty() {
            status = status.logging_enabled(
                LoggingEnabled::builder()
                    .target_bucket(target)
                    .target_prefix(resource.str_prop("logging_prefix").unwrap_or_default())
                    .build()
                    .map_err(|error| {
                        ProviderError::local("s3:PutBucketLogging", bucket, error.to_string())
                    })?,
            );
        }
        let call = self.client.put_bucket_logging().bucket(bucket);
        let call = call.bucket_logging_status(status.build());
        written(sent("s3:PutBucketLogging", bucket, call.send()).await)
    }

    pub(super) async fn put_versioning(&self, bucket: &str) -> Result<(), ProviderError> {
        let enabled = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled);
        let call = self.client.put_bucket_versioning().bucket(bucket);
        let call = call.versioning_configuration(enabled.build());
        written(sent("s3:PutBucketVersioning", bucket, call.send()).await)
    }

    pub(super) async fn put_encryption(&self, resource: &Resource) -> Result<(), ProviderError> {
        let bucket = resource.name.as_str();
        let local = |error: aws_smithy_types::error::operation::BuildError| {
            ProviderError::local("s3:PutBucketEncryption", bucket, error.to_string())
        };
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(
                resource.str_prop("sse_algorithm").unwrap_or("aws:kms"),
            ))
            .set_kms_master_key_id(resource.str_prop("sse_kms_key").map(str::to_string))
            .build()
            .map_err(local)?;
        let configuration = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(default)
                    .bucket_key_enabled(resource.bool_prop("bucket_key").unwrap_or(false))
                    .build(),
            )
            .build()
            .map_err(local)?;
        let call = self.client.put_bucket_encryption().bucket(bucket);
        let call = call.server_side_encryption_configuration(configuration);
        written(sent("s3:PutBucketEncryption", bucket, call.send()).await)
    }

    pub(super) async fn put_access_block(&self, resource: &Resource) -> Result<(), ProviderError> {
        let bucket = resource.name.as_str();
        let flag = |name: &str| resource.bool_prop(name).unwrap_or(true);
        let [acls, ignore_acls, policy, restrict] = ACCESS_BLOCKS.map(flag);
        let blocks = PublicAccessBlockConfiguration::builder()
            .block_public_acls(acls)
            .ignore_public_acls(ignore_acls)
            .block_public_policy(policy)
            .restrict_public_buckets(restrict);
        let call = self.client.put_public_access_block().bucket(bucket);
        let call = call.public_access_block_configuration(blocks.build());
        written(sent("s3:PutPublicAccessBlock", bucket, call.send()).await)
    }

    pub(super) async fn put_policy(&self, resource: &Resource) -> Result<(), ProviderError> {
        let bucket = resource.name.as_str();
        let Some(policy) = resource.props.get("policy").and_then(Value::as_policy) else {
            return Ok(());
        };
        let call = self.client.put_bucket_policy().bucket(bucket);
        let call = call.policy(policy.to_string());
        written(sent("s3:PutBucketPolicy", bucket, call.send()).await)
    }

    pub(super) async fn put_tags(&self, resource: &Resource) -> Result<(), ProviderError> {
        let bucket = resource.name.as_str();
        let tagging = Tagging::builder()
            .set_tag_set(Some(s3_tags(resource)?))
            .build()
            .map_err(|error| {
                ProviderError::local("s3:PutBucketTagging", bucket, error.to_string())
            })?;
        let call = self.client.put_bucket_tagging().bucket(bucket);
        written(sent("s3:PutBucketTagging", bucket, call.tagging(tagging).send()).await)
    }
}
