//! Unit tests of the S3 provider over a mocked SDK client.

use aws_sdk_s3::Client;

use super::S3Provider;
use crate::model::{Kind, Resource, Value};
use crate::providers::{Provider, StepCtx};

/// No emulator answers NoSuchBucket right after CreateBucket (they are consistent at
/// once): AWS's eventual consistency after a create is covered with a mocked client. The
/// first configuration call sees no bucket yet; it is retried, and the create succeeds.
#[tokio::test(start_paused = true)]
async fn a_new_bucket_not_visible_yet_is_configured_after_a_retry() {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::create_bucket::CreateBucketOutput;
    use aws_sdk_s3::operation::put_bucket_encryption::PutBucketEncryptionOutput;
    use aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyOutput;
    use aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioningOutput;
    use aws_sdk_s3::operation::put_public_access_block::{
        PutPublicAccessBlockError, PutPublicAccessBlockOutput,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    let create = mock!(Client::create_bucket).then_output(|| CreateBucketOutput::builder().build());
    let block = mock!(Client::put_public_access_block)
        .sequence()
        .error(|| {
            PutPublicAccessBlockError::generic(
                ErrorMetadata::builder()
                    .code("NoSuchBucket")
                    .message("The specified bucket does not exist")
                    .build(),
            )
        })
        .output(|| PutPublicAccessBlockOutput::builder().build())
        .build();
    let encryption = mock!(Client::put_bucket_encryption)
        .then_output(|| PutBucketEncryptionOutput::builder().build());
    let versioning = mock!(Client::put_bucket_versioning)
        .then_output(|| PutBucketVersioningOutput::builder().build());
    let policy =
        mock!(Client::put_bucket_policy).then_output(|| PutBucketPolicyOutput::builder().build());
    let provider = S3Provider {
        client: mock_client!(
            aws_sdk_s3,
            RuleMode::MatchAny,
            [&create, &block, &encryption, &versioning, &policy]
        ),
        region: "us-east-1".into(),
    };
    let resource = Resource::new("data.bucket.raw", Kind::S3Bucket, "nc-dp-stg-raw")
        .prop("versioning", "Enabled")
        .prop("sse_algorithm", "AES256")
        .prop("bucket_key", false)
        .prop("block_public_acls", true)
        .prop("ignore_public_acls", true)
        .prop("block_public_policy", true)
        .prop("restrict_public_buckets", true)
        .prop(
            "policy",
            Value::Policy(serde_json::json!({"Version": "2012-10-17", "Statement": []})),
        );
    let ctx = StepCtx {
        id: resource.id.clone(),
        env: "stg".into(),
        progress: std::sync::Arc::new(|_: &str| {}),
        wait_timeout: std::time::Duration::from_secs(1),
    };
    provider
        .create(&resource, &ctx)
        .await
        .expect("configured once the bucket is visible");
    assert_eq!(block.num_calls(), 2, "retried after NoSuchBucket");
    assert_eq!(create.num_calls(), 1, "the bucket is created once");
    assert_eq!(versioning.num_calls(), 1);
}
