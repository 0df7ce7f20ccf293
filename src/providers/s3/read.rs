//! Reading one bucket: the five attributes every bucket has (versioning, encryption, public
//! access blocks, policy, tags), concurrently, plus Object Lock and access logging for the
//! buckets that declare them.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryptionRule};

use super::object_lock::refusal;
use super::{ACCESS_BLOCKS, KINDS, S3Provider, outputs};
use crate::model::{Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, found, sent};

impl S3Provider {
    /// A bucket's tags (none when it has no tag set).
    pub(super) async fn tags(
        &self,
        bucket: &str,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let call = self.client.get_bucket_tagging().bucket(bucket);
        let tagging = found(sent("s3:GetBucketTagging", bucket, call.send()).await)?;
        Ok(tagging
            .map(|output| {
                output
                    .tag_set()
                    .iter()
                    .map(|tag| (tag.key().to_string(), tag.value().to_string()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Reads every attribute of one bucket, plus the optional ones `desired` declares.
    /// The Object Lock refusal (see `object_lock::refusal`) comes with it.
    pub(super) async fn read_bucket(
        &self,
        bucket: &str,
        desired: Option<&Resource>,
    ) -> Result<(Live, Option<String>), ProviderError> {
        let declares = |name: &str| desired.is_some_and(|r| r.props.contains_key(name));
        let client = &self.client;
        let versioning = client.get_bucket_versioning().bucket(bucket).send();
        let versioning = sent("s3:GetBucketVersioning", bucket, versioning);
        let encryption = client.get_bucket_encryption().bucket(bucket).send();
        let encryption = sent("s3:GetBucketEncryption", bucket, encryption);
        let access_block = client.get_public_access_block().bucket(bucket).send();
        let access_block = sent("s3:GetPublicAccessBlock", bucket, access_block);
        let policy = client.get_bucket_policy().bucket(bucket).send();
        let policy = sent("s3:GetBucketPolicy", bucket, policy);
        let lock = async {
            if declares("object_lock") {
                self.object_lock(bucket).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let logging = async {
            if declares("logging_target") {
                self.logging(bucket).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (versioning, encryption, access_block, policy, tags, lock, logging) = tokio::join!(
            versioning,
            encryption,
            access_block,
            policy,
            self.tags(bucket),
            lock,
            logging
        );
        let (encryption, access_block, policy) =
            (found(encryption), found(access_block), found(policy));
        let mut props = Props::new();
        let status = versioning?
            .status()
            .map_or("Disabled", BucketVersioningStatus::as_str)
            .to_string();
        props.insert("versioning".into(), Value::Str(status));
        let rule = encryption?.and_then(|output| {
            output
                .server_side_encryption_configuration()
                .and_then(|configuration| configuration.rules().first().cloned())
        });
        let default = rule
            .as_ref()
            .and_then(ServerSideEncryptionRule::apply_server_side_encryption_by_default);
        props.insert(
            "sse_algorithm".into(),
            Value::str(default.map_or("none", |d| d.sse_algorithm().as_str())),
        );
        props.insert(
            "sse_kms_key".into(),
            Value::str(
                default
                    .and_then(|d| d.kms_master_key_id())
                    .unwrap_or_default(),
            ),
        );
        props.insert(
            "bucket_key".into(),
            Value::Bool(
                rule.as_ref()
                    .and_then(ServerSideEncryptionRule::bucket_key_enabled)
                    .unwrap_or(false),
            ),
        );
        let blocks =
            access_block?.and_then(|output| output.public_access_block_configuration().cloned());
        let flags = blocks.map_or([false; 4], |b| {
            [
                b.block_public_acls().unwrap_or(false),
                b.ignore_public_acls().unwrap_or(false),
                b.block_public_policy().unwrap_or(false),
                b.restrict_public_buckets().unwrap_or(false),
            ]
        });
        for (name, flag) in ACCESS_BLOCKS.iter().zip(flags) {
            props.insert((*name).to_string(), Value::Bool(flag));
        }
        if let Some(text) = policy?.as_ref().and_then(|output| output.policy()) {
            let document = crate::policy::parse(text).map_err(|error| {
                ProviderError::local(
                    "s3:GetBucketPolicy",
                    bucket,
                    format!("unreadable bucket policy: {error}"),
                )
            })?;
            props.insert("policy".into(), Value::Policy(document));
        }
        let mut refused = None;
        if let Some(lock) = lock? {
            refused = refusal(&lock, desired);
            props.insert("object_lock".into(), Value::Str(lock.enabled));
            props.insert("object_lock_mode".into(), Value::Str(lock.mode));
            props.insert("object_lock_retention".into(), Value::Str(lock.retention));
        }
        if let Some((target, prefix)) = logging? {
            props.insert("logging_target".into(), Value::Str(target));
            props.insert("logging_prefix".into(), Value::Str(prefix));
        }
        let live = Live::new(KINDS[0], bucket, bucket)
            .tags(tags?)
            .props(props)
            .outputs(outputs(bucket));
        Ok((live, refused))
    }

    /// (target bucket, prefix) of a bucket's server access logging ("" when off).
    pub(super) async fn logging(&self, bucket: &str) -> Result<(String, String), ProviderError> {
        let call = self.client.get_bucket_logging().bucket(bucket);
        let output = sent("s3:GetBucketLogging", bucket, call.send()).await?;
        Ok(output.logging_enabled().map_or_else(
            || (String::new(), String::new()),
            |logging| {
                (
                    logging.target_bucket().to_string(),
                    logging.target_prefix().to_string(),
                )
            },
        ))
    }
}
