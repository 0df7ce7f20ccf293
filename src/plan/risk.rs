//! Risk classes of planned changes: `low`, `medium` or `high`, each with the rule that fired.
//!
//! Pure: a change's kind, action and attribute before/after values decide. The rules are one
//! ordered table ([`RULES`], documented in the README); the first that matches a change wins.
//! Change control (the approvals a plan needs) follows the highest class of its changes.

use serde::{Deserialize, Serialize};

use super::{Action, AttrChange, ResourceChange};
use crate::model::Kind;
use crate::model::Value;

/// How risky a change is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskClass {
    /// Tags, retention increases, alarm thresholds.
    #[default]
    Low,
    /// Other changes (IAM, KMS and network changes that do not widen or reduce anything).
    Medium,
    /// Destruction, permission widening, key policies, reduced audit coverage, relaxed public
    /// access or TLS.
    High,
}

impl RiskClass {
    /// Every class, lowest first.
    pub const ALL: [RiskClass; 3] = [RiskClass::Low, RiskClass::Medium, RiskClass::High];

    /// The lower-case name used in output and specs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            RiskClass::Low => "low",
            RiskClass::Medium => "medium",
            RiskClass::High => "high",
        }
    }
}

/// A change's risk: its class and the rule that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    /// The class.
    pub class: RiskClass,
    /// The id of the rule in [`RULES`] that fired.
    pub rule: &'static str,
}

/// One rule of the risk table.
#[derive(Debug, Clone, Copy)]
pub struct RiskRule {
    /// Stable id, shown with every change.
    pub id: &'static str,
    /// The class it assigns.
    pub class: RiskClass,
    /// When it fires, for people.
    pub when: &'static str,
}

/// The risk table, in the order the rules are tried.
pub const RULES: [RiskRule; 11] = [
    RiskRule {
        id: "destroy",
        class: RiskClass::High,
        when: "a deletion or a replacement (the live resource is destroyed)",
    },
    RiskRule {
        id: "adopt",
        class: RiskClass::High,
        when: "adopting a resource made outside the tool (it is then changed to the spec)",
    },
    RiskRule {
        id: "iam-widening",
        class: RiskClass::High,
        when: "a new IAM role, policy or identity provider, or a trust or permission policy that allows something the live one did not (or drops a Deny)",
    },
    RiskRule {
        id: "key-policy",
        class: RiskClass::High,
        when: "a KMS key policy created or changed",
    },
    RiskRule {
        id: "coverage-reduction",
        class: RiskClass::High,
        when: "CloudTrail, GuardDuty, Config, Security Hub, flow-log or Object Lock settings that turn something off, shorten a retention or drop an entry",
    },
    RiskRule {
        id: "public-or-tls-relaxation",
        class: RiskClass::High,
        when: "a Block Public Access setting turned off, a bucket policy losing its TLS-only (aws:SecureTransport) deny, or a security-group or ACL entry opened to 0.0.0.0/0",
    },
    RiskRule {
        id: "tags-only",
        class: RiskClass::Low,
        when: "only tags change",
    },
    RiskRule {
        id: "retention-increase",
        class: RiskClass::Low,
        when: "only retentions grow (tags aside)",
    },
    RiskRule {
        id: "alarm-threshold",
        class: RiskClass::Low,
        when: "only an alarm's threshold or evaluation settings change (tags aside)",
    },
    RiskRule {
        id: "iam-kms-network",
        class: RiskClass::Medium,
        when: "any other IAM, KMS or network (VPC) change",
    },
    RiskRule {
        id: "other",
        class: RiskClass::Medium,
        when: "any other change",
    },
];

const IAM_KINDS: [Kind; 4] = [
    Kind::IamRole,
    Kind::IamPolicy,
    Kind::IamOidcProvider,
    Kind::IamPasswordPolicy,
];
const KMS_KINDS: [Kind; 2] = [Kind::KmsKey, Kind::KmsKeyPolicy];
const NETWORK_KINDS: [Kind; 10] = [
    Kind::Vpc,
    Kind::Subnet,
    Kind::InternetGateway,
    Kind::ElasticIp,
    Kind::NatGateway,
    Kind::RouteTable,
    Kind::NetworkAcl,
    Kind::SecurityGroup,
    Kind::VpcEndpoint,
    Kind::FlowLog,
];
/// Kinds whose settings are audit and detection coverage.
const COVERAGE_KINDS: [Kind; 6] = [
    Kind::CloudTrailTrail,
    Kind::GuardDutyDetector,
    Kind::ConfigRecorder,
    Kind::SecurityHubHub,
    Kind::FlowLog,
    Kind::EventBridgeRule,
];

/// The risk of one change; `None` for actions that change nothing (no-op, conflict, retain,
/// skip).
#[must_use]
pub fn classify(change: &ResourceChange) -> Option<Risk> {
    if !change.action.is_change() {
        return None;
    }
    let rule = first_rule(change);
    let class = RULES
        .iter()
        .find(|candidate| candidate.id == rule)
        .map_or(RiskClass::High, |candidate| candidate.class);
    Some(Risk { class, rule })
}

/// The highest class among `changes` (`None` when nothing changes).
#[must_use]
pub fn highest<'a>(changes: impl IntoIterator<Item = &'a ResourceChange>) -> Option<RiskClass> {
    changes
        .into_iter()
        .filter_map(classify)
        .map(|risk| risk.class)
        .max()
}

