//! S3 buckets: versioning, SSE-KMS with a bucket key, the four public-access blocks, the
//! bucket policy and tags.
//!
//! Observe: one ListBuckets for existence of all, then per bucket GetBucketVersioning,
//! GetBucketEncryption, GetPublicAccessBlock, GetBucketPolicy and GetBucketTagging
//! concurrently, at most [`READS_IN_FLIGHT`](crate::providers::aws::READS_IN_FLIGHT) buckets
//! at once (an unbounded read of 1,000 buckets failed with connection resets). Buckets of this
//! environment's prefix (`nc-dp-<env>-`) in this region that the spec no longer names have
//! their tags read; those of ours are orphans, shown as retained. Buckets are data-bearing:
//! never deleted.
//!
//! Optional attributes, observed only for the buckets that declare them (so the plain data
//! buckets pay nothing for them):
//! - Object Lock (`object_lock`, `object_lock_mode`, `object_lock_retention` as `"N days"` or
//!   `"N years"`): GetObjectLockConfiguration. A bucket created without Object Lock has it turned
//!   on in place (PutObjectLockConfiguration), never by replacement. A default retention that
//!   would shorten a live COMPLIANCE retention is refused: AWS forbids it, so the plan shows a
//!   conflict naming the reason (`Observed::refused`).
//! - Server access logging (`logging_target`, `logging_prefix`): GetBucketLogging.
//!
//! A bucket's replication configuration is a kind of its own ([`replication`]), read only for
//! the buckets that have a desired one (one GetBucketReplication each).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::create_bucket::CreateBucketError;
use aws_sdk_s3::types::{Bucket, BucketLocationConstraint, CreateBucketConfiguration, Tag};

use super::aws::{Live, Sorter, after_create, read_all, sent, sent_or_none};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{Kind, Observation, Observed, Outputs, Owner, Resource};
use crate::providers::Change;

mod object_lock;
mod read;
mod replication;
#[cfg(test)]
mod tests;
mod write;

const KINDS: &[Kind] = &[Kind::S3Bucket, Kind::S3BucketReplication];

/// Buckets whose reads are made at once (then run [`READS_IN_FLIGHT`] at a time): made up
/// front for every bucket, the reads' futures grew a plan's peak memory with the bucket count.
///
/// [`READS_IN_FLIGHT`]: crate::providers::aws::READS_IN_FLIGHT
const READ_SLICE: usize = 64;

/// The public-access-block attributes, in AWS's order.
const ACCESS_BLOCKS: [&str; 4] = [
    "block_public_acls",
    "ignore_public_acls",
    "block_public_policy",
    "restrict_public_buckets",
];

/// The S3 provider.
pub struct S3Provider {
    client: Client,
    region: String,
}

/// A bucket listed by ListBuckets.
struct Listed {
    region: Option<String>,
}

impl S3Provider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> S3Provider {
        S3Provider {
            client: aws.s3(),
            region: aws.region(),
        }
    }

    /// Every bucket of the account, by name, with its region.
    async fn list(&self) -> Result<BTreeMap<String, Listed>, ProviderError> {
        let call = self.client.list_buckets().into_paginator().items();
        let buckets = sent("s3:ListBuckets", "buckets", call.send().try_collect()).await?;
        let by_name = buckets.into_iter().filter_map(|bucket: Bucket| {
            let region = bucket.bucket_region;
            Some((bucket.name?, Listed { region }))
        });
        Ok(by_name.collect())
    }

    /// A bucket of this environment's prefix that the spec does not name: every attribute
    /// when its tags say it is ours (an orphan, shown as retained), else `None` — a bucket
    /// not ours costs one GetBucketTagging.
    async fn read_candidate(&self, bucket: &str, env: &str) -> Result<Option<Live>, ProviderError> {
        let tags = self.tags(bucket).await?;
        if Owner::from_tags(&tags, env) != Owner::Ours {
            return Ok(None);
        }
        let (live, _) = self.read_bucket(bucket, None).await?;
        Ok(Some(live))
    }
}

fn outputs(bucket: &str) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.insert("name".into(), bucket.to_string());
    outputs.insert("arn".into(), format!("arn:aws:s3:::{bucket}"));
    outputs
}

fn s3_tags(resource: &Resource) -> Result<Vec<Tag>, ProviderError> {
    super::tag_pairs(resource)
        .into_iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| {
                    ProviderError::local("s3:CreateBucket", &resource.name, error.to_string())
                })
        })
        .collect()
}

