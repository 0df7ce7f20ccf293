//! The layout of the network: tiers, zones, subnet CIDRs and the logical ids of every
//! per-zone and per-tier resource.

use crate::model::LogicalId;
use crate::modules::{Context, id};
use crate::spec::model::Ipv4Cidr;

use super::PUBLIC_ROUTE_TABLE;

/// Prefix length of every subnet tier (REFERENCE.md).
pub const TIER_PREFIX: u8 = 19;
/// The three subnet tiers, in their order inside an AZ's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Public subnets: load balancers, NAT gateways; routed to the internet gateway.
    Public,
    /// Private application subnets: workloads and interface endpoints; routed to a NAT.
    App,
    /// Private data subnets: no route out of the VPC, endpoints only.
    Data,
}

impl Tier {
    /// Every tier, in layout order.
    pub const ALL: [Tier; 3] = [Tier::Public, Tier::App, Tier::Data];

    /// The `tier` tag value and the id part.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Public => "public",
            Tier::App => "app",
            Tier::Data => "data",
        }
    }

    fn position(self) -> u32 {
        match self {
            Tier::Public => 0,
            Tier::App => 1,
            Tier::Data => 2,
        }
    }
}

/// One availability zone of the layout.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Zone name, e.g. `us-east-1a`.
    pub name: String,
    /// The id part, the zone's letter: `a`.
    pub letter: String,
    /// Position in the zone list: the CIDR block.
    pub index: u32,
}

/// The zones the layout uses: the target's, first `az_count`.
#[must_use]
pub fn zones(context: &Context<'_>) -> Vec<Zone> {
    let region = &context.target.region;
    context
        .target
        .availability_zones
        .iter()
        .take(usize::from(context.spec.vpc.az_count))
        .zip(0u32..)
        .map(|(name, index)| Zone {
            name: name.clone(),
            letter: name
                .strip_prefix(region.as_str())
                .filter(|letter| !letter.is_empty())
                .map_or_else(|| zone_letter(index), str::to_string),
            index,
        })
        .collect()
}

fn zone_letter(index: u32) -> String {
    char::from_u32(u32::from(b'a') + index).map_or_else(|| index.to_string(), String::from)
}

/// The prefix of each tier's subnets: /19, or when three tiers of `az_count` zones do not fit
/// (only outside validated specs, e.g. the 3-AZ bench in a /16) the longest that does.
#[must_use]
pub fn tier_prefix(cidr: Ipv4Cidr, az_count: u8) -> u8 {
    let blocks = u32::from(az_count).max(1) * 3;
    let bits = u8::try_from(u32::BITS - (blocks - 1).leading_zeros()).unwrap_or(32);
    TIER_PREFIX.max(cidr.prefix.saturating_add(bits)).min(32)
}

/// A tier's subnet CIDR in zone `index`.
#[must_use]
pub fn subnet_cidr(cidr: Ipv4Cidr, az_count: u8, index: u32, tier: Tier) -> Option<Ipv4Cidr> {
    cidr.subnet(tier_prefix(cidr, az_count), index * 3 + tier.position())
}

/// Logical id of a tier's subnet in a zone (`vpc.subnet.app-a`).
#[must_use]
pub fn subnet_id(tier: Tier, letter: &str) -> LogicalId {
    id(&format!("vpc.subnet.{}-{letter}", tier.as_str()))
}

/// Logical id of a private route table (`vpc.rt.app-a`, `vpc.rt.data-a`).
#[must_use]
pub fn route_table_id(tier: Tier, letter: &str) -> LogicalId {
    match tier {
        Tier::Public => id(PUBLIC_ROUTE_TABLE),
        _ => id(&format!("vpc.rt.{}-{letter}", tier.as_str())),
    }
}

/// Logical id of a tier's network ACL (`vpc.nacl.data`).
#[must_use]
pub fn network_acl_id(tier: Tier) -> LogicalId {
    id(&format!("vpc.nacl.{}", tier.as_str()))
}

/// Logical id of the NAT gateway in a zone (`vpc.nat.a`).
#[must_use]
pub fn nat_id(letter: &str) -> LogicalId {
    id(&format!("vpc.nat.{letter}"))
}

/// Logical id of a NAT gateway's elastic IP (`vpc.eip.nat-a`).
#[must_use]
pub fn nat_eip_id(letter: &str) -> LogicalId {
    id(&format!("vpc.eip.nat-{letter}"))
}

/// Logical id of an endpoint (`vpc.endpoint.s3`).
#[must_use]
pub fn endpoint_id(service: &str) -> LogicalId {
    id(&format!("vpc.endpoint.{service}"))
}
