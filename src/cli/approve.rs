//! `approve` and `approvals`: recorded approvals of saved plans, and the check `apply --plan`
//! makes against the spec's change control. `approvals` also lists the "validated in stg
//! first" rule as a requirement when the spec has it (the apply checks it again).

use anyhow::{Context, bail};

use super::args::{ApprovalsArgs, ApproveArgs, Cli, Format};
use super::{ExitStatus, output};
use crate::control::modules_digest::ModulesDigest;
use crate::control::{self, Approval};
use crate::plan::{Plan, SavedPlan};
use crate::providers::approvals::Approvals;
use crate::providers::{self, Aws};
use crate::spec::{ChangeControl, Spec};

/// Reads a saved plan file.
pub(super) fn read_saved(path: &std::path::Path) -> anyhow::Result<SavedPlan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the saved plan {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a saved nc-provision plan", path.display()))
}

/// The spec of a saved plan's environment and its change control, checking that the spec is
/// still the one the plan was made from.
fn spec_and_control(cli: &Cli, saved: &SavedPlan) -> anyhow::Result<(Spec, ChangeControl)> {
    let spec = crate::spec::load_with(&cli.specs, &saved.env, &cli.variables())?;
    if spec.digest != saved.spec_digest {
        bail!(
            "the spec {} changed since the plan was made; make a new plan and approve that",
            spec.path.display()
        );
    }
    let Some(control) = spec.change_control.clone() else {
        bail!(
            "environment {} has no [change_control] in its spec: its plans need no approvals",
            saved.env
        );
    };
    Ok((spec, control))
}

fn all_roles(control: &ChangeControl) -> Vec<String> {
    control.approvers.keys().cloned().collect()
}

pub(super) async fn approve(cli: &Cli, args: &ApproveArgs) -> anyhow::Result<ExitStatus> {
    let saved = read_saved(&args.plan)?;
    let (_, control) = spec_and_control(cli, &saved)?;
    if !control.approvers.contains_key(&args.role) {
        bail!(
            "{} is not an approver role of {}: the spec names {}",
            args.role,
            saved.env,
            all_roles(&control).join(", ")
        );
    }
    let aws = Aws::load(&saved.region).await.with_emulator(cli.emulator);
    let caller = providers::caller(&aws).await?;
    if caller.account != saved.account_id {
        bail!(
            "the plan is for account {} but your credentials are for account {}",
            saved.account_id,
            caller.account
        );
    }
    if !control::holds(&control, &args.role, &caller.arn) {
        bail!(
            "{} does not hold {} in the spec's [change_control.approvers] (allowed: {})",
            caller.arn,
            args.role,
            control
                .approvers
                .get(&args.role)
                .map(|patterns| patterns.join(", "))
                .unwrap_or_default()
        );
    }
    let digest = saved.digest();
    let approval = Approval {
        plan_digest: digest.clone(),
        role: args.role.clone(),
        principal: caller.arn.clone(),
        at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        comment: args.comment.clone(),
    };
    let key = format!("{}/{}", saved.env, saved.region);
    let store = Approvals::new(&aws, &key);
    match store.record(&approval).await? {
        None => output::data(&format!(
            "Recorded: {} approved plan {digest} of {key} as {}.",
            caller.arn, args.role
        )),
        Some(existing) if existing.principal == caller.arn => output::data(&format!(
            "You already approved plan {digest} as {} at {}.",
            args.role, existing.at
        )),
        Some(existing) => bail!(
            "{} already approved plan {digest} as {} at {}; a role approves a plan once (you are {})",
            existing.principal,
            args.role,
            existing.at,
            caller.arn
        ),
    }
    let recorded = store.list(&digest, &all_roles(&control)).await?;
    let still = control::missing(&control, saved.risk, &digest, &recorded, "");
    if still.is_empty() {
        output::data("Every required approval is recorded.");
    } else {
        output::data(&format!("Still missing:\n  - {}", still.join("\n  - ")));
    }
    Ok(ExitStatus::Success)
}

