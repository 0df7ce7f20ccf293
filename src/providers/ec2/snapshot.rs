//! The read of everything: one Describe per type, batched and flat in the number of
//! resources, and the lookup of one resource by its `nc:id` tag.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    Address, AttributeBooleanValue, Filter, FlowLog, InternetGateway, NatGateway, NetworkAcl,
    RouteTable, SecurityGroup, Subnet, Vpc, VpcAttributeName, VpcEndpoint,
};

use super::Ec2Provider;
use super::observe::assemble;
use super::tags::tag;
use crate::model::{Kind, LogicalId, Observed, Resource, TAG_ENV, TAG_ID};
use crate::providers::ProviderError;
use crate::providers::aws::sent;

/// Everything one observe read, before it is matched to logical ids.
#[derive(Debug, Default, Clone)]
pub(super) struct Snapshot {
    pub(super) vpcs: Vec<Vpc>,
    pub(super) subnets: Vec<Subnet>,
    pub(super) gateways: Vec<InternetGateway>,
    pub(super) addresses: Vec<Address>,
    pub(super) nats: Vec<NatGateway>,
    pub(super) tables: Vec<RouteTable>,
    pub(super) endpoints: Vec<VpcEndpoint>,
    pub(super) flow_logs: Vec<FlowLog>,
    pub(super) groups: Vec<SecurityGroup>,
    pub(super) acls: Vec<NetworkAcl>,
    /// DNS support and hostnames of the VPC matched to the desired one, by VPC id.
    pub(super) dns: BTreeMap<String, (bool, bool)>,
}

pub(super) fn filter<I, S>(name: &str, values: I) -> Filter
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// The filters of one of a VPC's resources: in `vpc_id`, with `name` = `value`.
pub(super) fn in_vpc(vpc_id: &str, name: &str, value: &str) -> Vec<Filter> {
    vec![filter("vpc-id", [vpc_id]), filter(name, [value])]
}

pub(super) fn env_filter(env: &str) -> Filter {
    filter(&format!("tag:{TAG_ENV}"), [env])
}

pub(super) fn id_filters(env: &str, logical: &str) -> Vec<Filter> {
    vec![env_filter(env), filter(&format!("tag:{TAG_ID}"), [logical])]
}

/// The logical id of the desired VPC, if any.
pub(super) fn desired_vpc<'a>(desired: &[&'a Resource]) -> Option<&'a LogicalId> {
    let vpc = desired.iter().find(|resource| resource.kind == Kind::Vpc);
    vpc.map(|vpc| &vpc.id)
}

/// One paginated Describe filtered by `filters`: every item of every page.
macro_rules! describe {
    ($name:ident, $call:ident, $set:ident, $item:ty, $action:literal, $what:literal) => {
        pub(super) async fn $name(
            &self,
            filters: Vec<Filter>,
        ) -> Result<Vec<$item>, ProviderError> {
            let call = self
                .client
                .$call()
                .$set(Some(filters))
                .into_paginator()
                .items();
            sent($action, $what, call.send().try_collect()).await
        }
    };
}

impl Ec2Provider {
    /// One call per type, concurrently: the first round by tag, the second by VPC id. The DNS
    /// attributes are read for the live VPC of the desired one, `vpc` (its logical id).
    pub(super) async fn read(
        &self,
        env: &str,
        vpc: Option<&LogicalId>,
    ) -> Result<Snapshot, ProviderError> {
        let (vpcs, subnets, gateways, addresses, nats, tables, endpoints, flow_logs) = tokio::try_join!(
            self.vpcs(vec![env_filter(env)]),
            self.subnets(vec![env_filter(env)]),
            self.gateways(vec![env_filter(env)]),
            self.addresses(vec![env_filter(env)]),
            self.nats(vec![env_filter(env)]),
            self.tables(vec![env_filter(env)]),
            self.endpoints(vec![env_filter(env)]),
            self.flow_logs(vec![env_filter(env)]),
        )?;
        let vpc_ids: Vec<String> = vpcs
            .iter()
            .filter_map(|vpc| vpc.vpc_id().map(str::to_string))
            .collect();
        let mut live = Snapshot {
            vpcs,
            subnets,
            gateways,
            addresses,
            nats,
            tables,
            endpoints,
            flow_logs,
            ..Snapshot::default()
        };
        if vpc_ids.is_empty() {
            return Ok(live);
        }
        // DNS attributes only for the VPC that will be diffed.
        let matched = vpc.and_then(|logical| {
            live.vpcs
                .iter()
                .find(|vpc| tag(vpc.tags(), TAG_ID) == Some(logical.as_str()))
                .and_then(|vpc| vpc.vpc_id().map(str::to_string))
        });
        let dns = async {
            match &matched {
                Some(vpc_id) => {
                    let (support, hostnames) = tokio::try_join!(
                        self.vpc_attribute(vpc_id, VpcAttributeName::EnableDnsSupport),
                        self.vpc_attribute(vpc_id, VpcAttributeName::EnableDnsHostnames),
                    )?;
                    Ok(Some((vpc_id.clone(), (support, hostnames))))
                }
                None => Ok(None),
            }
        };
        let (groups, acls, dns) = tokio::try_join!(
            self.groups(vec![filter("vpc-id", vpc_ids.clone())]),
            self.acls(vec![filter("vpc-id", vpc_ids.clone())]),
            dns,
        )?;
        live.groups = groups;
        live.acls = acls;
        live.dns.extend(dns);
        Ok(live)
    }