fn first_rule(change: &ResourceChange) -> &'static str {
    let kind = change.kind;
    let changed: Vec<&AttrChange> = change.attributes.iter().collect();
    if matches!(change.action, Action::Delete | Action::Replace) {
        return "destroy";
    }
    if change.action == Action::Adopt {
        return "adopt";
    }
    if IAM_KINDS.contains(&kind)
        && kind != Kind::IamPasswordPolicy
        && (change.action == Action::Create || changed.iter().any(|a| widens(a)))
    {
        return "iam-widening";
    }
    if kind == Kind::IamPasswordPolicy && changed.iter().any(|a| reduces(a)) {
        return "iam-widening";
    }
    if kind == Kind::KmsKeyPolicy
        || (kind == Kind::KmsKey && changed.iter().any(|a| is_policy(a) && a.before.is_some()))
    {
        return "key-policy";
    }
    let object_lock = |a: &&AttrChange| a.name.contains("object_lock") || a.name.contains("lock");
    if change.action == Action::Update
        && (COVERAGE_KINDS.contains(&kind) || kind == Kind::S3Bucket || kind == Kind::LogGroup)
        && changed
            .iter()
            .filter(|a| COVERAGE_KINDS.contains(&kind) || object_lock(a) || kind == Kind::LogGroup)
            .any(|a| reduces(a))
    {
        return "coverage-reduction";
    }
    if changed.iter().any(|a| relaxes_public_or_tls(a)) {
        return "public-or-tls-relaxation";
    }
    let beside_tags: Vec<&&AttrChange> = changed.iter().filter(|a| a.name != "tags").collect();
    if change.action == Action::Update && beside_tags.is_empty() {
        return "tags-only";
    }
    if change.action == Action::Update
        && beside_tags
            .iter()
            .all(|a| a.name.contains("retention") && grows(a))
    {
        return "retention-increase";
    }
    if change.action == Action::Update
        && kind == Kind::CloudWatchAlarm
        && beside_tags.iter().all(|a| {
            matches!(
                a.name.as_str(),
                "threshold" | "evaluation_periods" | "period" | "datapoints_to_alarm"
            )
        })
    {
        return "alarm-threshold";
    }
    if IAM_KINDS.contains(&kind) || KMS_KINDS.contains(&kind) || NETWORK_KINDS.contains(&kind) {
        return "iam-kms-network";
    }
    "other"
}

fn is_policy(attribute: &AttrChange) -> bool {
    matches!(attribute.after, Some(Value::Policy(_)))
        || matches!(attribute.before, Some(Value::Policy(_)))
}

/// The normalised statements of a policy value, as text.
fn statements(value: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Policy(document)) = value else {
        return Vec::new();
    };
    let normalized = crate::policy::normalize(document);
    normalized
        .get("Statement")
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|statement| {
                    let effect = statement
                        .get("Effect")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("Allow")
                        .to_string();
                    (effect, statement.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a policy attribute now allows something it did not: an Allow statement that is new,
/// or a Deny statement that is gone. A value only known after apply counts as widening.
fn widens(attribute: &AttrChange) -> bool {
    if matches!(attribute.after, Some(Value::Unknown)) && is_policy(attribute) {
        return true;
    }
    if !is_policy(attribute) {
        return false;
    }
    let before = statements(attribute.before.as_ref());
    let after = statements(attribute.after.as_ref());
    let new_allow = after
        .iter()
        .any(|statement| statement.0 == "Allow" && !before.contains(statement));
    let dropped_deny = before
        .iter()
        .any(|statement| statement.0 == "Deny" && !after.contains(statement));
    new_allow || dropped_deny
}

/// Whether an attribute turns something off, shrinks a number, or drops list entries.
fn reduces(attribute: &AttrChange) -> bool {
    match (&attribute.before, &attribute.after) {
        (Some(Value::Bool(true)), Some(Value::Bool(false))) => true,
        (Some(Value::Int(before)), Some(Value::Int(after))) => after < before,
        (Some(Value::List(before)), Some(Value::List(after))) => {
            before.iter().any(|item| !after.contains(item))
        }
        (Some(Value::Str(before)), Some(Value::Str(after))) => {
            // e.g. "ENABLED" -> "DISABLED", "COMPLIANCE" -> "GOVERNANCE"
            let off = |text: &str| {
                let lower = text.to_ascii_lowercase();
                lower.contains("disabled") || lower.contains("suspended") || lower == "governance"
            };
            !off(before) && off(after)
        }
        (Some(_), None) => true,
        _ => false,
    }
}

fn grows(attribute: &AttrChange) -> bool {
    matches!(
        (&attribute.before, &attribute.after),
        (Some(Value::Int(before)), Some(Value::Int(after))) if after > before
    )
}

/// Public access or TLS relaxed: a `*public*` flag turned off, a bucket policy that loses its
/// `aws:SecureTransport` deny, or a rule entry opened to the whole internet.
fn relaxes_public_or_tls(attribute: &AttrChange) -> bool {
    let name = attribute.name.as_str();
    if name.contains("public")
        && matches!(
            (&attribute.before, &attribute.after),
            (Some(Value::Bool(true)), Some(Value::Bool(false)))
        )
    {
        return true;
    }
    let mentions_tls = |value: Option<&Value>| {
        statements(value).iter().any(|(effect, text)| {
            effect == "Deny" && text.to_ascii_lowercase().contains("securetransport")
        })
    };
    if is_policy(attribute)
        && mentions_tls(attribute.before.as_ref())
        && !mentions_tls(attribute.after.as_ref())
    {
        return true;
    }
    let open_entries = |value: Option<&Value>| -> Vec<String> {
        match value {
            Some(Value::List(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter(|entry| entry.contains("0.0.0.0/0") && !entry.contains("deny"))
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    let before = open_entries(attribute.before.as_ref());
    (name.contains("ingress") || name.contains("rules") || name.contains("entries"))
        && open_entries(attribute.after.as_ref())
            .iter()
            .any(|entry| !before.contains(entry))
}

#[cfg(test)]
mod tests;
