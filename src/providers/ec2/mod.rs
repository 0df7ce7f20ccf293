//! EC2: the vpc module's network — VPC, subnets, internet gateway, elastic IPs, NAT
//! gateways, route tables, network ACLs, security groups, VPC endpoints and flow logs.
//!
//! Observe is batched and flat in the number of resources: in a first round, concurrently,
//! one Describe per type filtered by `tag:nc:env` (DescribeVpcs, Subnets, InternetGateways,
//! Addresses, NatGateways, RouteTables, VpcEndpoints, FlowLogs); then, once the VPC ids are
//! known, DescribeSecurityGroups and DescribeNetworkAcls filtered by VPC id (so that the VPC's
//! default security group and default network ACL, which carry no tags of ours, come along)
//! and DescribeVpcAttribute twice (DNS support and hostnames have no batch read). Untagged
//! resources — LocalStack's default VPC among them — are never matched. Resources are
//! matched to logical ids by their `nc:id` tag.
//!
//! Layout: `snapshot` reads, `observe` turns the read into matches and orphans through each
//! kind's pure `observe`, and one file per kind creates, converges and deletes it; `tags`,
//! `props` and `waits` are shared. Routes, ACL entries and security group rules are the typed
//! values of `model::network`.
//!
//! Creates are crash-safe: tags travel in the create call (TagSpecifications); NAT
//! gateways, endpoints, flow logs, route tables and network ACLs carry a client token derived
//! from the run, environment and logical id; the SDK never re-sends a create whose answer was
//! lost (`no_resend`); and every create first looks the resource up by its `nc:id` tag, so a
//! retry or a re-run after a kill finishes the half-made resource instead of making a second
//! one. A network ACL entry or route that already exists is replaced with the wanted one.
//! Whatever a create or an update must still do is worked out by one `converge` per kind
//! from the live attributes, so a resource found half-made converges like any other.
//! Deletes treat NotFound as done and wait out AWS's `DependencyViolation`s (network
//! interfaces of a NAT gateway or endpoint are released asynchronously).

mod elastic_ip;
mod flow_log;
mod internet_gateway;
mod nat_gateway;
mod network_acl;
mod observe;
mod props;
mod route_table;
mod security_group;
mod snapshot;
mod subnet;
mod tags;
#[cfg(test)]
mod tests;
mod vpc;
mod vpc_endpoint;
mod waits;

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{AvailabilityZoneOptInStatus, Filter, ResourceType, TagSpecification};

use self::observe::assemble;
use self::props::{changed_directions, client_token, differs, live_text, text};
use self::snapshot::{desired_vpc, filter, id_filters};
use self::tags::{Ec2Tags, tag_specification};
use self::waits::{delete_when_free, done_if_gone};
use super::aws::{Live, sent, sync_tags};
use super::{Aws, Provider, ProviderError, StepCtx};
use crate::model::{
    Kind, Observation, Observed, Outputs, Owner, Props, Resource, Service, TAGS, Value,
};
use crate::providers::Change;

/// The EC2 kinds, as [`Kind`] declares them (one list to keep).
static KINDS: std::sync::LazyLock<Vec<Kind>> = std::sync::LazyLock::new(|| {
    let ec2 = |kind: &&Kind| matches!(kind.service(), Service::Ec2);
    Kind::ALL.iter().filter(ec2).copied().collect()
});

/// The available availability zones of `aws`'s region, sorted by name (one
/// DescribeAvailabilityZones). Local Zones, Wavelength Zones and zones not opted in are left
/// out.
///
/// # Errors
/// EC2 refused or could not be reached.
pub async fn availability_zones(aws: &Aws) -> Result<Vec<String>, ProviderError> {
    let region = aws.region();
    let call = aws
        .ec2()
        .describe_availability_zones()
        .filters(filter("state", ["available"]));
    let output = sent("ec2:DescribeAvailabilityZones", &region, call.send()).await?;
    let mut zones: Vec<String> = output
        .availability_zones()
        .iter()
        .filter(|zone| {
            zone.zone_type()
                .is_none_or(|kind| kind == "availability-zone")
        })
        .filter(|zone| zone.opt_in_status() != Some(&AvailabilityZoneOptInStatus::NotOptedIn))
        .filter_map(|zone| zone.zone_name().map(str::to_string))
        .collect();
    zones.sort();
    zones.dedup();
    Ok(zones)
}

/// The EC2 provider.
pub struct Ec2Provider {
    client: Client,
    /// For the creates of whole resources: the SDK never re-sends one whose outcome is
    /// unknown; the step looks it up by its `nc:id` tag instead.
    creates: Client,
    region: String,
    /// This run's part of every client token (one provider per apply or reconcile pass).
    run: String,
}

impl Ec2Provider {
    /// A provider using `aws`'s configuration.
    #[must_use]
    pub fn new(aws: &Aws) -> Ec2Provider {
        Ec2Provider {
            client: aws.ec2(),
            creates: aws.ec2_without_resend(),
            region: aws.region(),
            run: crate::providers::aws::run_token(),
        }
    }

