//! Access from outside the graph's services: workloads through the gateway endpoints, and the
//! security and logs accounts through their cross-account roles and key grants.

use super::{
    CROSS_ACCOUNT_KEY, CROSS_ACCOUNT_ROLE, ECR_LAYERS, ENDPOINT, Out, at, ecr_layer_bucket,
    key_policy,
};
use crate::model::Kind;
use crate::model::LogicalId;
use crate::policy::eval::{Principal, Request};
use crate::spec::Spec;

/// Workloads of the account reach the account's buckets and tables through the gateway
/// endpoints, and ECR's layer bucket (AWS-owned) through the S3 one.
pub(super) fn endpoints(out: &mut Out<'_>) {
    let graph = out.graph;
    let (account, region) = out.place();
    let workload = Principal::Aws(format!("arn:aws:iam::{account}:role/nc/FargateTaskRole"));
    let ours = |request: Request| {
        request
            .with("aws:PrincipalAccount", account.clone())
            .with("aws:ResourceAccount", account.clone())
    };
    for endpoint in graph.of_kind(Kind::VpcEndpoint) {
        if endpoint.str_prop("endpoint_type") != Some("Gateway") {
            continue;
        }
        let service_name = graph.text(endpoint, "service_name").unwrap_or_default();
        let grants = vec![at(endpoint, "policy")];
        if service_name.ends_with(".s3") {
            for bucket in graph.of_kind(Kind::S3Bucket) {
                let object = format!("arn:aws:s3:::{}/object", bucket.name);
                for action in ["s3:GetObject", "s3:PutObject"] {
                    let request = ours(Request::new(workload.clone(), action, object.clone()));
                    out.require(&ENDPOINT, endpoint, false, request, grants.clone());
                }
            }
            let layer = Request::new(
                workload.clone(),
                "s3:GetObject",
                format!("arn:aws:s3:::{}/layer", ecr_layer_bucket(&region)),
            )
            .with("aws:PrincipalAccount", account.clone())
            .with("aws:ResourceAccount", "<AWS-owned account>");
            out.require(&ECR_LAYERS, endpoint, false, layer, grants);
        } else if service_name.ends_with(".dynamodb") {
            for table in graph.of_kind(Kind::DynamoDbTable) {
                let arn = format!("arn:aws:dynamodb:{region}:{account}:table/{}", table.name);
                for action in ["dynamodb:PutItem", "dynamodb:Query"] {
                    let request = ours(Request::new(workload.clone(), action, arn.clone()));
                    out.require(&ENDPOINT, endpoint, false, request, grants.clone());
                }
            }
        }
    }
}

/// The security account assumes SecurityAuditorRole with the agreed ExternalId and audits every
/// key; the logs account assumes LogArchiverRole and decrypts the archive with the logs key.
/// (The other account's own policies must allow its side: outside this account's graph.)
pub(super) fn cross_account(out: &mut Out<'_>, spec: &Spec) {
    let graph = out.graph;
    let security = Principal::Aws(format!(
        "arn:aws:iam::{}:role/security-audit",
        spec.iam.security_account_id
    ));
    let logs = Principal::Aws(format!(
        "arn:aws:iam::{}:role/log-archive",
        spec.iam.logs_account_id
    ));
    let context = crate::modules::Context {
        spec,
        target: graph.target,
    };
    let roles = [
        (
            "iam.role.security-auditor",
            security.clone(),
            Some(crate::modules::security_external_id(&context)),
        ),
        ("iam.role.log-archiver", logs.clone(), None),
    ];
    for (id, principal, external_id) in roles {
        let Some(role) = graph.get(&LogicalId::new(id)) else {
            continue;
        };
        let context: Vec<(&str, String)> = external_id
            .map(|external_id| ("sts:ExternalId", external_id))
            .into_iter()
            .collect();
        out.require_assume(
            &CROSS_ACCOUNT_ROLE,
            role,
            false,
            (principal, role),
            &context,
        );
    }
    for key in graph.of_kind(Kind::KmsKey) {
        let grant = key_policy(graph, key);
        let mut requests: Vec<(Principal, &str)> = vec![
            (security.clone(), "kms:DescribeKey"),
            (security.clone(), "kms:GetKeyPolicy"),
        ];
        if key.id.as_str() == crate::modules::LOGS_KEY {
            requests.push((logs.clone(), "kms:Decrypt"));
        }
        for (principal, action) in requests {
            let request = Request::new(principal, action, graph.arn(key));
            out.require(&CROSS_ACCOUNT_KEY, key, false, request, vec![grant.clone()]);
        }
    }
}