pub(super) async fn approvals(cli: &Cli, args: &ApprovalsArgs) -> anyhow::Result<ExitStatus> {
    let saved = read_saved(&args.plan)?;
    let (spec, control) = spec_and_control(cli, &saved)?;
    let aws = Aws::load(&saved.region).await.with_emulator(cli.emulator);
    let digest = saved.digest();
    let key = format!("{}/{}", saved.env, saved.region);
    let recorded = Approvals::new(&aws, &key)
        .list(&digest, &all_roles(&control))
        .await?;
    let required = control::required_roles(&control, saved.risk);
    let mut still = control::missing(&control, saved.risk, &digest, &recorded, "");
    // The "validated in stg first" rule is a requirement of the apply too (checked again then).
    let validated = validated_in(cli, &aws, &spec).await?;
    if let Some(Err(why)) = &validated {
        still.push(format!("validated in {}: {why}", rule_env(&control)));
    }
    match args.format {
        Format::Json => output::json(&serde_json::json!({
            "plan_digest": digest,
            "env": saved.env,
            "region": saved.region,
            "risk": saved.risk,
            "required_roles": required,
            "approvals": recorded,
            "validated_in": validated.as_ref().map(|verdict| match verdict {
                Ok(evidence) => serde_json::json!({ "ok": true, "evidence": evidence }),
                Err(why) => serde_json::json!({ "ok": false, "why": why }),
            }),
            "missing": still,
            "complete": still.is_empty(),
        })),
        Format::Human | Format::Markdown => {
            let mut text = format!(
                "Plan {digest} of {key}: risk {}, needs {}.\n",
                saved.risk.map_or("none", |risk| risk.name()),
                if required.is_empty() {
                    "no approvals".to_string()
                } else {
                    required.join(", ")
                }
            );
            for approval in &recorded {
                text.push_str(&format!(
                    "  {:<14} {} at {}{}\n",
                    approval.role,
                    approval.principal,
                    approval.at,
                    approval
                        .comment
                        .as_deref()
                        .map(|comment| format!(": {comment}"))
                        .unwrap_or_default()
                ));
            }
            if let Some(Ok(evidence)) = &validated {
                text.push_str(&format!(
                    "  validated in {}: modules digest {} first applied there at {} ({} h before now; needs {} h)\n",
                    evidence.env,
                    evidence.modules_digest,
                    evidence.first_at,
                    evidence.hours_before,
                    evidence.min_hours
                ));
            }
            if still.is_empty() {
                text.push_str("Complete: apply --plan may proceed.");
            } else {
                text.push_str(&format!("Missing:\n  - {}", still.join("\n  - ")));
            }
            output::data(&text);
        }
    }
    Ok(if still.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Changes
    })
}

/// The environment named by the spec's `[change_control.validated_in]` (for messages).
fn rule_env(control: &ChangeControl) -> &str {
    control
        .validated_in
        .as_ref()
        .map_or("stg", |rule| rule.env.as_str())
}

/// The "validated in stg first" verdict for `spec` run by this build (`None`: no such rule),
/// as the caller of `aws` would be checked at apply time.
async fn validated_in(
    cli: &Cli,
    aws: &Aws,
    spec: &Spec,
) -> anyhow::Result<Option<crate::control::stg_first::Verdict>> {
    if spec
        .change_control
        .as_ref()
        .and_then(|control| control.validated_in.as_ref())
        .is_none()
    {
        return Ok(None);
    }
    let modules = ModulesDigest::of(spec).map_err(anyhow::Error::msg)?;
    let caller = providers::caller(aws).await?;
    Ok(crate::engine::apply::validated_in(aws, &caller, spec, &modules, &cli.variables()).await)
}

/// Checks the recorded approvals of the saved plan `saved` before `apply --plan` carries out
/// `plan` as `applier`. Returns the approvals (for the audit record).
///
/// # Errors
/// Approvals are missing, or could not be read.
pub(super) async fn check_approvals(
    aws: &Aws,
    control: &ChangeControl,
    saved: &SavedPlan,
    plan: &Plan,
    applier: &str,
) -> anyhow::Result<Vec<Approval>> {
    let risk = plan.risk();
    let required = control::required_roles(control, risk);
    if required.is_empty() {
        return Ok(Vec::new());
    }
    let digest = saved.digest();
    let key = format!("{}/{}", saved.env, saved.region);
    let recorded = Approvals::new(aws, &key)
        .list(&digest, &all_roles(control))
        .await?;
    let still = control::missing(control, risk, &digest, &recorded, applier);
    if !still.is_empty() {
        bail!(
            "apply refuses: the plan ({} risk) lacks approvals required by the spec's change control; nothing was changed:\n  - {}\nApprovers run: nc-provision approve --plan FILE --as ROLE (plan digest {digest})",
            risk.map_or("no", |risk| risk.name()),
            still.join("\n  - ")
        );
    }
    Ok(recorded)
}
