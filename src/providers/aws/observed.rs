//! From live AWS resources to an [`Observation`]: one matching and orphan rule for every
//! taggable kind.
//!
//! A live resource is matched to the desired resource of its kind whose name it carries, or,
//! when it has no name (EC2), whose logical id its `nc:id` tag names. One that matches nothing, or repeats a
//! match already made (a duplicate left by an earlier run), is an orphan when its tags say it
//! is ours for this environment — the spec no longer names it, so the plan deletes it (or keeps
//! it, for a retained kind). Anything else (other environments, other tools) is not ours and
//! is left out.

use std::collections::BTreeMap;

use crate::model::{
    Kind, LogicalId, Observation, Observed, Outputs, Owner, Props, Resource, TAG_ID, TAGS,
};

use super::tags::tags_value;

/// The desired resources of `kind`, and the others (for a service that observes its kinds
/// apart).
#[must_use]
pub fn split_by_kind<'a>(
    desired: &[&'a Resource],
    kind: Kind,
) -> (Vec<&'a Resource>, Vec<&'a Resource>) {
    desired.iter().partition(|resource| resource.kind == kind)
}

/// Outputs from (name, value) pairs: `outputs_of([("key_id", id), ("arn", arn)])`.
#[must_use]
pub fn outputs_of<const N: usize>(pairs: [(&str, &str); N]) -> Outputs {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The outputs of a resource known by name and ARN (a table, a topic, a rule, a log group).
#[must_use]
pub fn name_and_arn(name: &str, arn: &str) -> Outputs {
    outputs_of([("name", name), ("arn", arn)])
}

/// A live resource as read from AWS, before it is matched to the spec.
#[derive(Debug, Clone)]
pub struct Live {
    /// Its kind.
    pub kind: Kind,
    /// The AWS identifier (ARN, id or name) the provider acts on.
    pub physical_id: String,
    /// The name a desired resource would find it by (bucket name, topic name, alias).
    pub name: String,
    /// Its tags, as AWS returned them.
    pub tags: BTreeMap<String, String>,
    /// Its attributes under the desired names (tags are added from `tags`).
    pub props: Props,
    /// Its outputs (`arn`, `id`, ...).
    pub outputs: Outputs,
}

impl Live {
    /// A live resource of `kind` known by `physical_id` and found by `name`, with no tags,
    /// attributes or outputs yet.
    #[must_use]
    pub fn new(kind: Kind, physical_id: impl Into<String>, name: impl Into<String>) -> Live {
        Live {
            kind,
            physical_id: physical_id.into(),
            name: name.into(),
            tags: BTreeMap::new(),
            props: Props::new(),
            outputs: Outputs::new(),
        }
    }

    /// The same, with these tags.
    #[must_use]
    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Live {
        self.tags = tags;
        self
    }

    /// The same, with these attributes.
    #[must_use]
    pub fn props(mut self, props: Props) -> Live {
        self.props = props;
        self
    }

    /// The same, with these outputs.
    #[must_use]
    pub fn outputs(mut self, outputs: Outputs) -> Live {
        self.outputs = outputs;
        self
    }

    /// The observation of this resource under logical id `id`, owned as its tags say for
    /// environment `env`; the tags become the `tags` attribute.
    #[must_use]
    pub fn observed(mut self, id: LogicalId, env: &str) -> Observed {
        let owner = Owner::from_tags(&self.tags, env);
        let tags = std::mem::take(&mut self.tags);
        self.props.insert(TAGS.to_string(), tags_value(tags));
        self.owned_by(id, owner)
    }

    /// The observation of this resource under logical id `id`, owned as `owner` says (read
    /// from a marker or an ownership record rather than its tags); its attributes as they are.
    #[must_use]
    pub fn owned_by(self, id: LogicalId, owner: Owner) -> Observed {
        Observed {
            id,
            kind: self.kind,
            physical_id: self.physical_id,
            props: self.props,
            outputs: self.outputs,
            owner,
            retain: self.kind.retained(),
            refused: None,
        }
    }
}

/// Sorts live resources that are known by name and owned by something other than tags (a
/// marker in an alarm's description or a dashboard's body, a metric filter's name prefix):
/// the desired resource of the same name, or an orphan of ours under `<label>:<name>`.
pub struct MarkerSorter<'a> {
    by_name: BTreeMap<&'a str, &'a Resource>,
    label: &'static str,
    observation: Observation,
}

impl<'a> MarkerSorter<'a> {
    /// A sorter for `desired`, naming orphans `<label>:<name>`.
    #[must_use]
    pub fn new(desired: &[&'a Resource], label: &'static str) -> MarkerSorter<'a> {
        MarkerSorter {
            by_name: desired.iter().map(|r| (r.name.as_str(), *r)).collect(),
            label,
            observation: Observation::default(),
        }
    }

    /// Adds one live resource owned as `owner` says: the desired resource of its name, or,
    /// when `orphan` (it is ours though the spec no longer names it), an orphan; else nothing.
    pub fn add(&mut self, live: Live, owner: Owner, orphan: bool) {
        if let Some(resource) = self.by_name.get(live.name.as_str()) {
            let observed = live.owned_by(resource.id.clone(), owner);
            self.observation.insert(observed);
        } else if orphan {
            let id = LogicalId::new(format!("{}:{}", self.label, live.name));
            self.observation.orphans.push(live.owned_by(id, owner));
        }
    }

    /// The observation sorted so far.
    #[must_use]
    pub fn finish(self) -> Observation {
        self.observation
    }
}

