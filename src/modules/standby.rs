//! The DR region's standby data stores, kept by the primary apply.
//!
//! With `data.replicate_to_dr_region`, the primary region's apply also keeps, in the DR region,
//! what replication writes into: the DR data key (with its key policy) and one replica bucket per
//! data bucket. They are the DR region's own expansion of the kms and data modules, so a later
//! `dr rebuild` finds them exactly as it would have made them (same names, same tags, same
//! `nc:id`) and has nothing to change. In the primary graph they carry the logical ids of the DR
//! expansion under [`addr::STANDBY_PREFIX`] and the DR region in [`Resource::region`]; their
//! references to each other follow the new ids, and references to global resources (the IAM
//! roles a key policy names) stay as they are.
//!
//! The standby exists before any disaster, so a rebuild never waits for data to arrive, and the
//! primary's replication (S3 Replication Time Control, the table's global replica) always has a
//! destination. Only the standby's own resources are observed in the DR region: the rest of
//! that region (its VPC, its log groups) belongs to `dr rebuild`, never to the primary's plan.

use std::collections::BTreeSet;

use super::addr;
use crate::model::{LogicalId, Resource};

/// The standby copies of `resources` (the DR region's expansion of them): each under
/// `dr.<id>`, placed in `region`, with references among them renamed alike.
#[must_use]
pub fn relabel(resources: Vec<Resource>, region: &str) -> Vec<Resource> {
    let ids: BTreeSet<LogicalId> = resources.iter().map(|r| r.id.clone()).collect();
    let rename = |id: &LogicalId| ids.contains(id).then(|| addr::standby(id.as_str()));
    resources
        .into_iter()
        .map(|mut resource| {
            resource.id = addr::standby(resource.id.as_str());
            for value in resource.props.values_mut() {
                *value = value.rename_refs(&rename);
            }
            for value in resource.create_inputs.values_mut() {
                *value = value.rename_refs(&rename);
            }
            for dependency in &mut resource.depends_on {
                if let Some(renamed) = rename(dependency) {
                    *dependency = renamed;
                }
            }
            resource.in_region(region)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Value};

    #[test]
    fn copies_move_to_the_region_and_refer_to_each_other_under_their_new_ids() {
        let key = Resource::new("kms.key.data", Kind::KmsKey, "alias/nc-dp-data-prod");
        let bucket = Resource::new("data.bucket.raw", Kind::S3Bucket, "nc-dp-prod-raw-cac1")
            .prop("sse_kms_key", Value::reference(&key.id, "arn"))
            .prop(
                "writer",
                Value::reference(&LogicalId::new("iam.role.x"), "arn"),
            )
            .after(&key.id);
        let copies = relabel(vec![key, bucket], "ca-central-1");
        assert_eq!(copies[0].id.as_str(), "dr.kms.key.data");
        assert_eq!(copies[1].id.as_str(), "dr.data.bucket.raw");
        assert!(
            copies
                .iter()
                .all(|r| r.region.as_deref() == Some("ca-central-1"))
        );
        assert_eq!(
            copies[1].props["sse_kms_key"],
            Value::reference(&LogicalId::new("dr.kms.key.data"), "arn")
        );
        assert_eq!(
            copies[1].props["writer"],
            Value::reference(&LogicalId::new("iam.role.x"), "arn"),
            "a reference outside the copied set is kept"
        );
        assert_eq!(copies[1].depends_on, [LogicalId::new("dr.kms.key.data")]);
        // The names are the DR expansion's own: the rebuild finds the same resources.
        assert_eq!(copies[1].name, "nc-dp-prod-raw-cac1");
    }
}
