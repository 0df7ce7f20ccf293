//! The VPC endpoints: S3 and DynamoDB gateway endpoints on the private route tables, the
//! other services' interface endpoints in the app subnets behind one security group, and a
//! policy on each that admits only the account's principals.

use serde_json::json;

use crate::model::{Kind, LogicalId, Ports, Protocol, Resource, SgRule, Value};
use crate::modules::{Context, id};

use super::layout::{Tier, Zone, endpoint_id, route_table_id, subnet_id};
use super::{ENDPOINTS_SECURITY_GROUP, VPC, strings, tags};

/// A gateway endpoint's or interface endpoint's service.
struct EndpointService {
    /// The service name's last part (`com.amazonaws.{region}.{name}`).
    name: &'static str,
    /// The IAM action prefix the policy admits.
    actions: &'static str,
    /// Gateway (route tables) or interface (ENIs in subnets).
    gateway: bool,
}

const ENDPOINT_SERVICES: [EndpointService; 7] = [
    EndpointService {
        name: "s3",
        actions: "s3:*",
        gateway: true,
    },
    EndpointService {
        name: "dynamodb",
        actions: "dynamodb:*",
        gateway: true,
    },
    EndpointService {
        name: "kms",
        actions: "kms:*",
        gateway: false,
    },
    EndpointService {
        name: "secretsmanager",
        actions: "secretsmanager:*",
        gateway: false,
    },
    EndpointService {
        name: "sts",
        actions: "sts:*",
        gateway: false,
    },
    EndpointService {
        name: "logs",
        actions: "logs:*",
        gateway: false,
    },
    EndpointService {
        name: "monitoring",
        actions: "cloudwatch:*",
        gateway: false,
    },
];

/// The endpoints security group and one endpoint per service, in `zones`.
pub(super) fn endpoints(context: &Context<'_>, zones: &[Zone]) -> Vec<Resource> {
    let vpc_ref = || Value::reference(&id(VPC), "id");
    let mut resources = Vec::new();
    resources.push(endpoints_security_group(context));
    let mut private_tables: Vec<LogicalId> = zones
        .iter()
        .flat_map(|zone| [Tier::App, Tier::Data].map(|tier| route_table_id(tier, &zone.letter)))
        .collect();
    private_tables.sort();
    let mut app_subnets: Vec<LogicalId> = zones
        .iter()
        .map(|zone| subnet_id(Tier::App, &zone.letter))
        .collect();
    app_subnets.sort();
    for service in &ENDPOINT_SERVICES {
        let endpoint_id = endpoint_id(service.name);
        let mut endpoint = Resource::new(
            endpoint_id.as_str(),
            Kind::VpcEndpoint,
            format!("com.amazonaws.{}.{}", context.target.region, service.name),
        )
        .prop("vpc_id", vpc_ref())
        .prop(
            "service_name",
            format!("com.amazonaws.{}.{}", context.target.region, service.name),
        )
        .prop("policy", Value::Policy(endpoint_policy(context, service)))
        .prop(
            "tags",
            tags(
                context,
                &endpoint_id,
                &format!("nc-{}-{}-endpoint", context.env(), service.name),
                None,
            ),
        )
        .replace_on(&["vpc_id", "service_name", "endpoint_type"]);
        endpoint = if service.gateway {
            endpoint
                .prop("endpoint_type", "Gateway")
                .prop("route_table_ids", references(&private_tables))
        } else {
            endpoint
                .prop("endpoint_type", "Interface")
                .prop("subnet_ids", references(&app_subnets))
                .prop(
                    "security_group_ids",
                    references(&[id(ENDPOINTS_SECURITY_GROUP)]),
                )
                .prop("private_dns_enabled", true)
        };
        resources.push(endpoint);
    }
    resources
}

fn endpoints_security_group(context: &Context<'_>) -> Resource {
    let group_id = id(ENDPOINTS_SECURITY_GROUP);
    let name = format!("nc-{}-vpc-endpoints", context.env());
    Resource::new(ENDPOINTS_SECURITY_GROUP, Kind::SecurityGroup, name.clone())
        .prop("vpc_id", Value::reference(&id(VPC), "id"))
        .prop("group_name", name.clone())
        .prop(
            "description",
            "HTTPS from the VPC to the interface endpoints (nc-provision)",
        )
        .prop(
            "ingress",
            strings(&[SgRule::new(
                Protocol::Tcp,
                Ports::one(443),
                context.spec.vpc.cidr.to_string(),
            )]),
        )
        .prop("egress", Value::List(Vec::new()))
        .prop("tags", tags(context, &group_id, &name, None))
        .replace_on(&["vpc_id", "group_name", "description"])
        .from_spec("ingress", "vpc.cidr")
}

/// Admits only the account's own principals (and for S3 and DynamoDB only the account's own
/// buckets and tables): a data perimeter on every endpoint. The S3 endpoint also admits reads
/// of ECR's AWS-owned layer bucket `prod-{region}-starport-layer-bucket`, or workloads could
/// not pull images (ECR user guide, vpc-endpoints: minimum Amazon S3 bucket permissions).
///
/// Written without `Version`, like AWS's own default endpoint policy: it uses no policy
/// variables, so the version changes nothing, and LocalStack drops the field when it stores
/// an endpoint policy, which would otherwise show as drift forever.
fn endpoint_policy(context: &Context<'_>, service: &EndpointService) -> serde_json::Value {
    let account = &context.target.account_id;
    let mut condition = json!({"aws:PrincipalAccount": account});
    if service.gateway {
        condition["aws:ResourceAccount"] = json!(account);
    }
    let mut statements = vec![json!({
        "Sid": "AccountPrincipalsOnly",
        "Effect": "Allow",
        "Principal": "*",
        "Action": service.actions,
        "Resource": "*",
        "Condition": {"StringEquals": condition}
    })];
    if service.name == "s3" {
        statements.push(json!({
            "Sid": "EcrImageLayers",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!(
                "arn:aws:s3:::{}/*",
                crate::policy::integrations::ecr_layer_bucket(&context.target.region)
            ),
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account}}
        }));
    }
    json!({ "Statement": statements })
}

fn references(ids: &[LogicalId]) -> Value {
    Value::List(ids.iter().map(|id| Value::reference(id, "id")).collect())
}