    /// A provider over a given client (tests use mocked clients).
    #[cfg(test)]
    fn with_client(client: Client, run: &str) -> Ec2Provider {
        Ec2Provider {
            creates: client.clone(),
            client,
            region: "us-east-1".into(),
            run: run.to_string(),
        }
    }

    /// The client token of a create of `logical`: the same on every retry of the step within
    /// this run, new in the next run and for each incarnation that died (see [`client_token`]).
    fn token(&self, env: &str, logical: &str, generation: usize) -> String {
        client_token(&self.run, env, logical, generation)
    }
}

/// A create under way: the desired resource and its step, and what the create made — the
/// attributes the new resource has as created (so converge does only the rest) and its outputs.
pub(super) struct New<'a> {
    /// The desired resource.
    pub resource: &'a Resource,
    /// The step that creates it.
    pub ctx: &'a StepCtx,
    /// This run's part of the client tokens.
    pub run: &'a str,
    /// The attributes as created.
    pub props: Props,
    /// The outputs known from the create's answer.
    pub outputs: Outputs,
}

/// The id of the resource a create made, or why it failed.
pub(super) type Created = Result<String, ProviderError>;

impl New<'_> {
    /// The logical id, which names the resource in errors.
    fn name(&self) -> &str {
        self.resource.id.as_str()
    }

    /// A resolved string attribute of the desired resource.
    fn text(&self, name: &str) -> Result<String, ProviderError> {
        text(self.resource, name)
    }

    /// Resolved string attributes of the desired resource, in the order named.
    fn texts<const N: usize>(&self, names: [&str; N]) -> Result<[String; N], ProviderError> {
        let mut texts = names.map(|_| String::new());
        for (text, name) in texts.iter_mut().zip(names) {
            *text = self.text(name)?;
        }
        Ok(texts)
    }

    /// The client token of this create (see [`client_token`]); `generation` counts the
    /// earlier incarnations that died.
    fn token(&self, generation: usize) -> String {
        client_token(self.run, &self.ctx.env, self.name(), generation)
    }

    /// The client token of this create when `earlier` are the live resources tagged with its
    /// logical id: each earlier incarnation that died (`live` says which are alive) moves the
    /// token on, as AWS would answer its token with the dead one.
    fn token_past<T>(&self, earlier: &[T], live: impl Fn(&T) -> bool) -> String {
        self.token(earlier.iter().filter(|item| !live(item)).count())
    }

    /// The filters that find the live resources tagged with this one's environment and
    /// logical id.
    fn id_filters(&self) -> Vec<Filter> {
        id_filters(&self.ctx.env, self.name())
    }

    /// The desired tags, for the create call's TagSpecifications.
    fn tags(&self, resource_type: ResourceType) -> TagSpecification {
        tag_specification(resource_type, self.resource)
    }
}

impl Ec2Provider {
    /// Makes the live resource `observed` match `resource`, from its live attributes (absent
    /// ones are treated as different), then its tags.
    async fn converge(
        &self,
        resource: &Resource,
        observed: &Observed,
        ctx: &StepCtx,
    ) -> Result<Outputs, ProviderError> {
        let physical = observed.physical_id.as_str();
        let current = &observed.props;
        let mut outputs = observed.outputs.clone();
        outputs.insert("id".into(), physical.to_string());
        match resource.kind {
            Kind::Vpc => self.converge_vpc(resource, physical, current).await?,
            Kind::Subnet => {
                self.converge_subnet(resource, physical, current, &mut outputs)
                    .await?;
            }
            // A gateway moves, and a table's routes change, only when they differ.
            Kind::InternetGateway if differs(resource, current, "vpc_id") => {
                self.converge_gateway(resource, physical, current).await?;
            }
            Kind::RouteTable if differs(resource, current, "routes") => {
                self.converge_routes(resource, physical, current).await?;
            }
            Kind::NetworkAcl | Kind::SecurityGroup => {
                for direction in changed_directions(resource, physical, current) {
                    if resource.kind == Kind::NetworkAcl {
                        self.apply_entries(&direction).await?;
                    } else {
                        self.apply_rules(&direction).await?;
                    }
                }
            }
            Kind::VpcEndpoint => {
                self.converge_endpoint(resource, physical, current, ctx)
                    .await?;
            }
            _ => {}
        }
        if differs(resource, current, TAGS) {
            let api = Ec2Tags {
                client: self.client.clone(),
                id: physical.to_string(),
            };
            sync_tags(&api, resource, observed).await?;
        }
        Ok(outputs)
    }

