//! The iam-baseline module: permission boundaries, service / cross-account / human roles, the
//! GitHub Actions OIDC provider and its deploy role, the CIS extras (password policy, support
//! role, account-level S3 Block Public Access) and IAM Access Analyzer.
//!
//! Names. IAM names are account-global. The seeds give every environment its own account (and
//! the spec may pin it), so roles and policies carry the plain names of SEC-002
//! (`LambdaETLRole`, `pb-etl`, ...) under the path `/nc/`, which keeps ARNs predictable for
//! trust and key policies. Should two environments ever share an account, the second one's
//! plan shows each role as a `conflict` ("managed by nc-provision for environment stg"), never
//! an overwrite, because ownership is read from the `nc:env` tag.
//!
//! Global resources (everything here but the analyzer) are created and updated only from the
//! spec's primary region; elsewhere (DR) they are verified read-only.
//!
//! No IAM users and no access keys are ever created.

use serde_json::{Value as Json, json};

use super::{Context, addr, id, region_code};
use crate::model::Kind;
use crate::model::{LogicalId, Resource, Value, policy_ref};

pub use super::addr::{FARGATE_TASK_ROLE, IAM_PATH as PATH, LAMBDA_ETL_ROLE};
/// The tag condition of the permission boundaries.
pub const APP_TAG: (&str, &str) = ("app", "neurocipher-pipeline");
/// GitHub Actions' OIDC issuer host.
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";

const HOUR: i64 = 3600;

/// A service role: trusted principal service, boundary, attached policies.
struct ServiceRole {
    id: &'static str,
    name: &'static str,
    service: &'static str,
    boundary: &'static str,
    managed: &'static [&'static str],
    description: &'static str,
}

const SERVICE_ROLES: [ServiceRole; 4] = [
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

pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let mut resources = vec![
        boundary(
            context,
            "pb-etl",
            "ETL permission boundary",
            etl_statements(context),
        ),
        boundary(
            context,
            "pb-fargate",
            "Fargate permission boundary",
            fargate_statements(context),
        ),
        boundary(
            context,
            "pb-admin",
            "Administration permission boundary: infrastructure only, no data",
            admin_statements(context),
        ),
    ];
    let service_seconds = i64::from(context.spec.iam.service_session_hours) * HOUR;
    for role in &SERVICE_ROLES {
        let boundary_arn = policy_arn(context, role.boundary);
        let mut managed: Vec<String> = role.managed.iter().map(ToString::to_string).collect();
        managed.push(boundary_arn.clone());
        let mut resource = self::role(
            context,
            role.id,
            role.name,
            role.description,
            trust(vec![service_trust(role.service)]),
            service_seconds,
            Some(role.boundary),
            managed,
        );
        if role.name == "PipelineExecutionRole" {
            resource = inline(resource, "invoke-pipeline", invoke_pipeline(context));
        }
        resources.push(resource);
    }
    resources.extend(cross_account_roles(context));
    resources.extend(human_roles(context));
    if context.spec.iam.enable_github_oidc {
        resources.extend(github(context));
    }
    resources.extend(account_settings(context));
    if context.spec.iam.enable_access_analyzer {
        let analyzer_id = "iam.access_analyzer";
        resources.push(
            Resource::new(
                analyzer_id,
                Kind::AccessAnalyzer,
                format!("nc-{}-account", context.env()),
            )
            .prop("type", "ACCOUNT")
            .prop("tags", context.tags(analyzer_id))
            .replace_on(&["type"]),
        );
    }
    resources
}

/// The ARN of one of the tool's managed policies (deterministic, so lists stay sorted).
#[must_use]
pub fn policy_arn(context: &Context<'_>, name: &str) -> String {
    format!(
        "arn:aws:iam::{}:policy{PATH}{name}",
        context.target.account_id
    )
}

/// The logical id of a managed policy.
#[must_use]
pub fn policy_id(name: &str) -> LogicalId {
    id(&format!("iam.policy.{name}"))
}

fn boundary(
    context: &Context<'_>,
    name: &str,
    description: &str,
    statements: Vec<Json>,
) -> Resource {
    let policy_id = policy_id(name);
    Resource::new(policy_id.as_str(), Kind::IamPolicy, name)
        .prop("path", PATH)
        .prop("policy", Value::Policy(document(statements)))
        .prop("tags", context.tags(policy_id.as_str()))
        .create_input(
            "description",
            format!("{description} ({}; managed by nc-provision)", context.env()),
        )
        .replace_on(&["path"])
        .global()
}

