//! VPC endpoints: gateway endpoints on route tables, interface endpoints in subnets.

use std::collections::BTreeSet;

use aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput;
use aws_sdk_ec2::types::{ResourceType, VpcEndpoint, VpcEndpointType};

use super::observe::Names;
use super::props::{differs, list_of, list_prop, text_props};
use super::waits::{POLL_INTERVAL, sent_unless_gone, until_deleted};
use super::{Created, Ec2Provider, New};
use crate::model::Kind;
use crate::model::{Props, Resource, Value};
use crate::providers::aws::{Live, sent};
use crate::providers::{ProviderError, StepCtx, wait};

/// An endpoint as observed (dead ones are gone), its lists of references ordered as the
/// module orders them.
pub(super) fn observe(endpoint: &VpcEndpoint, names: &Names) -> Option<Live> {
    if !endpoint_is_live(endpoint) {
        return None;
    }
    let endpoint_id = endpoint.vpc_endpoint_id()?;
    Some(Live::new(Kind::VpcEndpoint, endpoint_id, "").props(endpoint_props(endpoint, names)))
}

/// An endpoint's state in lower case: the API model spells the states `Available`, but AWS
/// (and LocalStack) answer `available`.
pub(super) fn endpoint_state(endpoint: &VpcEndpoint) -> String {
    endpoint
        .state()
        .map(|state| state.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Endpoint states after which it is gone or never becomes usable.
pub(super) const ENDPOINT_DEAD_STATES: [&str; 5] =
    ["deleting", "deleted", "failed", "rejected", "expired"];

pub(super) fn endpoint_is_live(endpoint: &VpcEndpoint) -> bool {
    !ENDPOINT_DEAD_STATES.contains(&endpoint_state(endpoint).as_str())
}

fn endpoint_props(endpoint: &VpcEndpoint, names: &Names) -> Props {
    let mut props = text_props([
        ("vpc_id", endpoint.vpc_id()),
        ("service_name", endpoint.service_name()),
    ]);
    let endpoint_type = endpoint
        .vpc_endpoint_type()
        .map_or("Gateway", VpcEndpointType::as_str);
    props.insert("endpoint_type".into(), Value::str(endpoint_type));
    if endpoint_type == VpcEndpointType::Interface.as_str() {
        props.insert("subnet_ids".into(), names.ordered(endpoint.subnet_ids()));
        let groups: Vec<String> = endpoint
            .groups()
            .iter()
            .filter_map(|group| group.group_id().map(str::to_string))
            .collect();
        props.insert("security_group_ids".into(), names.ordered(&groups));
        props.insert(
            "private_dns_enabled".into(),
            Value::Bool(endpoint.private_dns_enabled().unwrap_or(false)),
        );
    } else {
        props.insert(
            "route_table_ids".into(),
            names.ordered(endpoint.route_table_ids()),
        );
    }
    if let Some(document) = endpoint
        .policy_document()
        .and_then(|text| crate::policy::parse(text).ok())
    {
        props.insert("policy".into(), Value::Policy(document));
    }
    props
}

impl Ec2Provider {
    pub(super) async fn converge_endpoint(
        &self,
        resource: &Resource,
        endpoint_id: &str,
        current: &Props,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        // The ids to add and to remove of a list that differs (None: nothing).
        let delta = |name: &str| {
            if !differs(resource, current, name) {
                return (None, None);
            }
            let desired: BTreeSet<String> = list_prop(resource, name).into_iter().collect();
            let live: BTreeSet<String> = list_of(current.get(name)).into_iter().collect();
            let some = |ids: Vec<String>| (!ids.is_empty()).then_some(ids);
            (
                some(desired.difference(&live).cloned().collect()),
                some(live.difference(&desired).cloned().collect()),
            )
        };
        let (add_tables, remove_tables) = delta("route_table_ids");
        let (add_subnets, remove_subnets) = delta("subnet_ids");
        let (add_groups, remove_groups) = delta("security_group_ids");
        let lists = [
            &add_tables,
            &remove_tables,
            &add_subnets,
            &remove_subnets,
            &add_groups,
            &remove_groups,
        ];
        let mut changed = lists.iter().any(|ids| ids.is_some());
        let mut call = self
            .client
            .modify_vpc_endpoint()
            .vpc_endpoint_id(endpoint_id)
            .set_add_route_table_ids(add_tables)
            .set_remove_route_table_ids(remove_tables)
            .set_add_subnet_ids(add_subnets)
            .set_remove_subnet_ids(remove_subnets)
            .set_add_security_group_ids(add_groups)
            .set_remove_security_group_ids(remove_groups);
        if differs(resource, current, "private_dns_enabled")
            && let Some(enabled) = resource.bool_prop("private_dns_enabled")
        {
            changed = true;
            call = call.private_dns_enabled(enabled);
        }
        if differs(resource, current, "policy")
            && let Some(policy) = resource.props.get("policy").and_then(Value::as_policy)
        {
            changed = true;
            call = call.policy_document(policy.to_string());
        }
        if changed {
            sent("ec2:ModifyVpcEndpoint", endpoint_id, call.send()).await?;
        }
        if resource.str_prop("endpoint_type") == Some(VpcEndpointType::Interface.as_str()) {
            self.wait_endpoint(endpoint_id, ctx).await?;
        }
        Ok(())
    }

    /// Waits until an endpoint is available; a failed one is reported with AWS's reason.
    pub(super) async fn wait_endpoint(
        &self,
        endpoint_id: &str,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        wait::until(
            ctx,
            "ec2:DescribeVpcEndpoints",
            &format!("endpoint {endpoint_id} to become available"),
            POLL_INTERVAL,
            || async {
                let call = self
                    .client
                    .describe_vpc_endpoints()
                    .vpc_endpoint_ids(endpoint_id);
                let found = sent("ec2:DescribeVpcEndpoints", endpoint_id, call.send()).await?;
                let Some(endpoint) = found.vpc_endpoints().first() else {
                    return Ok(None);
                };
                let state = endpoint_state(endpoint);
                match state.as_str() {
                    "available" | "" => Ok(Some(())),
                    "failed" | "rejected" | "expired" | "deleted" => {
                        let reason = endpoint
                            .failure_reason()
                            .map(str::to_string)
                            .or_else(|| {
                                endpoint.last_error().map(|error| {
                                    format!(
                                        "{}: {}",
                                        error.code().unwrap_or_default(),
                                        error.message().unwrap_or_default()
                                    )
                                })
                            })
                            .unwrap_or_default();
                        Err(ProviderError::local(
                            "ec2:CreateVpcEndpoint",
                            endpoint_id,
                            format!("endpoint {endpoint_id} is {state}: {reason}"),
                        ))
                    }
                    _ => Ok(None),
                }
            },
        )
        .await
    }

    /// CreateVpcEndpoint with a client token that moves on past dead incarnations.
    pub(super) async fn create_vpc_endpoint(&self, new: &mut New<'_>) -> Created {
        let resource = new.resource;
        let earlier = self.endpoints(new.id_filters()).await?;
        let interface =
            resource.str_prop("endpoint_type") == Some(VpcEndpointType::Interface.as_str());
        let mut call = self
            .creates
            .create_vpc_endpoint()
            .vpc_id(new.text("vpc_id")?)
            .service_name(new.text("service_name")?)
            .vpc_endpoint_type(if interface {
                VpcEndpointType::Interface
            } else {
                VpcEndpointType::Gateway
            })
            .client_token(new.token_past(&earlier, endpoint_is_live))
            .tag_specifications(new.tags(ResourceType::VpcEndpoint));
        if let Some(policy) = resource.props.get("policy").and_then(Value::as_policy) {
            call = call.policy_document(policy.to_string());
        }
        if interface {
            call = call
                .set_subnet_ids(Some(list_prop(resource, "subnet_ids")))
                .set_security_group_ids(Some(list_prop(resource, "security_group_ids")))
                .private_dns_enabled(resource.bool_prop("private_dns_enabled") == Some(true));
        } else {
            call = call.set_route_table_ids(Some(list_prop(resource, "route_table_ids")));
        }
        let created = sent("ec2:CreateVpcEndpoint", new.name(), call.send()).await?;
        // Everything was set in the create call.
        for attribute in [
            "route_table_ids",
            "subnet_ids",
            "security_group_ids",
            "private_dns_enabled",
            "policy",
        ] {
            if let Some(value) = resource.props.get(attribute) {
                new.props.insert(attribute.into(), value.clone());
            }
        }
        Ok(created
            .vpc_endpoint()
            .and_then(VpcEndpoint::vpc_endpoint_id)
            .unwrap_or_default()
            .to_string())
    }

    /// DeleteVpcEndpoints, then waits until it is deleted.
    pub(super) async fn delete_vpc_endpoint(
        &self,
        id: &str,
        ctx: &StepCtx,
    ) -> Result<(), ProviderError> {
        let call = self.client.delete_vpc_endpoints().vpc_endpoint_ids(id);
        let action = "ec2:DeleteVpcEndpoints";
        let Some(output) = sent_unless_gone(action, id, call.send()).await? else {
            return Ok(());
        };
        if let Some(failure) = output.unsuccessful().first() {
            let code = failure.error().and_then(|e| e.code()).unwrap_or_default();
            if !code.ends_with(".NotFound") {
                let message = failure.error().and_then(|e| e.message());
                return Err(ProviderError::local(
                    action,
                    id,
                    format!("{code}: {}", message.unwrap_or_default()),
                ));
            }
        }
        // Interface endpoints release their network interfaces while deleting.
        let describe = || {
            let call = self.client.describe_vpc_endpoints();
            call.vpc_endpoint_ids(id).send()
        };
        let deleted = |found: &DescribeVpcEndpointsOutput| {
            let mut states = found.vpc_endpoints().iter().map(endpoint_state);
            let deleted = states.all(|state| matches!(state.as_str(), "deleted" | "failed"));
            deleted.then_some(())
        };
        let what = ("endpoint", id);
        until_deleted(ctx, "ec2:DescribeVpcEndpoints", what, describe, deleted).await
    }
}
