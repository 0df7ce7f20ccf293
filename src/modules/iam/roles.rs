//! The roles of the iam-baseline module: service roles (each with its permission boundary),
//! cross-account roles (security audit, log archiving) and human roles.

use serde_json::{Value as Json, json};

use super::{HOUR, PATH, document, policy_arn, policy_id, security_external_id};
use crate::model::{Kind, Resource, Value};
use crate::modules::Context;
use crate::modules::addr::{FARGATE_TASK_ROLE, LAMBDA_ETL_ROLE};

/// A service role: trusted principal service, boundary, attached policies.
pub(super) struct ServiceRole {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) service: &'static str,
    pub(super) boundary: &'static str,
    pub(super) managed: &'static [&'static str],
    pub(super) description: &'static str,
}

pub(super) const SERVICE_ROLES: [ServiceRole; 4] = [
    ServiceRole {
        id: LAMBDA_ETL_ROLE,
        name: "LambdaETLRole",
        service: "lambda.amazonaws.com",
        boundary: "pb-etl",
        managed: &["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        description: "ETL Lambda functions (svc-*)",
    },
    ServiceRole {
        id: FARGATE_TASK_ROLE,
        name: "FargateTaskRole",
        service: "ecs-tasks.amazonaws.com",
        boundary: "pb-fargate",
        managed: &[],
        description: "Fargate pipeline tasks",
    },
    ServiceRole {
        id: "iam.role.glue-job",
        name: "GlueJobRole",
        service: "glue.amazonaws.com",
        boundary: "pb-etl",
        managed: &["arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"],
        description: "Glue ETL jobs",
    },
    ServiceRole {
        id: "iam.role.pipeline-execution",
        name: "PipelineExecutionRole",
        service: "states.amazonaws.com",
        boundary: "pb-etl",
        managed: &[],
        description: "Step Functions pipeline executions",
    },
];

#[expect(clippy::too_many_arguments, reason = "one call per role reads best")]
pub(super) fn role(
    context: &Context<'_>,
    role_id: &str,
    name: &str,
    description: &str,
    trust: Json,
    max_session_seconds: i64,
    boundary: Option<&str>,
    mut managed: Vec<String>,
) -> Resource {
    managed.sort();
    managed.dedup();
    let mut resource = Resource::new(role_id, Kind::IamRole, name)
        .prop("path", PATH)
        .prop("assume_role_policy", Value::Policy(trust))
        .prop("max_session_seconds", max_session_seconds)
        .prop(
            "description",
            format!("{description} ({}; managed by nc-provision)", context.env()),
        )
        .prop(
            "managed_policies",
            Value::List(managed.into_iter().map(Value::Str).collect()),
        )
        .prop("inline_policy_names", Value::List(Vec::new()))
        .prop("tags", context.tags(role_id))
        .replace_on(&["path"]);
    match boundary {
        Some(boundary) => {
            resource = resource
                .prop(
                    "permissions_boundary",
                    Value::reference(&policy_id(boundary), "arn"),
                )
                .after(&policy_id(boundary));
        }
        None => resource = resource.prop("permissions_boundary", ""),
    }
    // Attached customer-managed policies are ordered before the role.
    for name in ["pb-etl", "pb-fargate", "pb-admin"] {
        let arn = policy_arn(context, name);
        let attached = resource.props.get("managed_policies").is_some_and(
            |list| matches!(list, Value::List(items) if items.contains(&Value::Str(arn.clone()))),
        );
        if attached {
            resource = resource.after(&policy_id(name));
        }
    }
    resource
}

/// Adds an inline policy (and its name to `inline_policy_names`).
pub(super) fn inline(mut resource: Resource, name: &str, statements: Vec<Json>) -> Resource {
    if let Some(Value::List(names)) = resource.props.get_mut("inline_policy_names") {
        names.push(Value::str(name));
        names.sort_by(|left, right| left.as_str().cmp(&right.as_str()));
    }
    resource.prop(
        &format!("inline_policy.{name}"),
        Value::Policy(document(statements)),
    )
}

pub(super) fn trust(statements: Vec<Json>) -> Json {
    document(statements)
}

pub(super) fn service_trust(service: &str) -> Json {
    json!({
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole"
    })
}

/// Trust of a human role: the account's own principals, with MFA when required.
pub(super) fn human_trust(context: &Context<'_>, mfa: bool) -> Json {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": {"AWS": context.account_root()},
        "Action": "sts:AssumeRole"
    });
    if mfa {
        statement["Condition"] = json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}});
    }
    trust(vec![statement])
}

