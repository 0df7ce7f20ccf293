//! Change control, pure: which approver roles a plan needs (by its highest risk class), who
//! may hold a role (ARN patterns from the spec), and whether the recorded approvals of a plan
//! satisfy the spec.
//!
//! The rules: every required role has approved this plan's digest; each by a principal the
//! spec names for that role; no principal approves twice (two roles need two people); and for
//! a plan with a high-risk change, no approver is the one applying it.
//!
//! The "validated in stg first" rule: [`modules_digest`] (what must have run in stg) and
//! [`stg_first`] (whether what the stg audit recorded allows the apply).

pub mod modules_digest;
pub mod stg_first;

use serde::{Deserialize, Serialize};

use crate::plan::RiskClass;
use crate::spec::ChangeControl;

/// One recorded approval of a saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The `sha256:` digest of the saved plan approved.
    pub plan_digest: String,
    /// The approver role, e.g. `security-lead`.
    pub role: String,
    /// Who approved: the caller's ARN (STS GetCallerIdentity).
    pub principal: String,
    /// When (RFC 3339).
    pub at: String,
    /// The approver's comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The roles a plan of highest class `risk` needs (none when nothing changes).
#[must_use]
pub fn required_roles(control: &ChangeControl, risk: Option<RiskClass>) -> Vec<String> {
    risk.map(|class| control.required_approvals.for_class(class.name()).to_vec())
        .unwrap_or_default()
}

/// Whether `principal` holds `role` per the spec.
#[must_use]
pub fn holds(control: &ChangeControl, role: &str, principal: &str) -> bool {
    control
        .approvers
        .get(role)
        .is_some_and(|patterns| patterns.iter().any(|pattern| arn_like(pattern, principal)))
}

/// IAM's `ArnLike` match of a whole ARN: `*` any run of characters, `?` one character,
/// case-sensitive.
#[must_use]
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    crate::policy::eval::glob(pattern, arn)
}

