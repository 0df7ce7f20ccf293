//! The plan and selection over mocked clients: moto (the only emulator with AWS Backup) has
//! neither UpdateBackupPlan nor any selection call (it answers an HTML 500 page), so a rule
//! repaired in place, a selection observed, created or found as an orphan cannot be staged on
//! an emulator.

use std::collections::BTreeMap;

use aws_sdk_backup::operation::create_backup_selection::CreateBackupSelectionOutput;
use aws_sdk_backup::operation::get_backup_plan::GetBackupPlanOutput;
use aws_sdk_backup::operation::get_backup_selection::GetBackupSelectionOutput;
use aws_sdk_backup::operation::list_backup_plans::ListBackupPlansOutput;
use aws_sdk_backup::operation::list_backup_selections::ListBackupSelectionsOutput;
use aws_sdk_backup::operation::list_tags::ListTagsOutput;
use aws_sdk_backup::operation::update_backup_plan::UpdateBackupPlanOutput;
use aws_sdk_backup::types::{
    BackupPlan, BackupPlansListMember, BackupRule, BackupSelection, BackupSelectionsListMember,
    CopyAction, Lifecycle,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::*;
use crate::model::{Owner, Value};

const PLAN_ARN: &str = "arn:aws:backup:us-east-1:123456789012:backup-plan:p-1";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/nc/nc-prod-backup";
const DR_VAULT: &str = "arn:aws:backup:ca-central-1:123456789012:backup-vault:nc-prod-backup-vault";

fn tags(id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ManagedBy".to_string(), "nc-provision".to_string()),
        ("nc:env".to_string(), "prod".to_string()),
        ("nc:id".to_string(), id.to_string()),
    ])
}

/// The prod plan as the module writes it (one daily rule, kept 30 days, copied to the DR vault).
fn plan_resource() -> Resource {
    Resource::new("backup.plan", Kind::BackupPlan, "nc-prod-backup")
        .prop("rules", Value::List(vec![Value::str("daily")]))
        .prop("rule.daily.schedule", "cron(0 5 ? * * *)")
        .prop("rule.daily.target_vault", "nc-prod-backup-vault")
        .prop("rule.daily.delete_after_days", 30)
        .prop("rule.daily.continuous", false)
        .prop("rule.daily.copy_delete_after_days", 30)
        .prop(
            "rule.daily.copy_to",
            Value::List(vec![Value::str(DR_VAULT)]),
        )
        .prop("tags", Value::Map(tags("backup.plan")))
}

fn selection_resource() -> Resource {
    Resource::new(
        "backup.selection",
        Kind::BackupSelection,
        "nc-prod-backup-data",
    )
    .prop("plan", "nc-prod-backup")
    .prop("iam_role", ROLE_ARN)
    .prop(
        "resources",
        Value::List(vec![
            Value::str("arn:aws:s3:::nc-dp-prod-norm"),
            Value::str("arn:aws:s3:::nc-dp-prod-raw"),
        ]),
    )
}

/// The provider over a client that answers with `rules` (in emulator mode when `emulator`).
fn mocked(rules: &[aws_smithy_mocks::Rule], emulator: bool) -> BackupProvider {
    BackupProvider::from_client(
        mock_client!(aws_sdk_backup, RuleMode::MatchAny, rules.iter()),
        emulator,
    )
}

/// The outputs of the provider's create of `resource` over a client that answers with `rules`;
/// a failure panics with `expected`.
async fn created(rules: &[aws_smithy_mocks::Rule], resource: &Resource, expected: &str) -> Outputs {
    let provider = mocked(rules, false);
    provider.create(resource, &ctx()).await.expect(expected)
}

fn ctx() -> StepCtx {
    StepCtx::silent("backup.plan", "prod", std::time::Duration::from_secs(1))
}

fn lifecycle(days: i64) -> Lifecycle {
    Lifecycle::builder().delete_after_days(days).build()
}

/// The live plan, with its daily rule kept `days` days.
fn live_rule(days: i64) -> BackupRule {
    BackupRule::builder()
        .rule_name("daily")
        .target_backup_vault_name("nc-prod-backup-vault")
        .schedule_expression("cron(0 5 ? * * *)")
        .lifecycle(lifecycle(days))
        .copy_actions(
            CopyAction::builder()
                .destination_backup_vault_arn(DR_VAULT)
                .lifecycle(lifecycle(30))
                .build()
                .expect("copy action"),
        )
        .build()
        .expect("rule")
}

/// ListBackupPlans with the prod plan.
fn plans_with_ours() -> ListBackupPlansOutput {
    ListBackupPlansOutput::builder()
        .backup_plans_list(
            BackupPlansListMember::builder()
                .backup_plan_id("p-1")
                .backup_plan_name("nc-prod-backup")
                .backup_plan_arn(PLAN_ARN)
                .version_id("v1")
                .build(),
        )
        .build()
}