pub(super) fn invoke_pipeline(context: &Context<'_>) -> Vec<Json> {
    vec![json!({
        "Sid": "InvokePipelineFunctions",
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": format!(
            "arn:aws:lambda:*:{}:function:svc-*-{}",
            context.target.account_id,
            context.env()
        )
    })]
}

pub(super) fn cross_account_roles(context: &Context<'_>) -> Vec<Resource> {
    let iam = &context.spec.iam;
    let human_seconds = i64::from(iam.human_session_hours) * HOUR;
    let auditor_trust = trust(vec![json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", iam.security_account_id)},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": security_external_id(context)}}
    })]);
    let auditor = role(
        context,
        "iam.role.security-auditor",
        "SecurityAuditorRole",
        "Read-only security audit from the security account",
        auditor_trust,
        human_seconds,
        Some("pb-admin"),
        vec![
            "arn:aws:iam::aws:policy/SecurityAudit".to_string(),
            "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess".to_string(),
        ],
    )
    .from_spec("max_session_seconds", "iam.human_session_hours")
    .from_spec("assume_role_policy", "iam.security_account_id");
    let archiver_trust = trust(vec![json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", iam.logs_account_id)},
        "Action": "sts:AssumeRole"
    })]);
    let bucket = &context.spec.observability.logs_bucket_name;
    let archiver = inline(
        role(
            context,
            "iam.role.log-archiver",
            "LogArchiverRole",
            "Write-only delivery to the central log bucket, from the logs account",
            archiver_trust,
            HOUR,
            None,
            Vec::new(),
        )
        .from_spec("assume_role_policy", "iam.logs_account_id")
        .from_spec(
            "inline_policy.write-central-logs",
            "observability.logs_bucket_name",
        ),
        "write-central-logs",
        vec![
            json!({
                "Sid": "WriteOnly",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*")
            }),
            json!({
                "Sid": "BucketLocation",
                "Effect": "Allow",
                "Action": "s3:GetBucketLocation",
                "Resource": format!("arn:aws:s3:::{bucket}")
            }),
        ],
    );
    vec![auditor, archiver]
}

/// A human role's session length and, where the spec decides it, its MFA condition come from
/// the spec.
fn human(role: Resource, mfa_from_spec: bool) -> Resource {
    let role = role.from_spec("max_session_seconds", "iam.human_session_hours");
    if mfa_from_spec {
        role.from_spec("assume_role_policy", "iam.human_mfa_required")
    } else {
        role
    }
}

pub(super) fn human_roles(context: &Context<'_>) -> Vec<Resource> {
    let iam = &context.spec.iam;
    let seconds = i64::from(iam.human_session_hours) * HOUR;
    let mut roles = Vec::new();
    if context.env() == "stg" {
        roles.push(human(
            role(
                context,
                "iam.role.developer",
                "DeveloperRole",
                "Developers (staging only)",
                human_trust(context, iam.human_mfa_required),
                seconds,
                Some("pb-admin"),
                vec!["arn:aws:iam::aws:policy/PowerUserAccess".to_string()],
            ),
            true,
        ));
    }
    roles.push(inline(
        human(
            role(
                context,
                "iam.role.weaviate-admin",
                "WeaviateAdminRole",
                "Weaviate administration (MFA required)",
                human_trust(context, true),
                seconds,
                Some("pb-admin"),
                Vec::new(),
            ),
            false,
        ),
        "weaviate-admin",
        vec![json!({
            "Sid": "WeaviateServices",
            "Effect": "Allow",
            "Action": ["ecs:Describe*", "ecs:List*", "ecs:UpdateService", "ecs:ExecuteCommand",
                       "logs:GetLogEvents", "logs:FilterLogEvents"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/app": "weaviate"}}
        })],
    ));
    // CIS 1.17: a support role for AWS Support.
    roles.push(human(
        role(
            context,
            "iam.role.support",
            "SupportRole",
            "AWS Support cases (CIS 1.17)",
            human_trust(context, iam.human_mfa_required),
            seconds,
            None,
            vec!["arn:aws:iam::aws:policy/AWSSupportAccess".to_string()],
        ),
        true,
    ));
    roles
}