#[expect(clippy::too_many_arguments, reason = "one call per role reads best")]
fn role(
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
        .replace_on(&["path"])
        .global();
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
fn inline(mut resource: Resource, name: &str, statements: Vec<Json>) -> Resource {
    if let Some(Value::List(names)) = resource.props.get_mut("inline_policy_names") {
        names.push(Value::str(name));
        names.sort_by(|left, right| left.as_str().cmp(&right.as_str()));
    }
    resource.prop(
        &format!("inline_policy.{name}"),
        Value::Policy(document(statements)),
    )
}

fn document(statements: Vec<Json>) -> Json {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn trust(statements: Vec<Json>) -> Json {
    document(statements)
}

fn service_trust(service: &str) -> Json {
    json!({
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole"
    })
}

/// Trust of a human role: the account's own principals, with MFA when required.
fn human_trust(context: &Context<'_>, mfa: bool) -> Json {
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

/// Every name (primary and DR) of a data bucket: the boundaries are global, so they must be
/// the same whichever region expands them.
fn bucket_names(context: &Context<'_>, suffix: &str) -> Vec<String> {
    let base = format!("nc-dp-{}-{suffix}", context.env());
    let mut names = vec![base.clone()];
    if let Some(dr) = &context.spec.environment.dr_region {
        names.push(format!("{base}-{}", region_code(dr)));
    }
    names
}

fn bucket_suffix(context: &Context<'_>, wanted: &str) -> Option<String> {
    context
        .spec
        .data
        .buckets
        .iter()
        .find(|suffix| suffix.starts_with(wanted))
        .cloned()
}

/// Object ARNs under `prefix` in the raw or norm bucket, every region.
fn objects(context: &Context<'_>, bucket: &str, prefix: &str) -> Vec<String> {
    bucket_suffix(context, bucket)
        .map(|suffix| {
            bucket_names(context, &suffix)
                .into_iter()
                .map(|name| format!("arn:aws:s3:::{name}/{prefix}*"))
                .collect()
        })
        .unwrap_or_default()
}

fn buckets(context: &Context<'_>) -> Vec<String> {
    ["raw", "norm"]
        .iter()
        .filter_map(|bucket| bucket_suffix(context, bucket))
        .flat_map(|suffix| bucket_names(context, &suffix))
        .map(|name| format!("arn:aws:s3:::{name}"))
        .collect()
}

/// KMS use of the env's data key: its ARN (a reference, resolved at plan time) in the primary
/// region, and the same alias in the DR region (a DR rebuild makes a new key there).
fn data_key_statements(context: &Context<'_>, actions: &[&str]) -> Vec<Json> {
    let mut statements = vec![json!({
        "Sid": "DataKey",
        "Effect": "Allow",
        "Action": actions,
        "Resource": policy_ref(&addr::data_key(), "arn")
    })];
    if let Some(dr) = &context.spec.environment.dr_region {
        statements.push(json!({
            "Sid": "DataKeyDrRegion",
            "Effect": "Allow",
            "Action": actions,
            "Resource": format!("arn:aws:kms:{dr}:{}:key/*", context.target.account_id),
            "Condition": {"ForAnyValue:StringEquals": {
                "kms:ResourceAliases": format!("alias/nc-dp-data-{}", context.env())
            }}
        }));
    }
    statements
}

fn app_condition() -> Json {
    json!({"StringEquals": {format!("aws:ResourceTag/{}", APP_TAG.0): APP_TAG.1}})
}

fn log_statement(context: &Context<'_>) -> Json {
    json!({
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": format!("arn:aws:logs:*:{}:log-group:*", context.target.account_id)
    })
}

/// pb-etl: read raw `ingest/`, write norm `normalized/`, the data key, logs, and the
/// pipeline's own tagged resources.
fn etl_statements(context: &Context<'_>) -> Vec<Json> {
    let mut statements = vec![
        json!({
            "Sid": "ReadRawIngest",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": objects(context, "raw", "ingest/")
        }),
        json!({
            "Sid": "WriteNormalized",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": objects(context, "norm", "normalized/")
        }),
        json!({
            "Sid": "ListDesignatedPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": buckets(context),
            "Condition": {"StringLike": {"s3:prefix": ["ingest/*", "normalized/*"]}}
        }),
        log_statement(context),
        json!({
            "Sid": "PipelineResources",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction", "dynamodb:GetItem", "dynamodb:PutItem",
                       "dynamodb:Query", "dynamodb:UpdateItem"],
            "Resource": "*",
            "Condition": app_condition()
        }),
    ];
    statements.extend(data_key_statements(
        context,
        &[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:GenerateDataKey*",
            "kms:DescribeKey",
        ],
    ));
    statements
}

/// pb-fargate: S3 on the designated prefixes, the data key, its secrets and table queries.
fn fargate_statements(context: &Context<'_>) -> Vec<Json> {
    let mut resources = objects(context, "raw", "ingest/");
    resources.extend(objects(context, "norm", "normalized/"));
    let mut statements = vec![
        json!({
            "Sid": "DesignatedPrefixes",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": resources
        }),
        json!({
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": format!("arn:aws:secretsmanager:*:{}:secret:*", context.target.account_id),
            "Condition": app_condition()
        }),
        json!({
            "Sid": "DocumentsQuery",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": format!(
                "arn:aws:dynamodb:*:{}:table/nc-dp-{}-documents",
                context.target.account_id,
                context.env()
            )
        }),
        log_statement(context),
    ];
    statements.extend(data_key_statements(
        context,
        &[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:GenerateDataKey*",
            "kms:DescribeKey",
        ],
    ));
    statements
}

/// pb-admin: infrastructure services only, with an explicit deny on the data itself.
fn admin_statements(context: &Context<'_>) -> Vec<Json> {
    let mut data = Vec::new();
    for bucket in ["raw", "norm"] {
        data.extend(objects(context, bucket, ""));
    }
    vec![
        json!({
            "Sid": "Infrastructure",
            "Effect": "Allow",
            "Action": ["ec2:*", "elasticloadbalancing:*", "ecs:*", "lambda:*", "logs:*",
                       "cloudwatch:*", "cloudtrail:*", "config:*", "guardduty:*",
                       "securityhub:*", "sns:*", "kms:Describe*", "kms:List*", "kms:Get*",
                       "iam:Get*", "iam:List*", "s3:GetBucket*", "s3:ListAllMyBuckets",
                       "s3:PutBucket*", "dynamodb:Describe*", "dynamodb:List*",
                       "support:*", "access-analyzer:*", "sts:GetCallerIdentity"],
            "Resource": "*"
        }),
        json!({
            "Sid": "DenyData",
            "Effect": "Deny",
            "Action": ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*",
                       "s3:RestoreObject", "kms:Decrypt", "kms:GenerateDataKey*",
                       "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
                       "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem",
                       "dynamodb:DeleteItem"],
            "Resource": data.into_iter().chain([
                format!("arn:aws:dynamodb:*:{}:table/nc-dp-{}-documents", context.target.account_id, context.env()),
                format!("arn:aws:kms:*:{}:key/*", context.target.account_id),
            ]).collect::<Vec<_>>()
        }),
    ]
}

