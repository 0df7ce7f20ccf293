//! Typed sub-values of the network: a route, a network ACL entry and a security group rule.
//!
//! They travel through the property model as short strings, so that a plan shows them
//! readably and a drift names the rule; this is the ONE place that writes and reads that
//! text. The vpc module formats them with `Display`; the EC2 provider parses the desired ones
//! with `FromStr` and renders what it observes with `Display`, so both sides of the diff are
//! the same text:
//! - a route `"0.0.0.0/0 -> nat-0abc"` (destination, target),
//! - a security group rule `"tcp 443 10.1.0.0/16"` (protocol, ports, peer),
//! - a network ACL entry `"100 deny tcp 22 0.0.0.0/0"` (rule number, action, protocol, ports,
//!   CIDR).

use std::fmt;
use std::str::FromStr;

use super::Value;

/// Flow logs aggregate packets over this many seconds (AWS's default, "The default is 600
/// seconds", Amazon VPC User Guide, *Flow log records*).
pub const FLOW_LOG_AGGREGATION_SECONDS: i64 = 600;

/// The separator of a route's destination and target.
const ROUTE_ARROW: &str = " -> ";

/// An IP protocol as a rule names it: `all`, `tcp`, `udp`, `icmp`, `icmpv6`, or a number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    /// Every protocol (`-1`).
    All,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP (1).
    Icmp,
    /// ICMPv6 (58).
    Icmpv6,
    /// Any other protocol, by number.
    Other(String),
}

impl Protocol {
    /// The protocol AWS answers with: a name or a number (`-1`, `6`, `tcp`, ...).
    #[must_use]
    pub fn from_aws(protocol: Option<&str>) -> Protocol {
        match protocol.unwrap_or("-1") {
            "-1" | "all" => Protocol::All,
            "6" | "tcp" => Protocol::Tcp,
            "17" | "udp" => Protocol::Udp,
            "1" | "icmp" => Protocol::Icmp,
            "58" | "icmpv6" => Protocol::Icmpv6,
            other => Protocol::Other(other.to_string()),
        }
    }

    /// The protocol number a network ACL entry takes (`-1` for all).
    #[must_use]
    pub fn number(&self) -> &str {
        match self {
            Protocol::All => "-1",
            Protocol::Tcp => "6",
            Protocol::Udp => "17",
            Protocol::Icmp => "1",
            Protocol::Icmpv6 => "58",
            Protocol::Other(number) => number,
        }
    }

    /// The protocol a security group permission takes: `-1` for all, otherwise the name.
    #[must_use]
    pub fn permission(&self) -> &str {
        match self {
            Protocol::All => "-1",
            other => other.name(),
        }
    }

    fn name(&self) -> &str {
        match self {
            Protocol::All => "all",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Icmpv6 => "icmpv6",
            Protocol::Other(number) => number,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(text: &str) -> Result<Protocol, String> {
        if text.is_empty() {
            return Err("empty protocol".into());
        }
        Ok(Protocol::from_aws(Some(text)))
    }
}

/// A port range: every port, or `from`..=`to` (`443`, `1024-65535`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ports {
    /// Every port (and for ICMP every type and code).
    All,
    /// From the first port to the second, both included.
    Range(i32, i32),
}

impl Ports {
    /// One port.
    #[must_use]
    pub const fn one(port: i32) -> Ports {
        Ports::Range(port, port)
    }

    /// The ports AWS lists for `protocol`: all of them for every protocol, a missing bound or
    /// `-1` to `-1`.
    #[must_use]
    pub fn from_aws(protocol: &Protocol, from: Option<i32>, to: Option<i32>) -> Ports {
        match (protocol, from, to) {
            (Protocol::All, _, _) | (_, None, _) | (_, _, None) | (_, Some(-1), Some(-1)) => {
                Ports::All
            }
            (_, Some(from), Some(to)) => Ports::Range(from, to),
        }
    }

