//! Mocked-client tests of the IAM provider.
use std::time::Duration;

use aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput;
use aws_sdk_iam::operation::create_role::CreateRoleOutput;
use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::operation::list_policy_tags::ListPolicyTagsOutput;
use aws_sdk_iam::operation::list_roles::ListRolesOutput;
use aws_sdk_iam::types::{
    AttachedPermissionsBoundary, AttachedPolicy, EntityType, ManagedPolicyDetail, PolicyDetail,
    PolicyVersion, Role, RoleDetail, Tag,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde_json::json;

use super::policy::{MAX_POLICY_VERSIONS, versions_to_prune};
use super::*;
use crate::exec::retry::{RetryPolicy, with_retry};
use crate::model::DesiredGraph;
use crate::model::LogicalId;
use crate::plan::{Action, DiffOptions, diff};
use crate::providers::ErrorClass;

const ACCOUNT: &str = "123456789012";

fn encode(document: &serde_json::Value) -> String {
    percent_encoding::utf8_percent_encode(&document.to_string(), percent_encoding::NON_ALPHANUMERIC)
        .to_string()
}

fn trust() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
}

fn boundary_document() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Logs", "Effect": "Allow",
        "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": "*"}]})
}

fn tags(id: &str) -> Value {
    Value::Map(
        [
            ("ManagedBy", "nc-provision"),
            ("nc:env", "stg"),
            ("nc:id", id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
}

fn iam_tag_list(id: &str) -> Vec<Tag> {
    [
        ("ManagedBy", "nc-provision"),
        ("nc:env", "stg"),
        ("nc:id", id),
    ]
    .into_iter()
    .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
    .collect()
}

fn boundary_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/nc/pb-etl")
}

fn desired() -> Vec<Resource> {
    vec![
        Resource::new("iam.policy.pb-etl", Kind::IamPolicy, "pb-etl")
            .prop("path", "/nc/")
            .prop("policy", Value::Policy(boundary_document()))
            .prop("tags", tags("iam.policy.pb-etl")),
        Resource::new("iam.role.etl", Kind::IamRole, "LambdaETLRole")
            .prop("path", "/nc/")
            .prop("assume_role_policy", Value::Policy(trust()))
            .prop("max_session_seconds", 43_200)
            .prop("permissions_boundary", boundary_arn())
            .prop(
                "managed_policies",
                Value::List(vec![
                    Value::str("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
                    Value::str(boundary_arn()),
                ]),
            )
            .prop(
                "inline_policy_names",
                Value::List(vec![Value::str("extra")]),
            )
            .prop("inline_policy.extra", Value::Policy(boundary_document()))
            .prop("description", "ETL")
            .prop("tags", tags("iam.role.etl")),
    ]
}

/// GetAccountAuthorizationDetails as IAM answers it: documents URL-encoded, attachments
/// in another order, a policy with an old version.
fn details() -> GetAccountAuthorizationDetailsOutput {
    let role = RoleDetail::builder()
        .path("/nc/")
        .role_name("LambdaETLRole")
        .role_id("AROAEXAMPLE")
        .arn(format!("arn:aws:iam::{ACCOUNT}:role/nc/LambdaETLRole"))
        .assume_role_policy_document(encode(&trust()))
        .permissions_boundary(
            AttachedPermissionsBoundary::builder()
                .permissions_boundary_arn(boundary_arn())
                .build(),
        )
        .attached_managed_policies(AttachedPolicy::builder().policy_arn(boundary_arn()).build())
        .attached_managed_policies(
            AttachedPolicy::builder()
                .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
                .build(),
        )
        .role_policy_list(
            PolicyDetail::builder()
                .policy_name("extra")
                .policy_document(encode(&boundary_document()))
                .build(),
        )
        .set_tags(Some(iam_tag_list("iam.role.etl")))
        .build();
    let reordered = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": ["*"]}});
    let policy = ManagedPolicyDetail::builder()
        .policy_name("pb-etl")
        .arn(boundary_arn())
        .path("/nc/")
        .policy_version_list(
            PolicyVersion::builder()
                .version_id("v1")
                .is_default_version(false)
                .document(encode(&json!({"Statement": []})))
                .build(),
        )
        .policy_version_list(
            PolicyVersion::builder()
                .version_id("v2")
                .is_default_version(true)
                .document(encode(&reordered))
                .build(),
        )
        .build();
    GetAccountAuthorizationDetailsOutput::builder()
        .role_detail_list(role)
        .policies(policy)
        .is_truncated(false)
        .build()
}

/// The ETL role as IAM describes it, before the settings each answer adds.
fn etl_role() -> aws_sdk_iam::types::builders::RoleBuilder {
    Role::builder()
        .path("/nc/")
        .role_name("LambdaETLRole")
        .role_id("AROAEXAMPLE")
        .arn(format!("arn:aws:iam::{ACCOUNT}:role/nc/LambdaETLRole"))
        .create_date(aws_smithy_types::DateTime::from_secs(0))
}

fn list_roles() -> ListRolesOutput {
    ListRolesOutput::builder()
        .roles(
            etl_role()
                .max_session_duration(43_200)
                .description("ETL")
                .build()
                .unwrap(),
        )
        .set_is_truncated(Some(false))
        .build()
        .unwrap()
}

#[tokio::test]
async fn observes_roles_and_policies_in_one_batch_and_encoded_documents_are_no_change() {
    let gaad = mock!(aws_sdk_iam::Client::get_account_authorization_details)
        .match_requests(|request| {
            request.filter() == [EntityType::Role, EntityType::LocalManagedPolicy]
        })
        .then_output(details);
    let roles = mock!(aws_sdk_iam::Client::list_roles)
        .match_requests(|request| request.path_prefix() == Some("/nc/"))
        .then_output(list_roles);
    let policy_tags = mock!(aws_sdk_iam::Client::list_policy_tags).then_output(|| {
        ListPolicyTagsOutput::builder()
            .set_tags(Some(iam_tag_list("iam.policy.pb-etl")))
            .build()
            .unwrap()
    });
    let provider = IamProvider::with_client(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&gaad, &roles, &policy_tags]
    ));
    let desired = desired();
    let refs: Vec<&Resource> = desired.iter().collect();
    let observation = provider.observe(&refs, "stg").await.unwrap();
    assert_eq!(gaad.num_calls(), 1);
    assert_eq!(roles.num_calls(), 1);
    assert_eq!(policy_tags.num_calls(), 1);
    let role = &observation.found[&LogicalId::new("iam.role.etl")];
    assert_eq!(role.props["max_session_seconds"], Value::Int(43_200));
    assert_eq!(
        role.outputs["arn"],
        format!("arn:aws:iam::{ACCOUNT}:role/nc/LambdaETLRole")
    );
    let policy = &observation.found[&LogicalId::new("iam.policy.pb-etl")];
    assert_eq!(
        policy.props["policy_versions"],
        Value::List(vec![Value::str("v1")])
    );
    let graph = DesiredGraph::new(desired).unwrap();
    let changes = diff(&graph, &observation, DiffOptions::default());
    for change in &changes {
        assert_eq!(
            change.action,
            Action::NoOp,
            "{}: {:?}",
            change.id,
            change.attributes
        );
    }
}

/// IAM's answer when a trust policy names a principal it cannot see yet.
const INVALID_PRINCIPAL: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>MalformedPolicyDocument</Code><Message>Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/nc/Fresh\"</Message></Error><RequestId>1</RequestId></ErrorResponse>";

const NO_SUCH_POLICY: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>Policy arn:aws:iam::123456789012:policy/nc/pb-etl does not exist or is not attachable.</Message></Error><RequestId>1</RequestId></ErrorResponse>";
const ALREADY: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>EntityAlreadyExists</Code><Message>Role with name LambdaETLRole already exists.</Message></Error><RequestId>1</RequestId></ErrorResponse>";

fn made_role() -> Role {
    etl_role()
        .set_tags(Some(iam_tag_list("iam.role.etl")))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_retried_create_finds_the_role_its_first_attempt_made_and_finishes_it() {
    let create = mock!(aws_sdk_iam::Client::create_role)
        .sequence()
        .output(|| CreateRoleOutput::builder().role(made_role()).build())
        .http_status(400, Some(ALREADY.to_string()))
        .build();
    let get = mock!(aws_sdk_iam::Client::get_role).then_output(|| {
        aws_sdk_iam::operation::get_role::GetRoleOutput::builder()
            .role(made_role())
            .build()
    });
    // The boundary policy made a moment ago is not attachable yet, then it is.
    let attach = mock!(aws_sdk_iam::Client::attach_role_policy)
        .sequence()
        .http_status(404, Some(NO_SUCH_POLICY.to_string()))
        .output(|| AttachRolePolicyOutput::builder().build())
        .times(2)
        .build();
    let put = mock!(aws_sdk_iam::Client::put_role_policy).then_output(|| {
        aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput::builder().build()
    });
    let provider = IamProvider::with_client(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&create, &get, &attach, &put]
    ));
    let role = desired().remove(1);
    let ctx = StepCtx::silent(role.id.as_str(), "stg", Duration::from_secs(1));
    let policy = iam_retry();
    let (result, attempts) = with_retry(policy, || provider.create(&role, &ctx)).await;
    assert_eq!(result.unwrap()["role_id"], "AROAEXAMPLE");
    assert_eq!(attempts, 2);
    assert_eq!(create.num_calls(), 2);
    assert_eq!(get.num_calls(), 1);
    assert_eq!(attach.num_calls(), 3);
    assert_eq!(put.num_calls(), 1);
}