fn invoke_pipeline(context: &Context<'_>) -> Vec<Json> {
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

fn cross_account_roles(context: &Context<'_>) -> Vec<Resource> {
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
    );
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

/// The ExternalId the security account passes to assume SecurityAuditorRole.
#[must_use]
pub fn security_external_id(context: &Context<'_>) -> String {
    format!("nc-provision-{}-security-audit", context.env())
}

fn human_roles(context: &Context<'_>) -> Vec<Resource> {
    let iam = &context.spec.iam;
    let seconds = i64::from(iam.human_session_hours) * HOUR;
    let mut roles = Vec::new();
    if context.env() == "stg" {
        roles.push(role(
            context,
            "iam.role.developer",
            "DeveloperRole",
            "Developers (staging only)",
            human_trust(context, iam.human_mfa_required),
            seconds,
            Some("pb-admin"),
            vec!["arn:aws:iam::aws:policy/PowerUserAccess".to_string()],
        ));
    }
    roles.push(inline(
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
    roles.push(role(
        context,
        "iam.role.support",
        "SupportRole",
        "AWS Support cases (CIS 1.17)",
        human_trust(context, iam.human_mfa_required),
        seconds,
        None,
        vec!["arn:aws:iam::aws:policy/AWSSupportAccess".to_string()],
    ));
    roles
}

fn github(context: &Context<'_>) -> Vec<Resource> {
    let iam = &context.spec.iam;
    let provider_id = id("iam.oidc.github");
    let provider = Resource::new(
        provider_id.as_str(),
        Kind::IamOidcProvider,
        GITHUB_OIDC_HOST,
    )
    .prop("url", GITHUB_OIDC_HOST)
    .prop(
        "client_ids",
        Value::List(vec![Value::str("sts.amazonaws.com")]),
    )
    .prop("tags", context.tags(provider_id.as_str()))
    .create_input(
        "thumbprints",
        Value::List(vec![
            Value::str("6938fd4d98bab03faadb97b34396831e3780aea1"),
            Value::str("1c58a3a8518e8759bf075b76b750d4f2df264fcd"),
        ]),
    )
    .replace_on(&["url"])
    .global();
    let org = iam.github_org.as_deref().unwrap_or_default();
    let repo = iam.github_repo.as_deref().unwrap_or_default();
    let deploy_trust = trust(vec![json!({
        "Effect": "Allow",
        "Principal": {"Federated": policy_ref(&provider_id, "arn")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {format!("{GITHUB_OIDC_HOST}:aud"): "sts.amazonaws.com"},
            "StringLike": {format!("{GITHUB_OIDC_HOST}:sub"): format!("repo:{org}/{repo}:*")}
        }
    })]);
    let deploy = role(
        context,
        "iam.role.github-deploy",
        "GitHubDeployRole",
        "GitHub Actions deployments (OIDC)",
        deploy_trust,
        HOUR,
        Some("pb-admin"),
        vec!["arn:aws:iam::aws:policy/PowerUserAccess".to_string()],
    );
    vec![provider, deploy]
}

/// CIS extras: the password policy and account-level S3 Block Public Access.
fn account_settings(context: &Context<'_>) -> Vec<Resource> {
    vec![
        Resource::new("iam.password_policy", Kind::IamPasswordPolicy, "account")
            .prop("minimum_password_length", 14)
            .prop("require_symbols", true)
            .prop("require_numbers", true)
            .prop("require_uppercase_characters", true)
            .prop("require_lowercase_characters", true)
            .prop("allow_users_to_change_password", true)
            .prop("max_password_age", 90)
            .prop("password_reuse_prevention", 24)
            .prop("hard_expiry", false)
            .global(),
        Resource::new(
            "s3.account_public_access_block",
            Kind::S3AccountPublicAccessBlock,
            context.target.account_id.clone(),
        )
        .prop("block_public_acls", true)
        .prop("ignore_public_acls", true)
        .prop("block_public_policy", true)
        .prop("restrict_public_buckets", true)
        .global(),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::DesiredGraph;
    use crate::model::Target;

    fn expand_env(env: &str, primary: bool) -> DesiredGraph {
        let spec = crate::spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("specs"), env)
            .expect("shipped spec");
        let target = Target {
            env: env.into(),
            region: if primary { "us-east-1" } else { "ca-central-1" }.into(),
            account_id: "123456789012".into(),
            primary_region: primary,
            availability_zones: vec!["us-east-1a".into(), "us-east-1b".into()],
        };
        crate::modules::expand(&spec, &target).expect("graph")
    }

    fn role_names(graph: &DesiredGraph) -> Vec<&str> {
        graph
            .resources()
            .iter()
            .filter(|r| r.kind == Kind::IamRole)
            .map(|r| r.name.as_str())
            .collect()
    }

    #[test]
    fn each_environment_gets_its_roles_sessions_and_providers() {
        let cases = [
            (
                "dev: no DeveloperRole, no OIDC, 8 h humans",
                "dev",
                false,
                false,
                8 * HOUR,
            ),
            (
                "stg: DeveloperRole, OIDC, 4 h humans",
                "stg",
                true,
                true,
                4 * HOUR,
            ),
            (
                "prod: no DeveloperRole, OIDC, 1 h humans",
                "prod",
                false,
                true,
                HOUR,
            ),
        ];
        for (reason, env, developer, oidc, human) in cases {
            let graph = expand_env(env, true);
            let names = role_names(&graph);
            assert_eq!(names.contains(&"DeveloperRole"), developer, "{reason}");
            assert_eq!(names.contains(&"GitHubDeployRole"), oidc, "{reason}");
            assert_eq!(
                graph.get(&id("iam.oidc.github")).is_some(),
                oidc,
                "{reason}"
            );
            let weaviate = graph.get(&id("iam.role.weaviate-admin")).expect("weaviate");
            assert_eq!(
                weaviate.int_prop("max_session_seconds"),
                Some(human),
                "{reason}"
            );
            let etl = graph.get(&id(LAMBDA_ETL_ROLE)).expect("etl");
            assert_eq!(
                etl.int_prop("max_session_seconds"),
                Some(12 * HOUR),
                "{reason}"
            );
            for resource in graph.resources() {
                // IAM and the account-wide settings are global; everything else is regional,
                // the vpc module's flow-log role included (each region's VPC gets its own).
                let global_kind = resource.kind.service() == crate::model::Service::Iam
                    || resource.kind == Kind::S3AccountPublicAccessBlock;
                let regional = !global_kind || resource.id.as_str().starts_with("vpc.");
                assert_eq!(resource.global, !regional, "{reason}: {}", resource.id);
            }
            assert!(
                graph
                    .resources()
                    .iter()
                    .all(|r| !r.kind.as_str().contains("user")),
                "no IAM users ever"
            );
        }
    }

    #[test]
    fn the_graph_orders_key_then_boundary_then_role_then_key_policy() {
        let graph = expand_env("stg", true);
        let position = |text: &str| {
            graph
                .resources()
                .iter()
                .position(|r| r.id.as_str() == text)
                .unwrap_or_else(|| panic!("{text}"))
        };
        assert!(position("kms.key.data") < position("iam.policy.pb-etl"));
        assert!(position("iam.policy.pb-etl") < position(LAMBDA_ETL_ROLE));
        assert!(position(LAMBDA_ETL_ROLE) < position("kms.key_policy.data"));
        assert!(position(FARGATE_TASK_ROLE) < position("kms.key_policy.data"));
        assert!(position("iam.oidc.github") < position("iam.role.github-deploy"));
    }

    #[test]
    fn global_documents_are_the_same_whichever_region_expands_them() {
        let primary = expand_env("prod", true);
        let dr = expand_env("prod", false);
        for resource in primary.resources().iter().filter(|r| r.global) {
            let other = dr.get(&resource.id).expect("same resources in DR");
            assert_eq!(resource.props, other.props, "{}", resource.id);
        }
        let boundary = primary.get(&id("iam.policy.pb-etl")).expect("pb-etl");
        let text = boundary.props["policy"].to_json().to_string();
        assert!(text.contains("nc-dp-prod-raw-cac1/ingest/*"), "{text}");
        assert!(
            text.contains("arn:aws:kms:ca-central-1:123456789012:key/*"),
            "{text}"
        );
    }

    #[test]
    fn the_analyzer_is_regional_and_can_be_turned_off() {
        let graph = expand_env("stg", true);
        let analyzer = graph
            .get(&id("iam.access_analyzer"))
            .expect("on by default");
        assert!(!analyzer.global);
        assert_eq!(analyzer.name, "nc-stg-account");

        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let text = std::fs::read_to_string(root.join("stg.toml")).expect("stg spec");
        let path = Path::new("specs/stg.toml");
        let off = text.replacen(
            "# enable_access_analyzer = true",
            "enable_access_analyzer = false",
            1,
        );
        let spec = crate::spec::parse(path, &off).expect("valid");
        let target = Target {
            env: "stg".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            primary_region: true,
            availability_zones: vec!["us-east-1a".into(), "us-east-1b".into()],
        };
        let graph = crate::modules::expand(&spec, &target).expect("graph");
        assert!(graph.get(&id("iam.access_analyzer")).is_none());
        let wrong = text.replacen(
            "# enable_access_analyzer = true",
            "enable_access_analyzer = \"no\"",
            1,
        );
        let errors = crate::spec::parse(path, &wrong).expect_err("a string is refused");
        assert!(
            errors.to_string().contains("enable_access_analyzer"),
            "{errors}"
        );
    }
}