    /// Creates the bare resource (tags and client token in the call) and returns it with the
    /// attributes it already has as created.
    ///
    /// Every create goes through the client that never re-sends a request whose outcome is
    /// unknown: CreateVpc, CreateSubnet, CreateInternetGateway, AllocateAddress and
    /// CreateSecurityGroup have no client token, and emulators ignore the tokens of the others.
    /// A lost answer fails the attempt as transient, and the retried step finds the resource
    /// by its `nc:id` tag ([`Self::lookup`]) instead of making a second one.
    async fn create_bare(
        &self,
        resource: &Resource,
        ctx: &StepCtx,
    ) -> Result<Observed, ProviderError> {
        let name = resource.id.as_str();
        let mut new = New {
            resource,
            ctx,
            run: &self.run,
            props: Props::new(),
            outputs: Outputs::new(),
        };
        new.props.insert(TAGS.into(), Value::Map(resource.tags()));
        let made = &mut new;
        let physical = match resource.kind {
            Kind::Vpc => self.create_vpc(made).await?,
            Kind::Subnet => self.create_subnet(made).await?,
            Kind::InternetGateway => self.create_internet_gateway(made).await?,
            Kind::ElasticIp => self.create_elastic_ip(made).await?,
            Kind::NatGateway => self.create_nat_gateway(made).await?,
            Kind::RouteTable => self.create_route_table(made).await?,
            Kind::NetworkAcl => self.create_network_acl(made).await?,
            Kind::SecurityGroup => self.create_security_group(made).await?,
            Kind::VpcEndpoint => self.create_vpc_endpoint(made).await?,
            Kind::FlowLog => self.create_flow_log(made).await?,
            other => {
                return Err(ProviderError::local(
                    "create",
                    name,
                    format!("the EC2 provider does not own kind {other}"),
                ));
            }
        };
        if physical.is_empty() {
            return Err(ProviderError::local(
                "create",
                name,
                "AWS answered without the new resource's id",
            ));
        }
        ctx.note(&format!("created {physical}"));
        if resource.kind == Kind::NatGateway {
            self.wait_nat(&physical, ctx).await?;
        }
        let live = Live::new(resource.kind, physical, "")
            .props(new.props)
            .outputs(new.outputs);
        Ok(live.owned_by(resource.id.clone(), Owner::Ours))
    }
}

#[async_trait]
impl Provider for Ec2Provider {
    fn kinds(&self) -> &'static [Kind] {
        &KINDS
    }

    async fn observe(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let snapshot = self.read(env, desired_vpc(desired)).await?;
        Ok(assemble(&snapshot, desired, env, &self.region))
    }

    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        // Lookup before create: a retry, or a re-run after a kill, finishes what exists.
        let observed = match self.lookup(resource, &ctx.env).await? {
            Some(existing) => {
                ctx.note(&format!(
                    "found {} from an earlier attempt",
                    existing.physical_id
                ));
                if resource.kind == Kind::NatGateway {
                    self.wait_nat(&existing.physical_id, ctx).await?;
                }
                existing
            }
            None => self.create_bare(resource, ctx).await?,
        };
        self.converge(resource, &observed, ctx).await
    }

    async fn update(&self, change: &Change<'_>, ctx: &StepCtx) -> Result<Outputs, ProviderError> {
        self.converge(change.resource, change.observed, ctx).await
    }

    /// Deletes once nothing uses the resource any more (see [`delete_when_free`]), after
    /// detaching or releasing what AWS would otherwise refuse the delete for.
    async fn delete(&self, observed: &Observed, ctx: &StepCtx) -> Result<(), ProviderError> {
        let id = observed.physical_id.as_str();
        let ec2 = &self.client;
        match observed.kind {
            Kind::Vpc => {
                self.detach_gateways_of(id).await?;
                let call = || ec2.delete_vpc().vpc_id(id).send();
                delete_when_free(ctx, "ec2:DeleteVpc", id, call).await
            }
            Kind::Subnet => {
                let call = || ec2.delete_subnet().subnet_id(id).send();
                delete_when_free(ctx, "ec2:DeleteSubnet", id, call).await
            }
            Kind::InternetGateway => {
                let attached = live_text(&observed.props, "vpc_id");
                if !attached.is_empty() {
                    self.detach_gateway(id, attached).await?;
                }
                let call = || ec2.delete_internet_gateway().internet_gateway_id(id).send();
                delete_when_free(ctx, "ec2:DeleteInternetGateway", id, call).await
            }
            Kind::ElasticIp => {
                let call = || ec2.release_address().allocation_id(id).send();
                delete_when_free(ctx, "ec2:ReleaseAddress", id, call).await
            }
            Kind::RouteTable => {
                self.release_route_table(id).await?;
                let call = || ec2.delete_route_table().route_table_id(id).send();
                delete_when_free(ctx, "ec2:DeleteRouteTable", id, call).await
            }
            Kind::NetworkAcl => {
                self.release_network_acl(observed).await?;
                let call = || ec2.delete_network_acl().network_acl_id(id).send();
                delete_when_free(ctx, "ec2:DeleteNetworkAcl", id, call).await
            }
            Kind::SecurityGroup => {
                let call = || ec2.delete_security_group().group_id(id).send();
                delete_when_free(ctx, "ec2:DeleteSecurityGroup", id, call).await
            }
            Kind::NatGateway => self.delete_nat_gateway(observed, ctx).await,
            Kind::VpcEndpoint => self.delete_vpc_endpoint(id, ctx).await,
            Kind::FlowLog => {
                let call = ec2.delete_flow_logs().flow_log_ids(id).send();
                done_if_gone(sent("ec2:DeleteFlowLogs", id, call).await)
            }
            other => Err(ProviderError::local(
                "delete",
                id,
                format!("the EC2 provider does not own kind {other}"),
            )),
        }
    }
}