fn list_plans() -> aws_smithy_mocks::Rule {
    mock!(Client::list_backup_plans).then_output(plans_with_ours)
}

fn get_plan(days: i64) -> aws_smithy_mocks::Rule {
    mock!(Client::get_backup_plan).then_output(move || {
        GetBackupPlanOutput::builder()
            .backup_plan_id("p-1")
            .version_id("v1")
            .backup_plan(
                BackupPlan::builder()
                    .backup_plan_name("nc-prod-backup")
                    .rules(live_rule(days))
                    .build()
                    .expect("plan"),
            )
            .build()
    })
}

fn list_tags() -> aws_smithy_mocks::Rule {
    mock!(Client::list_tags).then_output(|| {
        ListTagsOutput::builder()
            .set_tags(Some(tags("backup.plan").into_iter().collect()))
            .build()
    })
}

fn list_selections(names: &'static [(&'static str, &'static str)]) -> aws_smithy_mocks::Rule {
    mock!(Client::list_backup_selections)
        .match_requests(|request| request.backup_plan_id() == Some("p-1"))
        .then_output(move || {
            let mut output = ListBackupSelectionsOutput::builder();
            for (id, name) in names {
                output = output.backup_selections_list(
                    BackupSelectionsListMember::builder()
                        .selection_id(*id)
                        .selection_name(*name)
                        .backup_plan_id("p-1")
                        .build(),
                );
            }
            output.build()
        })
}

fn get_selection(id: &'static str, name: &'static str) -> aws_smithy_mocks::Rule {
    mock!(Client::get_backup_selection)
        .match_requests(move |request| request.selection_id() == Some(id))
        .then_output(move || {
            GetBackupSelectionOutput::builder()
                .selection_id(id)
                .backup_plan_id("p-1")
                .backup_selection(
                    BackupSelection::builder()
                        .selection_name(name)
                        .iam_role_arn(ROLE_ARN)
                        .resources("arn:aws:s3:::nc-dp-prod-raw")
                        .resources("arn:aws:s3:::nc-dp-prod-norm")
                        .build()
                        .expect("selection"),
                )
                .build()
        })
}

/// The selection of our plan is observed with its role and resources (sorted, as the module
/// writes them), so a matching one is no change; another selection of our plan is an orphan.
#[tokio::test]
async fn selections_of_our_plan_are_matched_by_name_and_the_rest_are_orphans() {
    let rules = [
        list_plans(),
        get_plan(30),
        list_tags(),
        list_selections(&[("s-1", "nc-prod-backup-data"), ("s-2", "by-hand")]),
        get_selection("s-1", "nc-prod-backup-data"),
        get_selection("s-2", "by-hand"),
    ];
    let provider = mocked(&rules, false);
    let (plan, selection) = (plan_resource(), selection_resource());
    let observation = provider
        .observe(&[&plan, &selection], "prod")
        .await
        .expect("observe");

    let found = &observation.found[&selection.id];
    assert_eq!(found.physical_id, "s-1");
    assert_eq!(found.outputs["plan_id"], "p-1");
    for name in ["plan", "iam_role", "resources"] {
        assert!(
            found.props[name].equivalent(&selection.props[name]),
            "{name}: {:?} vs {:?}",
            found.props[name],
            selection.props[name]
        );
    }
    assert_eq!(observation.orphans.len(), 1, "{:?}", observation.orphans);
    assert_eq!(observation.orphans[0].physical_id, "s-2");
    assert_eq!(observation.orphans[0].owner, Owner::Ours);

    // The plan itself matches the spec: every rule attribute equal.
    let plan_found = &observation.found[&plan.id];
    for (name, value) in &plan.props {
        assert!(
            plan_found
                .props
                .get(name)
                .is_some_and(|v| v.equivalent(value)),
            "{name}: {:?} vs {value:?}",
            plan_found.props.get(name)
        );
    }
}

/// A rule changed out of band (kept 7 days instead of 30) is observed as such, and the update
/// puts the spec's whole rule set back with UpdateBackupPlan, copy action included.
#[tokio::test]
async fn a_rule_changed_out_of_band_is_put_back_with_update_backup_plan() {
    let update = mock!(Client::update_backup_plan)
        .match_requests(|request| {
            let Some(plan) = request.backup_plan() else {
                return false;
            };
            let rule = &plan.rules()[0];
            request.backup_plan_id() == Some("p-1")
                && plan.rules().len() == 1
                && rule.rule_name() == "daily"
                && rule.lifecycle().and_then(Lifecycle::delete_after_days) == Some(30)
                && rule.enable_continuous_backup() == Some(false)
                && rule.copy_actions().len() == 1
                && rule.copy_actions()[0].destination_backup_vault_arn() == DR_VAULT
                && rule.copy_actions()[0]
                    .lifecycle()
                    .and_then(Lifecycle::delete_after_days)
                    == Some(30)
        })
        .then_output(|| UpdateBackupPlanOutput::builder().version_id("v2").build());
    let rules = [list_plans(), get_plan(7), list_tags(), update];
    let provider = mocked(&rules, false);
    let plan = plan_resource();
    let observation = provider.observe(&[&plan], "prod").await.expect("observe");
    let observed = &observation.found[&plan.id];
    assert_eq!(
        observed.props["rule.daily.delete_after_days"],
        Value::Int(7),
        "the drift is seen"
    );
    let outputs = provider
        .update(
            &Change::new(
                &plan,
                observed,
                &crate::model::Delta::new(["rule.daily.delete_after_days"]),
            ),
            &ctx(),
        )
        .await
        .expect("update");
    assert_eq!(outputs["version_id"], "v2");
    assert_eq!(rules[3].num_calls(), 1, "one UpdateBackupPlan");
}

