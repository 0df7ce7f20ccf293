//! Mocked-client tests of the KMS provider.
use std::time::Duration;

use aws_sdk_kms::operation::create_alias::CreateAliasOutput;
use aws_sdk_kms::operation::create_key::CreateKeyOutput;
use aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput;
use aws_sdk_kms::operation::put_key_policy::PutKeyPolicyOutput;
use aws_sdk_kms::operation::update_alias::UpdateAliasOutput;
use aws_sdk_kms::types::KeyMetadata;
use aws_smithy_mocks::{Rule, RuleBuilder, RuleMode, mock, mock_client};

use super::*;
use crate::exec::retry::{RetryPolicy, with_retry};
use crate::providers::ErrorClass;

/// What KMS answers while a role named in the policy has not propagated yet.
const NOT_YET: &str = r#"{"__type":"MalformedPolicyDocumentException","message":"Policy contains a statement with one or more invalid principals."}"#;

fn ctx() -> StepCtx {
    StepCtx::silent("kms.key_policy.data", "stg", Duration::from_secs(60))
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(16),
        deadline: Duration::from_secs(180),
    }
}

/// What a mocked operation's input, output and error are.
trait Mocked: std::fmt::Debug + Send + Sync + 'static {}
impl<T: std::fmt::Debug + Send + Sync + 'static> Mocked for T {}

/// `rule` refusing `refusals` requests with HTTP 400 and `body`, then answering `output`.
fn refused_then<I: Mocked, O: Mocked, E: Mocked + std::error::Error>(
    rule: RuleBuilder<I, O, E>,
    body: &str,
    refusals: usize,
    output: impl Fn() -> O + Send + Sync + 'static,
) -> Rule {
    let refusal = Some(body.to_string());
    rule.sequence()
        .http_status(400, refusal)
        .times(refusals)
        .output(output)
        .build()
}

/// `rule` refusing every request with HTTP 400 and `body`.
fn always_refused<I: Mocked, O: Mocked, E: Mocked + std::error::Error>(
    rule: RuleBuilder<I, O, E>,
    body: &str,
) -> Rule {
    let refusal = Some(body.to_string());
    rule.sequence()
        .http_status(400, refusal)
        .repeatedly()
        .build()
}

/// Creates `resource` with the executor's retries: the result and the attempts made.
async fn create_with_retries(
    provider: &KmsProvider,
    resource: &Resource,
) -> (Result<Outputs, ProviderError>, u32) {
    let context = ctx();
    with_retry(policy(), || provider.create(resource, &context)).await
}

fn key_policy() -> Resource {
    Resource::new(
        "kms.key_policy.data",
        Kind::KmsKeyPolicy,
        "alias/nc-dp-data-stg",
    )
    .prop("key_id", "key-1")
    .prop(
        "policy",
        Value::Policy(serde_json::json!({"Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/nc/LambdaETLRole"},
                "Action": "kms:Decrypt", "Resource": "*"}]})),
    )
}