    /// `(from, to)`, or none for every port.
    #[must_use]
    pub const fn bounds(self) -> Option<(i32, i32)> {
        match self {
            Ports::All => None,
            Ports::Range(from, to) => Some((from, to)),
        }
    }
}

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ports::All => f.write_str("all"),
            Ports::Range(from, to) if from == to => write!(f, "{from}"),
            Ports::Range(from, to) => write!(f, "{from}-{to}"),
        }
    }
}

impl FromStr for Ports {
    type Err = String;

    /// `"443"` → 443 to 443; `"1024-65535"` → 1024 to 65535; `"all"` → every port.
    fn from_str(text: &str) -> Result<Ports, String> {
        if text == "all" {
            return Ok(Ports::All);
        }
        let bad = || format!("bad port range {text:?}");
        let (from, to) = text.split_once('-').unwrap_or((text, text));
        Ok(Ports::Range(
            from.parse().map_err(|_| bad())?,
            to.parse().map_err(|_| bad())?,
        ))
    }
}

/// A route of a route table: traffic to `destination` (an IPv4 or IPv6 CIDR or a prefix
/// list) goes to `target` (a gateway, NAT gateway, interface, ... id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// The destination CIDR or prefix list id.
    pub destination: String,
    /// The target's id.
    pub target: String,
}

impl Route {
    /// The route `destination -> target`.
    #[must_use]
    pub fn new(destination: impl Into<String>, target: impl Into<String>) -> Route {
        Route {
            destination: destination.into(),
            target: target.into(),
        }
    }

    /// A route whose target is known only once it exists (a reference to its `id`): the
    /// attribute value that resolves to the route's text.
    #[must_use]
    pub fn to_value(destination: &str, target: Value) -> Value {
        Value::Concat(vec![
            Value::str(format!("{destination}{ROUTE_ARROW}")),
            target,
        ])
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{ROUTE_ARROW}{}", self.destination, self.target)
    }
}

impl FromStr for Route {
    type Err = String;

    fn from_str(text: &str) -> Result<Route, String> {
        text.split_once(ROUTE_ARROW)
            .map(|(destination, target)| Route::new(destination, target))
            .ok_or_else(|| format!("bad route {text:?}: expected \"destination -> target\""))
    }
}

/// A network ACL rule's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AclAction {
    /// Admit the traffic.
    Allow,
    /// Refuse the traffic.
    Deny,
}

impl fmt::Display for AclAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AclAction::Allow => "allow",
            AclAction::Deny => "deny",
        })
    }
}

/// One entry (rule) of a network ACL, in one direction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AclEntry {
    /// The rule number: entries are evaluated in ascending order.
    pub rule: i32,
    /// Allow or deny.
    pub action: AclAction,
    /// The protocol.
    pub protocol: Protocol,
    /// The port range.
    pub ports: Ports,
    /// The IPv4 or IPv6 CIDR the rule applies to.
    pub cidr: String,
}

impl AclEntry {
    /// Whether the entry admits the traffic.
    #[must_use]
    pub fn allows(&self) -> bool {
        self.action == AclAction::Allow
    }
}

impl fmt::Display for AclEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.rule, self.action, self.protocol, self.ports, self.cidr
        )
    }
}

impl FromStr for AclEntry {
    type Err = String;

    fn from_str(text: &str) -> Result<AclEntry, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [rule, action, protocol, ports, cidr] = parts[..] else {
            return Err(format!(
                "bad network ACL entry {text:?}: expected \"rule action protocol ports cidr\""
            ));
        };
        Ok(AclEntry {
            rule: rule
                .parse()
                .map_err(|_| format!("bad rule number in {text:?}"))?,
            action: match action {
                "allow" => AclAction::Allow,
                "deny" => AclAction::Deny,
                _ => return Err(format!("bad action in {text:?}")),
            },
            protocol: protocol.parse()?,
            ports: ports.parse()?,
            cidr: cidr.to_string(),
        })
    }
}

/// One rule of a security group, for one peer: a CIDR (IPv4 or IPv6), a prefix list
/// (`pl-`) or another security group (`sg-`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SgRule {
    /// The protocol.
    pub protocol: Protocol,
    /// The port range.
    pub ports: Ports,
    /// The peer.
    pub peer: String,
}