#[async_trait]
impl Provider for S3Provider {
    fn kinds(&self) -> &'static [Kind] {
        KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let listed = self.list().await?;
        let (replications, desired): (Vec<&Resource>, Vec<&Resource>) = desired
            .iter()
            .partition(|resource| resource.kind == Kind::S3BucketReplication);
        let wanted: BTreeSet<&str> = desired.iter().map(|r| r.name.as_str()).collect();
        // A bucket's name is its identity: live buckets are matched only among the desired
        // ones that exist, so a bucket of another name is never taken for a desired one.
        let present: Vec<&Resource> = desired
            .iter()
            .filter(|resource| listed.contains_key(&resource.name))
            .copied()
            .collect();
        // The buckets in slices of READ_SLICE: a bucket's read (its five GETs' futures, about
        // 30 KB a bucket in a debug build, by the bench) is made per slice, not all up front.
        let reads = async {
            let mut read = Vec::with_capacity(present.len());
            for slice in present.chunks(READ_SLICE) {
                let reads: Vec<_> = slice
                    .iter()
                    .map(|resource| self.read_bucket(&resource.name, Some(resource)))
                    .collect();
                read.extend(read_all(reads).await?);
            }
            Ok::<_, ProviderError>(read)
        };
        // Buckets of ours in this region that the spec no longer has (shown as retained).
        let prefix = format!("nc-dp-{env}-");
        let candidates: Vec<_> = listed
            .iter()
            .filter(|(name, bucket)| {
                name.starts_with(&prefix)
                    && !wanted.contains(name.as_str())
                    && bucket.region.as_deref() == Some(self.region.as_str())
            })
            .map(|(name, _)| self.read_candidate(name, env))
            .collect();
        let replication_reads: Vec<_> = replications
            .iter()
            .filter(|resource| listed.contains_key(&resource.name))
            .map(|resource| async move {
                let props = replication::read(&self.client, resource).await?;
                Ok(props.map(|props| (*resource, props)))
            })
            .collect();
        let (read, candidates, replicated) =
            tokio::join!(reads, read_all(candidates), read_all(replication_reads));
        let mut sorter = Sorter::new(&present, env);
        for (resource, (live, refused)) in present.iter().zip(read?) {
            let mut observed = live.observed(resource.id.clone(), env);
            observed.refused = refused;
            sorter.insert(observed);
        }
        for live in candidates?.into_iter().flatten() {
            sorter.add(live);
        }
        let mut observation = sorter.finish();
        for (resource, props) in replicated?.into_iter().flatten() {
            // A configuration has no tags: it is owned as its bucket is.
            let owner =
                match observation.found.values().find(|bucket| {
                    bucket.kind == Kind::S3Bucket && bucket.physical_id == resource.name
                }) {
                    Some(bucket) => bucket.owner.clone(),
                    None => Owner::from_tags(&self.tags(&resource.name).await?, env),
                };
            observation.insert(replication::observed(resource, props, owner));
        }
        Ok(observation)
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        if resource.kind == Kind::S3BucketReplication {
            return replication::put(&self.client, resource).await;
        }
        let bucket = resource.name.as_str();
        let mut configuration =
            CreateBucketConfiguration::builder().set_tags(Some(s3_tags(resource)?));
        if self.region != "us-east-1" {
            configuration = configuration
                .location_constraint(BucketLocationConstraint::from(self.region.as_str()));
        }
        let object_lock = resource.str_prop("object_lock") == Some("Enabled");
        let call = self
            .client
            .create_bucket()
            .bucket(bucket)
            .set_object_lock_enabled_for_bucket(object_lock.then_some(true))
            .create_bucket_configuration(configuration.build());
        let owned = CreateBucketError::is_bucket_already_owned_by_you;
        if sent_or_none("s3:CreateBucket", bucket, call.send(), owned)
            .await?
            .is_none()
        {
            ctx.note("bucket already exists in this account; configuring it");
        }
        // A new bucket may answer NoSuchBucket or OperationAborted for a moment: each
        // configuration call is retried while it does (eventual consistency).
        after_create(|| self.put_access_block(resource)).await?;
        after_create(|| self.put_encryption(resource)).await?;
        after_create(|| self.put_versioning(bucket)).await?;
        after_create(|| self.put_policy(resource)).await?;
        if object_lock {
            after_create(|| self.put_object_lock(resource)).await?;
        }
        if resource.props.contains_key("logging_target") {
            after_create(|| self.put_logging(resource)).await?;
        }
        Ok(outputs(bucket))
    }

    async fn update(&self, change: &Change<'_>, _ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        if change.resource.kind == Kind::S3BucketReplication {
            return replication::put(&self.client, change.resource).await;
        }
        let bucket = change.resource.name.as_str();
        if change.touches("tags") {
            self.put_tags(change.resource).await?;
        }
        if ACCESS_BLOCKS.iter().any(|name| change.touches(name)) {
            self.put_access_block(change.resource).await?;
        }
        if ["sse_algorithm", "sse_kms_key", "bucket_key"]
            .iter()
            .any(|name| change.touches(name))
        {
            self.put_encryption(change.resource).await?;
        }
        if change.touches("versioning") {
            self.put_versioning(bucket).await?;
        }
        if change.touches("policy") {
            self.put_policy(change.resource).await?;
        }
        if ["object_lock", "object_lock_mode", "object_lock_retention"]
            .iter()
            .any(|name| change.touches(name))
        {
            if let Some(reason) = &change.observed.refused {
                return Err(ProviderError::local(
                    "s3:PutObjectLockConfiguration",
                    bucket,
                    reason.clone(),
                ));
            }
            // Turning Object Lock on in place needs versioning first.
            self.put_versioning(bucket).await?;
            self.put_object_lock(change.resource).await?;
        }
        if ["logging_target", "logging_prefix"]
            .iter()
            .any(|name| change.touches(name))
        {
            self.put_logging(change.resource).await?;
        }
        Ok(outputs(bucket))
    }

    async fn delete(&self, observed: &Observed, _ctx: &StepCtx) -> Result<(), ProviderError> {
        if observed.kind == Kind::S3BucketReplication {
            return replication::delete(&self.client, &observed.physical_id).await;
        }
        Err(ProviderError::local(
            "s3:DeleteBucket",
            &observed.physical_id,
            "buckets are data-bearing and never deleted by nc-provision",
        ))
    }
}