#[tokio::test(start_paused = true)]
async fn put_key_policy_is_retried_until_the_new_role_propagates() {
    let put = refused_then(
        mock!(aws_sdk_kms::Client::put_key_policy),
        NOT_YET,
        2,
        || PutKeyPolicyOutput::builder().build(),
    );
    let provider =
        KmsProvider::with_client(mock_client!(aws_sdk_kms, RuleMode::Sequential, [&put]));
    let (result, attempts) = create_with_retries(&provider, &key_policy()).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(attempts, 3);
    assert_eq!(put.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn create_key_is_retried_until_the_principal_propagates() {
    let metadata = KeyMetadata::builder()
        .key_id("key-1")
        .arn("arn:aws:kms:us-east-1:123456789012:key/key-1")
        .build()
        .unwrap();
    let created = move || {
        CreateKeyOutput::builder()
            .key_metadata(metadata.clone())
            .build()
    };
    let create = refused_then(mock!(aws_sdk_kms::Client::create_key), NOT_YET, 2, created);
    let rotation = mock!(aws_sdk_kms::Client::enable_key_rotation)
        .then_output(|| EnableKeyRotationOutput::builder().build());
    let alias = mock!(aws_sdk_kms::Client::create_alias)
        .then_output(|| CreateAliasOutput::builder().build());
    let provider = KmsProvider::with_client(mock_client!(
        aws_sdk_kms,
        RuleMode::MatchAny,
        [&create, &rotation, &alias]
    ));
    let resource = Resource::new("kms.key.data", Kind::KmsKey, "alias/nc-dp-data-stg")
        .prop("rotation", true)
        .create_input("policy", key_policy().props["policy"].clone());
    let (result, attempts) = create_with_retries(&provider, &resource).await;
    assert_eq!(result.unwrap()["key_id"], "key-1");
    assert_eq!(attempts, 3);
    assert_eq!(create.num_calls(), 3);
    assert_eq!(alias.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_principal_that_never_propagates_gives_up_in_bounded_time_with_a_clear_message() {
    let put = always_refused(mock!(aws_sdk_kms::Client::put_key_policy), NOT_YET);
    let provider =
        KmsProvider::with_client(mock_client!(aws_sdk_kms, RuleMode::Sequential, [&put]));
    let started = tokio::time::Instant::now();
    let (result, attempts) = create_with_retries(&provider, &key_policy()).await;
    let error = result.unwrap_err();
    assert_eq!(error.class, ErrorClass::Propagation);
    assert_eq!(attempts, 8, "bounded by max_attempts");
    assert!(
        started.elapsed() <= Duration::from_secs(180),
        "bounded by the deadline"
    );
    assert!(
        error.message.contains("invalid principals"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("gave up after 8 attempts"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("never became visible"),
        "{}",
        error.message
    );
    assert!(
        error
            .to_string()
            .starts_with("kms:PutKeyPolicy on key-1 failed"),
        "{error}"
    );
}

/// What KMS answers to CreateAlias for a name that is taken.
const ALIAS_TAKEN: &str = r#"{"__type":"AlreadyExistsException","message":"An alias with the name alias/nc-dp-data-stg already exists"}"#;

/// The alias an earlier CreateAlias made before its answer was lost (the SDK then sent it
/// again): no emulator stages that moment, so this runs over a mocked client.
#[tokio::test]
async fn an_alias_that_already_exists_is_moved_to_the_key() {
    let create = always_refused(mock!(aws_sdk_kms::Client::create_alias), ALIAS_TAKEN);
    let update = mock!(aws_sdk_kms::Client::update_alias)
        .match_requests(|request| {
            request.alias_name() == Some("alias/nc-dp-data-stg")
                && request.target_key_id() == Some("key-1")
        })
        .then_output(|| UpdateAliasOutput::builder().build());
    let provider = KmsProvider::with_client(mock_client!(
        aws_sdk_kms,
        RuleMode::MatchAny,
        [&create, &update]
    ));
    key::create_alias(&provider.client, "alias/nc-dp-data-stg", "key-1")
        .await
        .expect("already there is success");
    assert_eq!(
        (create.num_calls(), update.num_calls()),
        (1, 1),
        "one CreateAlias (refused), then one UpdateAlias: the alias now names the key"
    );
}

/// No emulator refuses to show one key's tags, so the scan's tolerance of a key it may not
/// read is shown over a mocked client: an aliased key is not read at all, a denied one is
/// passed over, and ours is found by its `nc:id`.
#[tokio::test]
async fn the_unaliased_key_scan_skips_aliased_and_unreadable_keys() {
    use aws_sdk_kms::operation::list_keys::ListKeysOutput;
    use aws_sdk_kms::operation::list_resource_tags::ListResourceTagsOutput;
    use aws_sdk_kms::types::{KeyListEntry, Tag as KmsTag};
    const DENIED: &str = r#"{"__type":"AccessDeniedException","message":"not allowed"}"#;
    let keys = mock!(aws_sdk_kms::Client::list_keys).then_output(|| {
        ListKeysOutput::builder()
            .keys(KeyListEntry::builder().key_id("aws-managed").build())
            .keys(KeyListEntry::builder().key_id("other-team").build())
            .keys(KeyListEntry::builder().key_id("ours").build())
            .build()
    });
    let denied = mock!(aws_sdk_kms::Client::list_resource_tags)
        .match_requests(|request| request.key_id() == Some("other-team"))
        .then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
                aws_smithy_types::body::SdkBody::from(DENIED),
            )
        });
    let ours = mock!(aws_sdk_kms::Client::list_resource_tags)
        .match_requests(|request| request.key_id() == Some("ours"))
        .then_output(|| {
            ListResourceTagsOutput::builder()
                .tags(
                    KmsTag::builder()
                        .tag_key("nc:env")
                        .tag_value("stg")
                        .build()
                        .unwrap(),
                )
                .tags(
                    KmsTag::builder()
                        .tag_key("nc:id")
                        .tag_value("kms.key.data")
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let managed = mock!(aws_sdk_kms::Client::list_resource_tags)
        .match_requests(|request| request.key_id() == Some("aws-managed"))
        .then_output(|| ListResourceTagsOutput::builder().build());
    let provider = KmsProvider::with_client(mock_client!(
        aws_sdk_kms,
        RuleMode::MatchAny,
        [&keys, &denied, &ours, &managed]
    ));
    let aliased = std::collections::BTreeSet::from(["aws-managed"]);
    let found = key::unaliased_keys(&provider.client, "stg", &aliased)
        .await
        .expect("a denied key does not fail the scan");
    assert_eq!(found.get("kms.key.data").map(String::as_str), Some("ours"));
    assert_eq!(managed.num_calls(), 0, "an aliased key is not read");
    assert_eq!(denied.num_calls(), 1);
}
