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

mod accounts;
mod boundaries;
mod roles;
#[cfg(test)]
mod tests;

use serde_json::{Value as Json, json};

use super::{Context, id};
use crate::model::{Kind, LogicalId, Resource};

pub use super::addr::IAM_PATH as PATH;
/// The tag condition of the permission boundaries.
pub const APP_TAG: (&str, &str) = ("app", "neurocipher-pipeline");
/// GitHub Actions' OIDC issuer host.
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";

/// Seconds in an hour.
const HOUR: i64 = 3600;
pub(super) fn expand(context: &Context<'_>) -> Vec<Resource> {
    let mut resources = vec![
        boundaries::boundary(
            context,
            "pb-etl",
            "ETL permission boundary",
            boundaries::etl_statements(context),
        ),
        boundaries::boundary(
            context,
            "pb-fargate",
            "Fargate permission boundary",
            boundaries::fargate_statements(context),
        ),
        boundaries::boundary(
            context,
            "pb-admin",
            "Administration permission boundary: infrastructure only, no data",
            boundaries::admin_statements(context),
        ),
    ];
    let service_seconds = i64::from(context.spec.iam.service_session_hours) * HOUR;
    for role in &roles::SERVICE_ROLES {
        let boundary_arn = policy_arn(context, role.boundary);
        let mut managed: Vec<String> = role.managed.iter().map(ToString::to_string).collect();
        managed.push(boundary_arn.clone());
        let mut resource = roles::role(
            context,
            role.id,
            role.name,
            role.description,
            roles::trust(vec![roles::service_trust(role.service)]),
            service_seconds,
            Some(role.boundary),
            managed,
        );
        resource = resource.from_spec("max_session_seconds", "iam.service_session_hours");
        if role.name == "PipelineExecutionRole" {
            resource = roles::inline(resource, "invoke-pipeline", roles::invoke_pipeline(context));
        }
        resources.push(resource);
    }
    resources.extend(roles::cross_account_roles(context));
    resources.extend(roles::human_roles(context));
    if context.spec.iam.enable_github_oidc {
        resources.extend(accounts::github(context));
    }
    resources.extend(accounts::account_settings(context));
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
            .replace_on(&["type"])
            .declared_by("iam.enable_access_analyzer"),
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
/// A policy document of these statements.
fn document(statements: Vec<Json>) -> Json {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The ExternalId the security account passes to assume SecurityAuditorRole.
#[must_use]
pub fn security_external_id(context: &Context<'_>) -> String {
    format!("nc-provision-{}-security-audit", context.env())
}