impl SgRule {
    /// A rule admitting `protocol` on `ports` from or to `peer`.
    #[must_use]
    pub fn new(protocol: Protocol, ports: Ports, peer: impl Into<String>) -> SgRule {
        SgRule {
            protocol,
            ports,
            peer: peer.into(),
        }
    }
}

impl fmt::Display for SgRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.protocol, self.ports, self.peer)
    }
}

impl FromStr for SgRule {
    type Err = String;

    fn from_str(text: &str) -> Result<SgRule, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [protocol, ports, peer] = parts[..] else {
            return Err(format!(
                "bad security group rule {text:?}: expected \"protocol ports peer\""
            ));
        };
        Ok(SgRule::new(protocol.parse()?, ports.parse()?, peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogicalId;

    #[test]
    fn each_sub_value_reads_back_what_it_writes() {
        for text in ["0.0.0.0/0 -> nat-1", "pl-1 -> igw-1", "::/0 -> eigw-1"] {
            assert_eq!(text.parse::<Route>().expect(text).to_string(), text);
        }
        for text in [
            "100 deny tcp 22 0.0.0.0/0",
            "130 allow tcp 1024-65535 0.0.0.0/0",
            "140 allow all all ::/0",
        ] {
            assert_eq!(text.parse::<AclEntry>().expect(text).to_string(), text);
        }
        for text in ["tcp 443 10.1.0.0/16", "all all sg-1", "udp 53 pl-1"] {
            assert_eq!(text.parse::<SgRule>().expect(text).to_string(), text);
        }
    }

    #[test]
    fn an_acl_entry_names_its_protocol_and_takes_the_number() {
        let parsed: AclEntry = "130 allow tcp 1024-65535 0.0.0.0/0".parse().expect("entry");
        assert_eq!(
            parsed,
            AclEntry {
                rule: 130,
                action: AclAction::Allow,
                protocol: Protocol::Tcp,
                ports: Ports::Range(1024, 65535),
                cidr: "0.0.0.0/0".into(),
            }
        );
        assert_eq!(parsed.protocol.number(), "6");
        assert_eq!(Protocol::from_aws(Some("6")), Protocol::Tcp);
        assert_eq!(Protocol::All.permission(), "-1");
        assert_eq!(Protocol::Tcp.permission(), "tcp");
        for bad in [
            "130 allow tcp",
            "x allow tcp 1 0.0.0.0/0",
            "1 permit tcp 1 0.0.0.0/0",
            "1 allow tcp x-2 0.0.0.0/0",
        ] {
            assert!(bad.parse::<AclEntry>().is_err(), "{bad}");
        }
        assert!("tcp 443".parse::<SgRule>().is_err());
        assert!("0.0.0.0/0 nat-1".parse::<Route>().is_err());
    }

    #[test]
    fn ports_read_from_aws_as_the_rules_name_them() {
        assert_eq!(
            Ports::from_aws(&Protocol::All, Some(0), Some(0)),
            Ports::All
        );
        assert_eq!(
            Ports::from_aws(&Protocol::Icmp, Some(-1), Some(-1)),
            Ports::All
        );
        assert_eq!(Ports::from_aws(&Protocol::Tcp, Some(443), None), Ports::All);
        assert_eq!(
            Ports::from_aws(&Protocol::Tcp, Some(443), Some(443)).to_string(),
            "443"
        );
        assert_eq!(Ports::one(22).bounds(), Some((22, 22)));
    }

    #[test]
    fn a_route_to_a_resource_not_yet_made_resolves_to_the_route_text() {
        let nat = LogicalId::new("vpc.nat.a");
        assert_eq!(
            Route::to_value("0.0.0.0/0", Value::reference(&nat, "id")),
            Value::Concat(vec![
                Value::str("0.0.0.0/0 -> "),
                Value::reference(&nat, "id"),
            ])
        );
    }
}