    describe!(
        vpcs,
        describe_vpcs,
        set_filters,
        Vpc,
        "ec2:DescribeVpcs",
        "vpcs"
    );
    describe!(
        subnets,
        describe_subnets,
        set_filters,
        Subnet,
        "ec2:DescribeSubnets",
        "subnets"
    );
    describe!(
        gateways,
        describe_internet_gateways,
        set_filters,
        InternetGateway,
        "ec2:DescribeInternetGateways",
        "gateways"
    );
    describe!(
        nats,
        describe_nat_gateways,
        set_filter,
        NatGateway,
        "ec2:DescribeNatGateways",
        "NAT gateways"
    );
    describe!(
        tables,
        describe_route_tables,
        set_filters,
        RouteTable,
        "ec2:DescribeRouteTables",
        "route tables"
    );
    describe!(
        endpoints,
        describe_vpc_endpoints,
        set_filters,
        VpcEndpoint,
        "ec2:DescribeVpcEndpoints",
        "endpoints"
    );
    describe!(
        flow_logs,
        describe_flow_logs,
        set_filter,
        FlowLog,
        "ec2:DescribeFlowLogs",
        "flow logs"
    );
    describe!(
        groups,
        describe_security_groups,
        set_filters,
        SecurityGroup,
        "ec2:DescribeSecurityGroups",
        "security groups"
    );
    describe!(
        acls,
        describe_network_acls,
        set_filters,
        NetworkAcl,
        "ec2:DescribeNetworkAcls",
        "network ACLs"
    );

    pub(super) async fn addresses(
        &self,
        filters: Vec<Filter>,
    ) -> Result<Vec<Address>, ProviderError> {
        let call = self.client.describe_addresses().set_filters(Some(filters));
        let output = sent("ec2:DescribeAddresses", "addresses", call.send()).await?;
        Ok(output.addresses().to_vec())
    }

    pub(super) async fn vpc_attribute(
        &self,
        vpc_id: &str,
        attribute: VpcAttributeName,
    ) -> Result<bool, ProviderError> {
        let call = self
            .client
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(attribute.clone());
        let output = sent("ec2:DescribeVpcAttribute", vpc_id, call.send()).await?;
        let value = match attribute {
            VpcAttributeName::EnableDnsHostnames => output.enable_dns_hostnames(),
            _ => output.enable_dns_support(),
        };
        Ok(value
            .and_then(AttributeBooleanValue::value)
            .unwrap_or(false))
    }
}

impl Ec2Provider {
    /// The live resource of this environment tagged with `resource`'s logical id, if a
    /// previous attempt made it.
    pub(super) async fn lookup(
        &self,
        resource: &Resource,
        env: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        let filters = id_filters(env, resource.id.as_str());
        let mut live = Snapshot::default();
        match resource.kind {
            Kind::Vpc => {
                live.vpcs = self.vpcs(filters).await?;
                if let Some(vpc_id) = live.vpcs.first().and_then(|vpc| vpc.vpc_id()) {
                    let vpc_id = vpc_id.to_string();
                    let (groups, acls, support, hostnames) = tokio::try_join!(
                        self.groups(vec![filter("vpc-id", [vpc_id.as_str()])]),
                        self.acls(vec![filter("vpc-id", [vpc_id.as_str()])]),
                        self.vpc_attribute(&vpc_id, VpcAttributeName::EnableDnsSupport),
                        self.vpc_attribute(&vpc_id, VpcAttributeName::EnableDnsHostnames),
                    )?;
                    live.groups = groups;
                    live.acls = acls;
                    live.dns.insert(vpc_id, (support, hostnames));
                }
            }
            Kind::Subnet => {
                live.subnets = self.subnets(filters).await?;
                if let Some(subnet_id) = live.subnets.first().and_then(|s| s.subnet_id()) {
                    let by_subnet = |name: &str| vec![filter(name, [subnet_id])];
                    let (tables, acls) = tokio::try_join!(
                        self.tables(by_subnet("association.subnet-id")),
                        self.acls(by_subnet("association.subnet-id")),
                    )?;
                    live.tables = tables;
                    live.acls = acls;
                }
            }
            Kind::InternetGateway => live.gateways = self.gateways(filters).await?,
            Kind::ElasticIp => live.addresses = self.addresses(filters).await?,
            Kind::NatGateway => live.nats = self.nats(filters).await?,
            Kind::RouteTable => live.tables = self.tables(filters).await?,
            Kind::NetworkAcl => live.acls = self.acls(filters).await?,
            Kind::SecurityGroup => live.groups = self.groups(filters).await?,
            Kind::VpcEndpoint => live.endpoints = self.endpoints(filters).await?,
            Kind::FlowLog => live.flow_logs = self.flow_logs(filters).await?,
            _ => {}
        }
        let desired = [resource];
        let observation = assemble(&live, &desired, env, &self.region);
        Ok(observation.found.into_values().next())
    }
}