/// CreateBackupSelection goes into the plan the selection names (found by name), with the
/// role, the resources and the step's `CreatorRequestId` (so the SDK's re-send after a lost
/// answer cannot add a second selection of the same name).
#[tokio::test]
async fn a_selection_is_created_in_its_plan_with_the_role_and_resources() {
    let create = mock!(Client::create_backup_selection)
        .match_requests(|request| {
            let token = client_token("run", "prod", "backup.plan", 0);
            let resources = [
                "arn:aws:s3:::nc-dp-prod-norm",
                "arn:aws:s3:::nc-dp-prod-raw",
            ];
            request.backup_plan_id() == Some("p-1")
                && request.creator_request_id() == Some(token.as_str())
                && request.backup_selection().is_some_and(|selection| {
                    selection.selection_name() == "nc-prod-backup-data"
                        && selection.iam_role_arn() == ROLE_ARN
                        && selection.resources() == resources
                })
        })
        .then_output(|| {
            CreateBackupSelectionOutput::builder()
                .selection_id("s-9")
                .backup_plan_id("p-1")
                .build()
        });
    let rules = [list_plans(), list_selections(&[]), create];
    let outputs = created(&rules, &selection_resource(), "create").await;
    assert_eq!(outputs["id"], "s-9");
    assert_eq!(outputs["plan_id"], "p-1");
    assert_eq!(rules[2].num_calls(), 1);
}

/// moto's answer to the selection calls (an HTML 500 page, no AWS error document): in emulator
/// mode the selection is listed as not checked while the plan is still observed; outside it,
/// that answer is an error naming the action.
#[tokio::test]
async fn an_html_500_for_the_selection_api_is_not_checked_only_in_emulator_mode() {
    let page = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>";
    let make = |emulator: bool| {
        let lacking = mock!(Client::list_backup_selections)
            .sequence()
            .http_status(500, Some(page.to_string()))
            .repeatedly()
            .build();
        let rules = [list_plans(), get_plan(30), list_tags(), lacking];
        mocked(&rules, emulator)
    };
    let (plan, selection) = (plan_resource(), selection_resource());
    let observation = make(true)
        .observe(&[&plan, &selection], "prod")
        .await
        .expect("observe in emulator mode");
    assert!(observation.found.contains_key(&plan.id));
    assert!(
        observation.unsupported[&selection.id].contains("backup:ListBackupSelections"),
        "{:?}",
        observation.unsupported
    );
    let error = make(false)
        .observe(&[&plan, &selection], "prod")
        .await
        .expect_err("an error outside emulator mode");
    assert_eq!(error.action, "backup:ListBackupSelections");
    assert_ne!(error.class, ErrorClass::Unsupported);
}

/// The first CreateBackupPlan took effect and its answer was lost; the re-send meets the plan
/// (moto answers AlreadyExists; AWS returns the plan for the same `CreatorRequestId`). The step
/// takes that plan as its own, after checking its tags, and never makes a second one.
#[tokio::test]
async fn a_plan_create_whose_answer_was_lost_reuses_the_plan_it_made() {
    let listed = mock!(Client::list_backup_plans)
        .sequence()
        .output(|| ListBackupPlansOutput::builder().build())
        .output(plans_with_ours)
        .build();
    let create = mock!(Client::create_backup_plan)
        .match_requests(|request| {
            request.creator_request_id()
                == Some(client_token("run", "prod", "backup.plan", 0).as_str())
        })
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"AlreadyExistsException","Message":"Backup plan with the same plan document already exists"}"#
                    .to_string(),
            ),
        )
        .build();
    let rules = [listed, create, list_tags()];
    let reused = "the plan the lost answer made is this step's";
    let outputs = created(&rules, &plan_resource(), reused).await;
    assert_eq!(outputs["id"], "p-1");
    assert_eq!(outputs["version_id"], "v1");
    assert_eq!(rules[1].num_calls(), 1, "one CreateBackupPlan");
    assert_eq!(rules[0].num_calls(), 2, "listed before and after");
}