/// Why recorded approvals do not (yet) allow applying a plan; empty when they do.
#[must_use]
pub fn missing(
    control: &ChangeControl,
    risk: Option<RiskClass>,
    digest: &str,
    approvals: &[Approval],
    applier: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut used: Vec<(&str, &str)> = Vec::new();
    for role in required_roles(control, risk) {
        let valid: Vec<&Approval> = approvals
            .iter()
            .filter(|approval| approval.role == role && approval.plan_digest == digest)
            .collect();
        let Some(approval) = valid.first() else {
            problems.push(format!("{role}: no approval of this plan"));
            continue;
        };
        if !holds(control, &role, &approval.principal) {
            problems.push(format!(
                "{role}: approved by {}, who does not hold {role} in the spec's [change_control.approvers]",
                approval.principal
            ));
            continue;
        }
        if let Some((other, _)) = used
            .iter()
            .find(|(_, principal)| *principal == approval.principal)
        {
            problems.push(format!(
                "{role}: approved by {}, who already approved as {other}; each role needs a distinct person",
                approval.principal
            ));
            continue;
        }
        if risk == Some(RiskClass::High) && approval.principal == applier {
            problems.push(format!(
                "{role}: approved by {}, who is applying it; a high-risk plan needs approvers other than the applier",
                approval.principal
            ));
            continue;
        }
        used.push((approval.role.as_str(), approval.principal.as_str()));
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::spec::RequiredApprovals;

    fn control() -> ChangeControl {
        let mut approvers = BTreeMap::new();
        approvers.insert(
            "platform-lead".to_string(),
            vec!["arn:aws:sts::*:assumed-role/PlatformEngineeringLead/*".to_string()],
        );
        approvers.insert(
            "security-lead".to_string(),
            vec!["arn:aws:sts::*:assumed-role/SecurityEngineeringLead/*".to_string()],
        );
        approvers.insert(
            "cto".to_string(),
            vec!["arn:aws:sts::*:assumed-role/CTO/*".to_string()],
        );
        ChangeControl {
            required_approvals: RequiredApprovals {
                low: vec!["platform-lead".into(), "security-lead".into()],
                medium: vec!["platform-lead".into(), "security-lead".into()],
                high: vec!["platform-lead".into(), "security-lead".into(), "cto".into()],
            },
            approvers,
            scheduled_repair: false,
            validated_in: None,
        }
    }

    fn approval(role: &str, principal: &str, digest: &str) -> Approval {
        Approval {
            plan_digest: digest.into(),
            role: role.into(),
            principal: principal.into(),
            at: "2026-11-29T00:00:00Z".into(),
            comment: None,
        }
    }

    const PLATFORM: &str = "arn:aws:sts::1:assumed-role/PlatformEngineeringLead/ana";
    const SECURITY: &str = "arn:aws:sts::1:assumed-role/SecurityEngineeringLead/bo";
    const CTO: &str = "arn:aws:sts::1:assumed-role/CTO/cy";

    #[test]
    fn arn_patterns_match_like_iam_arnlike() {
        let cases = [
            ("arn:aws:sts::*:assumed-role/CTO/*", CTO, true),
            ("arn:aws:sts::*:assumed-role/CTO/*", SECURITY, false),
            ("arn:aws:iam::1:role/CTO", "arn:aws:iam::1:role/CTO", true),
            ("arn:aws:iam::1:role/CT?", "arn:aws:iam::1:role/CTO", true),
            ("arn:aws:iam::1:role/CT?", "arn:aws:iam::1:role/CTOO", false),
            ("arn:aws:sts::*:assumed-role/*Lead/*", PLATFORM, true),
            ("arn:aws:sts::2:assumed-role/CTO/*", CTO, false),
        ];
        for (pattern, arn, expected) in cases {
            assert_eq!(arn_like(pattern, arn), expected, "{pattern} ~ {arn}");
        }
    }

    #[test]
    fn a_high_risk_plan_needs_three_distinct_holders_other_than_the_applier() {
        let control = control();
        let risk = Some(RiskClass::High);
        let all = [
            approval("platform-lead", PLATFORM, "d1"),
            approval("security-lead", SECURITY, "d1"),
            approval("cto", CTO, "d1"),
        ];
        assert!(missing(&control, risk, "d1", &all, "arn:aws:iam::1:user/deployer").is_empty());
        // Nothing recorded.
        let none = missing(&control, risk, "d1", &[], "x");
        assert_eq!(none.len(), 3, "{none:?}");
        // Approvals of another digest do not count.
        assert_eq!(missing(&control, risk, "d2", &all, "x").len(), 3);
        // One person in two roles.
        let twice = [
            approval("platform-lead", PLATFORM, "d1"),
            approval("security-lead", PLATFORM, "d1"),
            approval("cto", CTO, "d1"),
        ];
        let problems = missing(&control, risk, "d1", &twice, "x");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("does not hold security-lead")),
            "{problems:?}"
        );
        // An approver outside the spec's principals.
        let outsider = [
            approval("platform-lead", PLATFORM, "d1"),
            approval("security-lead", SECURITY, "d1"),
            approval("cto", "arn:aws:sts::1:assumed-role/Intern/dee", "d1"),
        ];
        assert!(missing(&control, risk, "d1", &outsider, "x")[0].contains("does not hold cto"));
        // The applier approved a high-risk plan.
        let own = missing(&control, risk, "d1", &all, CTO);
        assert!(own[0].contains("who is applying it"), "{own:?}");
        // A medium plan needs two roles, and the applier may be one of them.
        let medium = missing(&control, Some(RiskClass::Medium), "d1", &all[..2], PLATFORM);
        assert!(medium.is_empty(), "{medium:?}");
        // No changes, no approvals needed.
        assert!(missing(&control, None, "d1", &[], "x").is_empty());
    }

    #[test]
    fn one_principal_cannot_fill_two_roles_that_it_holds() {
        let mut control = control();
        control.approvers.insert(
            "security-lead".into(),
            vec!["arn:aws:sts::*:assumed-role/*Lead/*".into()],
        );
        let twice = [
            approval("platform-lead", PLATFORM, "d1"),
            approval("security-lead", PLATFORM, "d1"),
        ];
        let problems = missing(&control, Some(RiskClass::Low), "d1", &twice, "x");
        assert!(
            problems[0].contains("already approved as platform-lead"),
            "{problems:?}"
        );
    }
}
