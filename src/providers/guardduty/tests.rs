//! The detector over mocked clients: moto lacks GuardDuty TagResource and allows a second
//! detector per region (AWS does not), so neither adoption nor the create race can be staged
//! on an emulator.

use super::*;
use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
use aws_sdk_guardduty::operation::tag_resource::TagResourceOutput;
use aws_sdk_guardduty::operation::update_detector::UpdateDetectorOutput;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::{mock, mock_client};

fn detector() -> Resource {
    let tags = BTreeMap::from([
        ("ManagedBy".to_string(), "nc-provision".to_string()),
        ("nc:env".to_string(), "prod".to_string()),
        (
            "nc:id".to_string(),
            "observability.guardduty.detector".to_string(),
        ),
    ]);
    Resource::new(
        "observability.guardduty.detector",
        Kind::GuardDutyDetector,
        "detector",
    )
    .prop("enabled", true)
    .prop("frequency", "FIFTEEN_MINUTES")
    .prop("tags", Value::Map(tags))
}

fn ctx() -> StepCtx {
    StepCtx::silent(
        "observability.guardduty.detector",
        "prod",
        std::time::Duration::from_secs(1),
    )
}

/// moto has no GuardDuty TagResource (404): adopting the region's existing, untagged
/// detector is covered here. It is observed as foreign, and the update tags it by its ARN
/// and sets the frequency, without creating a second detector.
#[tokio::test]
async fn the_existing_detector_is_reused_and_adopted_by_tagging_it() {
    let list = mock!(Client::list_detectors)
        .then_output(|| ListDetectorsOutput::builder().detector_ids("d-1").build());
    let get = mock!(Client::get_detector).then_output(|| {
        GetDetectorOutput::builder()
            .status(DetectorStatus::Enabled)
            .finding_publishing_frequency(FindingPublishingFrequency::SixHours)
            .build()
    });
    let update = mock!(Client::update_detector)
        .match_requests(|request| {
            request.detector_id() == Some("d-1")
                && request.finding_publishing_frequency()
                    == Some(&FindingPublishingFrequency::FifteenMinutes)
        })
        .then_output(|| UpdateDetectorOutput::builder().build());
    let tag = mock!(Client::tag_resource)
        .match_requests(|request| {
            request.resource_arn()
                == Some("arn:aws:guardduty:ca-central-1:123456789012:detector/d-1")
                && request
                    .tags()
                    .is_some_and(|tags| tags.get("nc:env").map(String::as_str) == Some("prod"))
        })
        .then_output(|| TagResourceOutput::builder().build());
    let identity = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        GetCallerIdentityOutput::builder()
            .account("123456789012")
            .build()
    });
    let provider = GuardDutyProvider::from_clients(
        mock_client!(aws_sdk_guardduty, [&list, &get, &update, &tag]),
        mock_client!(aws_sdk_sts, [&identity]),
        "ca-central-1",
    );
    let resource = detector();
    let observation = provider
        .observe(&[&resource], "prod")
        .await
        .expect("observe");
    let observed = observation.found[&resource.id].clone();
    assert_eq!(observed.owner, Owner::Foreign);
    assert_eq!(observed.physical_id, "d-1");
    let graph = crate::model::DesiredGraph::new(vec![resource.clone()]).expect("graph");
    let options = crate::plan::DiffOptions { adopt: true };
    let changes = crate::plan::diff(&graph, &observation, options);
    assert_eq!(changes[0].action, crate::plan::Action::Adopt);
    provider
        .update(
            &Change::new(&resource, &observed, &changes[0].delta()),
            &ctx(),
        )
        .await
        .expect("adopt");
    assert_eq!(
        update.num_calls(),
        1,
        "frequency set on the existing detector"
    );
    assert_eq!(tag.num_calls(), 1, "tagged as ours");
}

/// moto lets a second detector be created per region, which AWS refuses, so the race of
/// a detector appearing between the plan and CreateDetector cannot be staged there. A
/// detector someone else made is never reused silently (it would stay untagged and be a
/// conflict on the next plan); one tagged as ours (a retried step) is reused.
#[tokio::test]
async fn create_reuses_only_a_detector_tagged_as_ours() {
    for (tags, reused) in [
        (vec![("team", "security")], false),
        (
            vec![
                ("ManagedBy", "nc-provision"),
                ("nc:env", "prod"),
                ("nc:id", "observability.guardduty.detector"),
            ],
            true,
        ),
    ] {
        let list = mock!(Client::list_detectors)
            .then_output(|| ListDetectorsOutput::builder().detector_ids("d-1").build());
        let live: HashMap<String, String> = tags
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let get = mock!(Client::get_detector).then_output(move || {
            GetDetectorOutput::builder()
                .status(DetectorStatus::Enabled)
                .set_tags(Some(live.clone()))
                .build()
        });
        let update =
            mock!(Client::update_detector).then_output(|| UpdateDetectorOutput::builder().build());
        let create = mock!(Client::create_detector).then_output(|| {
            aws_sdk_guardduty::operation::create_detector::CreateDetectorOutput::builder()
                .detector_id("d-2")
                .build()
        });
        let provider = GuardDutyProvider::from_clients(
            mock_client!(
                aws_sdk_guardduty,
                aws_smithy_mocks::RuleMode::MatchAny,
                [&list, &get, &update, &create]
            ),
            mock_client!(aws_sdk_sts, []),
            "ca-central-1",
        );
        let result = provider.create(&detector(), &ctx()).await;
        assert_eq!(create.num_calls(), 0, "never a second detector");
        if reused {
            assert_eq!(result.expect("reused")["id"], "d-1");
            assert_eq!(update.num_calls(), 1);
        } else {
            let error = result.expect_err("refused");
            assert!(error.message.contains("--adopt"), "{error}");
            assert_eq!(update.num_calls(), 0, "someone else's detector untouched");
        }
    }
}