/// The executor's retries as IAM's eventual consistency needs them.
fn iam_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(16),
        deadline: Duration::from_secs(180),
    }
}

#[tokio::test(start_paused = true)]
async fn create_role_is_retried_while_a_trusted_principal_propagates() {
    let create = mock!(aws_sdk_iam::Client::create_role)
        .sequence()
        .http_status(400, Some(INVALID_PRINCIPAL.to_string()))
        .times(2)
        .output(|| {
            CreateRoleOutput::builder()
                .role(etl_role().build().unwrap())
                .build()
        })
        .build();
    let attach = mock!(aws_sdk_iam::Client::attach_role_policy)
        .then_output(|| AttachRolePolicyOutput::builder().build());
    let put = mock!(aws_sdk_iam::Client::put_role_policy).then_output(|| {
        aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput::builder().build()
    });
    let provider = IamProvider::with_client(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&create, &attach, &put]
    ));
    let role = desired().remove(1);
    let ctx = StepCtx::silent(role.id.as_str(), "stg", Duration::from_secs(1));
    let policy = iam_retry();
    let first = provider.create(&role, &ctx).await.unwrap_err();
    assert_eq!(first.class, ErrorClass::Propagation, "{first}");
    let (result, attempts) = with_retry(policy, || provider.create(&role, &ctx)).await;
    assert_eq!(result.unwrap()["role_id"], "AROAEXAMPLE");
    assert_eq!(attempts, 2, "one more rejection, then success");
    assert_eq!(create.num_calls(), 3);
    assert_eq!(attach.num_calls(), 2, "both managed policies attached");
    assert_eq!(put.num_calls(), 1);
}

#[test]
fn versions_are_pruned_before_the_fifth_in_total() {
    let versions = |n: usize| -> Vec<String> { (1..=n).map(|v| format!("v{v}")).collect() };
    for (non_default, pruned) in [(0, 0), (2, 0), (3, 0), (4, 1), (5, 2)] {
        let list = versions(non_default);
        let prune = versions_to_prune(&list);
        assert_eq!(prune.len(), pruned, "{non_default} non-default versions");
        assert_eq!(prune, &list[..pruned], "the oldest go first");
        assert!(
            non_default - pruned + 2 <= MAX_POLICY_VERSIONS,
            "{non_default}: at most five after the create"
        );
    }
}
