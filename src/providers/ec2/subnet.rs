//! Subnets, with their route table and network ACL associations.

use aws_sdk_ec2::types::{AttributeBooleanValue, NetworkAcl, ResourceType, RouteTable, Subnet};

use super::props::{differs, text, text_props};
use super::snapshot::filter;
use super::{Created, Ec2Provider, New};
use crate::model::Kind;
use crate::model::{Outputs, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, aws_error, sent};

/// A subnet as observed, with its associations from the tables and ACLs read.
pub(super) fn observe(subnet: &Subnet, tables: &[RouteTable], acls: &[NetworkAcl]) -> Option<Live> {
    let subnet_id = subnet.subnet_id()?;
    let (props, outputs) = subnet_props(subnet, tables, acls);
    Some(
        Live::new(Kind::Subnet, subnet_id, "")
            .props(props)
            .outputs(outputs),
    )
}

fn subnet_props(subnet: &Subnet, tables: &[RouteTable], acls: &[NetworkAcl]) -> (Props, Outputs) {
    let subnet_id = subnet.subnet_id().unwrap_or_default();
    let mut props = Props::new();
    let mut outputs = Outputs::new();
    props.extend(text_props([
        ("vpc_id", subnet.vpc_id()),
        ("cidr", subnet.cidr_block()),
        ("availability_zone", subnet.availability_zone()),
    ]));
    props.insert(
        "map_public_ip_on_launch".into(),
        Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false)),
    );
    // An explicit association; none means the VPC's main route table.
    let association = tables.iter().find_map(|table| {
        table
            .associations()
            .iter()
            .find(|association| {
                association.subnet_id() == Some(subnet_id) && association.main() != Some(true)
            })
            .map(|association| (table, association))
    });
    match association {
        Some((table, association)) => {
            props.extend(text_props([("route_table_id", table.route_table_id())]));
            if let Some(association_id) = association.route_table_association_id() {
                outputs.insert(
                    "route_table_association_id".into(),
                    association_id.to_string(),
                );
            }
        }
        None => {
            props.insert("route_table_id".into(), Value::str(""));
        }
    }
    let acl = acls.iter().find_map(|acl| {
        acl.associations()
            .iter()
            .find(|association| association.subnet_id() == Some(subnet_id))
            .map(|association| (acl, association))
    });
    if let Some((acl, association)) = acl {
        props.extend(text_props([("network_acl_id", acl.network_acl_id())]));
        if let Some(association_id) = association.network_acl_association_id() {
            outputs.insert(
                "network_acl_association_id".into(),
                association_id.to_string(),
            );
        }
    }
    if let Some(arn) = subnet.subnet_arn() {
        outputs.insert("arn".into(), arn.to_string());
    }
    (props, outputs)
}

impl Ec2Provider {
    pub(super) async fn converge_subnet(
        &self,
        resource: &Resource,
        subnet_id: &str,
        current: &Props,
        outputs: &mut Outputs,
    ) -> Result<(), ProviderError> {
        if differs(resource, current, "map_public_ip_on_launch") {
            let call = self
                .client
                .modify_subnet_attribute()
                .subnet_id(subnet_id)
                .map_public_ip_on_launch(
                    AttributeBooleanValue::builder()
                        .value(resource.bool_prop("map_public_ip_on_launch") == Some(true))
                        .build(),
                );
            sent("ec2:ModifySubnetAttribute", subnet_id, call.send()).await?;
        }
        if differs(resource, current, "route_table_id") {
            let table_id = text(resource, "route_table_id")?;
            let association = match outputs.get("route_table_association_id") {
                Some(association_id) => self
                    .client
                    .replace_route_table_association()
                    .association_id(association_id)
                    .route_table_id(&table_id)
                    .send()
                    .await
                    .map_err(|error| {
                        aws_error("ec2:ReplaceRouteTableAssociation", subnet_id, error)
                    })?
                    .new_association_id()
                    .map(str::to_string),
                None => self
                    .client
                    .associate_route_table()
                    .route_table_id(&table_id)
                    .subnet_id(subnet_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("ec2:AssociateRouteTable", subnet_id, error))?
                    .association_id()
                    .map(str::to_string),
            };
            if let Some(association) = association {
                outputs.insert("route_table_association_id".into(), association);
            }
        }
        if differs(resource, current, "network_acl_id") {
            let acl_id = text(resource, "network_acl_id")?;
            let association_id = match outputs.get("network_acl_association_id") {
                Some(association_id) => association_id.clone(),
                // A new subnet sits in the default network ACL: find that association.
                None => self
                    .acls(vec![filter("association.subnet-id", [subnet_id])])
                    .await?
                    .iter()
                    .flat_map(NetworkAcl::associations)
                    .find(|association| association.subnet_id() == Some(subnet_id))
                    .and_then(|association| association.network_acl_association_id())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        ProviderError::local(
                            "ec2:ReplaceNetworkAclAssociation",
                            subnet_id,
                            "the subnet has no network ACL association",
                        )
                    })?,
            };
            let call = self
                .client
                .replace_network_acl_association()
                .association_id(association_id)
                .network_acl_id(&acl_id);
            let replaced = sent("ec2:ReplaceNetworkAclAssociation", subnet_id, call.send()).await?;
            if let Some(association) = replaced.new_association_id() {
                outputs.insert("network_acl_association_id".into(), association.to_string());
            }
        }
        Ok(())
    }

    /// CreateSubnet (no client token: looked up by tag on a retry).
    pub(super) async fn create_subnet(&self, new: &mut New<'_>) -> Created {
        let [vpc_id, cidr, zone] = new.texts(["vpc_id", "cidr", "availability_zone"])?;
        let call = self
            .creates
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(cidr)
            .availability_zone(zone)
            .tag_specifications(new.tags(ResourceType::Subnet));
        let created = sent("ec2:CreateSubnet", new.name(), call.send()).await?;
        let subnet = created.subnet().ok_or_else(|| {
            ProviderError::local("ec2:CreateSubnet", new.name(), "no subnet in the answer")
        })?;
        new.props.insert(
            "map_public_ip_on_launch".into(),
            Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false)),
        );
        new.props.insert("route_table_id".into(), Value::str(""));
        if let Some(arn) = subnet.subnet_arn() {
            new.outputs.insert("arn".into(), arn.to_string());
        }
        Ok(subnet.subnet_id().unwrap_or_default().to_string())
    }
}
