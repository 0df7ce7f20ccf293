//! The "validated in stg first" rule, pure: records in, verdict out.
//!
//! `[change_control.validated_in]` (`env = "stg"`, `min_hours = 24`) lets a plan be applied
//! only when the validating environment ran the same modules digest
//! ([`super::modules_digest`]) in an ok apply at least `min_hours` earlier. Every ok apply or
//! reconcile that changes something records, next to its audit record, when its environment
//! first and last converged under its modules digest ([`Converged`], one item per digest) and
//! which digest it ran last (the environment's newest ok apply). The check reads both and
//! decides here; a refusal names the environment, the digest, and the newest matching apply
//! and how long ago it was, or that none exists and what the newest apply ran instead.

use serde::{Deserialize, Serialize};

use super::modules_digest::ModulesDigest;
use crate::spec::ValidatedIn;

/// What an environment's audit records about its ok applies under one modules digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Converged {
    /// The modules digest, with its parts.
    pub modules: ModulesDigest,
    /// When an ok apply under this digest first ran (seconds since the epoch).
    pub first_at: u64,
    /// When the newest ok apply under this digest ran (seconds since the epoch).
    pub last_at: u64,
    /// The audit record of the newest such apply.
    pub audit_key: String,
    /// Who ran the newest such apply (STS ARN).
    pub who: String,
}

/// Where the validating environment's audit is read: `env/region` and the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The validating environment.
    pub env: String,
    /// Its region.
    pub region: String,
    /// The audit table read (name, or ARN for another account).
    pub table: String,
}

/// Why the rule allows the apply (recorded in the audit record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validated {
    /// The validating environment.
    pub env: String,
    /// Its region.
    pub region: String,
    /// The modules digest it ran.
    pub modules_digest: String,
    /// When it first ran it (RFC 3339).
    pub first_at: String,
    /// Hours between that apply and now.
    pub hours_before: u64,
    /// The rule's `min_hours`.
    pub min_hours: u32,
    /// The audit record of its newest apply under the digest.
    pub audit_key: String,
}

/// The verdict: the apply is allowed (with its evidence), or refused (why).
pub type Verdict = Result<Validated, String>;

/// Decides the rule for a plan of modules digest `mine`, from the validating environment's
/// record of that digest (`matching`) and of its newest ok apply (`newest`), at `now`
/// (seconds since the epoch).
pub fn decide(
    rule: &ValidatedIn,
    source: &Source,
    mine: &ModulesDigest,
    matching: Option<&Converged>,
    newest: Option<&Converged>,
    now: u64,
) -> Verdict {
    let env = &source.env;
    let at = format!("{env} ({}/{}, table {})", env, source.region, source.table);
    let Some(matching) = matching.filter(|record| record.modules.digest == mine.digest) else {
        let mut message = format!(
            "the plan's modules digest {} has not been applied in {at}; the spec's \
             [change_control.validated_in] requires an ok apply of the same modules in {env} at \
             least {} h before this one.",
            mine.digest, rule.min_hours
        );
        match newest {
            None => message.push_str(&format!(
                "\n  {env}'s audit records no ok apply at all: apply this build's modules to {env} first."
            )),
            Some(newest) => message.push_str(&format!(
                "\n  {env}'s newest ok apply ({}, {} ago, by {}) ran {}: {}.\n  Apply this build's modules to {env} first (nc-provision apply --env {env}).",
                rfc3339(newest.last_at),
                ago(now, newest.last_at),
                newest.who,
                newest.modules.digest,
                differences(&newest.modules, mine).join("; ")
            )),
        }
        return Err(message);
    };
    let elapsed = now.saturating_sub(matching.first_at);
    let needed = u64::from(rule.min_hours) * 3600;
    if elapsed < needed {
        return Err(format!(
            "the plan's modules digest {} was first applied in {at} {} ago ({}, by {}); the \
             spec's [change_control.validated_in] requires at least {} h. It may be applied \
             from {}.",
            mine.digest,
            ago(now, matching.first_at),
            rfc3339(matching.first_at),
            matching.who,
            rule.min_hours,
            rfc3339(matching.first_at + needed)
        ));
    }
    Ok(Validated {
        env: env.clone(),
        region: source.region.clone(),
        modules_digest: mine.digest.clone(),
        first_at: rfc3339(matching.first_at),
        hours_before: elapsed / 3600,
        min_hours: rule.min_hours,
        audit_key: matching.audit_key.clone(),
    })
}

/// What differs between the digest `theirs` ran and `mine`.
#[must_use]
pub fn differences(theirs: &ModulesDigest, mine: &ModulesDigest) -> Vec<String> {
    let mut out = Vec::new();
    if theirs.tool_version != mine.tool_version {
        out.push(format!(
            "nc-provision {} there, {} here",
            theirs.tool_version, mine.tool_version
        ));
    }
    if theirs.build_id != mine.build_id {
        let shown = |id: &Option<String>| id.clone().unwrap_or_else(|| "none".to_string());
        out.push(format!(
            "build {} there, {} here",
            shown(&theirs.build_id),
            shown(&mine.build_id)
        ));
    }
    if theirs.expanders != mine.expanders {
        out.push(format!(
            "the module expanders differ ({} there, {} here)",
            theirs.expanders, mine.expanders
        ));
    }
    for (these, others, place) in [(mine, theirs, "here"), (theirs, mine, "there")] {
        let only: Vec<&str> = these
            .modules
            .iter()
            .filter(|module| !others.modules.contains(module))
            .map(String::as_str)
            .collect();
        if !only.is_empty() {
            out.push(format!("modules only {place}: [{}]", only.join(", ")));
        }
    }
    if out.is_empty() {
        out.push("the same parts".to_string());
    }
    out
}