/// Sorts live resources into matches and orphans by the module's one rule.
pub struct Sorter<'a> {
    desired: &'a [&'a Resource],
    env: &'a str,
    observation: Observation,
}

impl<'a> Sorter<'a> {
    /// A sorter for the desired resources of one provider in environment `env`.
    #[must_use]
    pub fn new(desired: &'a [&'a Resource], env: &'a str) -> Sorter<'a> {
        Sorter {
            desired,
            env,
            observation: Observation::default(),
        }
    }

    /// The desired resource `live` stands for. A live resource with a name (a role, a topic,
    /// a bucket) is the desired resource of that name, or none: one that carries a desired
    /// resource's `nc:id` under another name is what a rename left behind — an orphan, so the
    /// plan creates the new name and deletes the old, instead of calling the rename no change.
    /// A live resource without a name (EC2's, known only by id) is matched by its `nc:id`.
    fn desired_for(&self, live: &Live) -> Option<&'a Resource> {
        let mut same_kind = self.desired.iter().filter(|r| r.kind == live.kind);
        if live.name.is_empty() {
            let id = live.tags.get(TAG_ID)?;
            return same_kind.find(|r| r.id.as_str() == id).copied();
        }
        same_kind.find(|r| r.name == live.name).copied()
    }

    /// Adds one live resource: a match, an orphan of ours, or nothing.
    pub fn add(&mut self, live: Live) {
        if let Some(resource) = self.desired_for(&live)
            && !self.observation.found.contains_key(&resource.id)
        {
            let observed = live.observed(resource.id.clone(), self.env);
            self.observation.insert(observed);
            return;
        }
        if Owner::from_tags(&live.tags, self.env) != Owner::Ours {
            return;
        }
        let Some(id) = live.tags.get(TAG_ID).cloned() else {
            return;
        };
        let observed = live.observed(LogicalId::new(id), self.env);
        self.observation.orphans.push(observed);
    }

    /// Adds an observation made another way (a singleton, a resource read by name).
    pub fn insert(&mut self, observed: Observed) {
        self.observation.insert(observed);
    }

    /// The observation sorted so far.
    #[must_use]
    pub fn finish(self) -> Observation {
        self.observation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MANAGER, TAG_ENV, TAG_MANAGED_BY};

    fn ours(env: &str, id: &str) -> BTreeMap<String, String> {
        [
            (TAG_MANAGED_BY.to_string(), MANAGER.to_string()),
            (TAG_ENV.to_string(), env.to_string()),
            (TAG_ID.to_string(), id.to_string()),
        ]
        .into()
    }

    #[test]
    fn live_resources_match_by_id_tag_or_name_and_ours_left_over_are_orphans() {
        let topic = Resource::new("obs.topic.ops", Kind::SnsTopic, "nc-stg-ops");
        let desired = [&topic];
        let mut sorter = Sorter::new(&desired, "stg");
        sorter.add(
            Live::new(Kind::SnsTopic, "arn:ops", "nc-stg-ops").tags(ours("stg", "obs.topic.ops")),
        );
        sorter.add(
            Live::new(Kind::SnsTopic, "arn:dup", "nc-stg-ops-2").tags(ours("stg", "obs.topic.ops")),
        );
        sorter.add(
            Live::new(Kind::SnsTopic, "arn:gone", "nc-stg-old").tags(ours("stg", "obs.topic.old")),
        );
        sorter.add(
            Live::new(Kind::SnsTopic, "arn:prod", "nc-prod-old")
                .tags(ours("prod", "obs.topic.old")),
        );
        sorter.add(Live::new(Kind::SnsTopic, "arn:foreign", "someone-elses"));
        let observation = sorter.finish();
        assert_eq!(observation.found[&topic.id].physical_id, "arn:ops");
        assert_eq!(observation.found[&topic.id].owner, Owner::Ours);
        let orphans: Vec<&str> = observation
            .orphans
            .iter()
            .map(|o| o.physical_id.as_str())
            .collect();
        assert_eq!(orphans, ["arn:dup", "arn:gone"]);
    }

    #[test]
    fn a_renamed_resource_leaves_an_orphan_and_an_unnamed_one_matches_by_id() {
        let role = Resource::new("iam.role.etl", Kind::IamRole, "nc-stg-etl-v2");
        let vpc = Resource::new("vpc.main", Kind::Vpc, "vpc");
        let desired = [&role, &vpc];
        let mut sorter = Sorter::new(&desired, "stg");
        sorter.add(
            Live::new(Kind::IamRole, "nc-stg-etl", "nc-stg-etl").tags(ours("stg", "iam.role.etl")),
        );
        sorter.add(Live::new(Kind::Vpc, "vpc-123", "").tags(ours("stg", "vpc.main")));
        let observation = sorter.finish();
        assert!(
            !observation.found.contains_key(&role.id),
            "the new name is created"
        );
        assert_eq!(observation.orphans[0].physical_id, "nc-stg-etl");
        assert_eq!(observation.found[&vpc.id].physical_id, "vpc-123");
    }

    #[test]
    fn an_untagged_resource_with_the_desired_name_is_matched_as_foreign() {
        let bucket = Resource::new("data.bucket.raw", Kind::S3Bucket, "nc-dp-stg-raw");
        let desired = [&bucket];
        let mut sorter = Sorter::new(&desired, "stg");
        sorter.add(Live::new(Kind::S3Bucket, "nc-dp-stg-raw", "nc-dp-stg-raw"));
        let observation = sorter.finish();
        let observed = &observation.found[&bucket.id];
        assert_eq!(observed.owner, Owner::Foreign);
        assert!(observed.retain, "buckets are data-bearing");
    }
}