fn rfc3339(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
    )
    .to_string()
}

/// `3 h 05 min`, `12 min`, `40 s`.
fn ago(now: u64, then: u64) -> String {
    let seconds = now.saturating_sub(then);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        _ => format!("{} h {:02} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600;
    const NOW: u64 = 1_800_000_000;

    fn rule(min_hours: u32) -> ValidatedIn {
        ValidatedIn {
            env: "stg".into(),
            min_hours,
            region: None,
            audit_role_arn: None,
        }
    }

    fn source() -> Source {
        Source {
            env: "stg".into(),
            region: "us-east-1".into(),
            table: "nc-provision-locks".into(),
        }
    }

    fn digest(version: &str, modules: &[&str]) -> ModulesDigest {
        ModulesDigest::from_parts(
            version,
            None,
            "sha256:expanders".into(),
            modules.iter().map(|module| (*module).to_string()).collect(),
        )
    }

    /// The decision for the stg rule of `min_hours`, now.
    fn decide_now(
        min_hours: u32,
        mine: &ModulesDigest,
        matching: Option<&Converged>,
        newest: Option<&Converged>,
    ) -> Verdict {
        decide(&rule(min_hours), &source(), mine, matching, newest, NOW)
    }

    fn converged(modules: &ModulesDigest, first_ago: u64, last_ago: u64) -> Converged {
        Converged {
            modules: modules.clone(),
            first_at: NOW - first_ago,
            last_at: NOW - last_ago,
            audit_key: "audit#stg/us-east-1#1#2".into(),
            who: "arn:aws:sts::1:assumed-role/Deployer/ci".into(),
        }
    }

    #[test]
    fn a_digest_first_applied_long_enough_ago_is_validated() {
        let mine = digest("0.1.0", &["data", "vpc"]);
        // First applied 30 h ago, re-applied 1 h ago: the first apply counts.
        let record = converged(&mine, 30 * HOUR, HOUR);
        let validated = decide_now(24, &mine, Some(&record), Some(&record)).expect("validated");
        assert_eq!(validated.hours_before, 30);
        assert_eq!(validated.modules_digest, mine.digest);
        assert_eq!(validated.audit_key, "audit#stg/us-east-1#1#2");
        // Exactly min_hours is enough; min_hours 0 accepts any earlier apply.
        let record = converged(&mine, 24 * HOUR, 24 * HOUR);
        assert!(decide_now(24, &mine, Some(&record), None).is_ok());
        let record = converged(&mine, 0, 0);
        assert!(decide_now(0, &mine, Some(&record), None).is_ok());
    }

    #[test]
    fn a_recent_apply_is_refused_with_when_it_may_be_applied() {
        let mine = digest("0.1.0", &["data", "vpc"]);
        let record = converged(&mine, 5 * HOUR + 300, 5 * HOUR);
        let refused = decide_now(24, &mine, Some(&record), Some(&record)).expect_err("too recent");
        assert!(refused.contains("5 h 05 min ago"), "{refused}");
        assert!(refused.contains("at least 24 h"), "{refused}");
        assert!(refused.contains(&mine.digest), "{refused}");
        assert!(
            refused.contains(&rfc3339(NOW - 5 * HOUR - 300 + 24 * HOUR)),
            "{refused}"
        );
        let just_short = converged(&mine, 24 * HOUR - 1, 0);
        assert!(decide_now(24, &mine, Some(&just_short), None).is_err());
    }

    #[test]
    fn no_apply_of_the_digest_is_refused_naming_what_stg_ran_instead() {
        let mine = digest("0.2.0", &["data", "data.backup", "vpc"]);
        let refused = decide_now(24, &mine, None, None).expect_err("none");
        assert!(refused.contains("no ok apply at all"), "{refused}");
        assert!(
            refused.contains("stg (stg/us-east-1, table nc-provision-locks)"),
            "{refused}"
        );

        let theirs = digest("0.1.0", &["data", "vpc"]);
        let newest = converged(&theirs, 50 * HOUR, 2 * HOUR);
        let refused = decide_now(24, &mine, None, Some(&newest)).expect_err("other");
        assert!(refused.contains(&theirs.digest), "{refused}");
        assert!(refused.contains("2 h 00 min ago"), "{refused}");
        assert!(
            refused.contains("nc-provision 0.1.0 there, 0.2.0 here"),
            "{refused}"
        );
        assert!(
            refused.contains("modules only here: [data.backup]"),
            "{refused}"
        );
        // A record of another digest never validates, whatever its age.
        let stale = converged(&theirs, 500 * HOUR, 400 * HOUR);
        assert!(decide_now(0, &mine, Some(&stale), Some(&stale)).is_err());
    }

    #[test]
    fn differences_name_every_part() {
        let mut theirs = digest("0.1.0", &["data", "data.backup"]);
        let mine = digest("0.1.0", &["data", "vpc"]);
        theirs.expanders = "sha256:old".into();
        theirs.build_id = Some("abc".into());
        let all = differences(&theirs, &mine).join("; ");
        assert!(all.contains("build abc there, none here"), "{all}");
        assert!(all.contains("expanders differ"), "{all}");
        assert!(all.contains("modules only here: [vpc]"), "{all}");
        assert!(all.contains("modules only there: [data.backup]"), "{all}");
        assert_eq!(differences(&mine, &mine), ["the same parts"]);
    }
}
