//! Desired and observed resources.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::cause::Origins;
use super::kind::Kind;
use super::value::{Props, Value};

/// A stable logical id such as `kms.key.data` or `data.bucket.raw`. It is written to the
/// `nc:id` tag of every resource the tool creates, so it never changes between runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogicalId(pub String);

impl LogicalId {
    /// Builds an id from its dotted text.
    #[must_use]
    pub fn new(text: impl Into<String>) -> LogicalId {
        LogicalId(text.into())
    }

    /// The dotted text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LogicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Named outputs of a live resource (`arn`, `id`, ...), read by references.
pub type Outputs = BTreeMap<String, String>;

/// What the spec wants one resource to be.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Stable logical id.
    pub id: LogicalId,
    /// Resource kind, e.g. [`Kind::KmsKey`]; selects the provider.
    pub kind: Kind,
    /// The physical name the resource is found by (bucket name, alias, table name).
    pub name: String,
    /// Desired attributes, all observed and diffed.
    pub props: Props,
    /// Inputs used only when creating (e.g. a KMS deletion window); never diffed.
    pub create_inputs: Props,
    /// Attributes whose change cannot be made in place and forces a replacement.
    pub replace_on: &'static [&'static str],
    /// Resources this one needs to exist first.
    pub depends_on: Vec<LogicalId>,
    /// Data-bearing: never deleted or replaced by the tool (shown as retained).
    pub retain: bool,
    /// Global (IAM): shared by every region of the account.
    pub global: bool,
    /// The region the resource lives in when it is not the session's own: a standby resource
    /// that the primary apply keeps in the DR region (its data key, the replica buckets).
    /// `None`: the session's region.
    pub region: Option<String>,
    /// The spec keys (and, once located, lines) the resource and its attributes come from:
    /// the causes a plan names. Not a property: never diffed or sent to AWS.
    pub origins: Origins,
}

impl Resource {
    /// A resource with no attributes yet; the module expanders fill it in. Whether it is
    /// retained (data-bearing) and global comes from its kind.
    #[must_use]
    pub fn new(id: &str, kind: Kind, name: impl Into<String>) -> Resource {
        Resource {
            id: LogicalId::new(id),
            kind,
            name: name.into(),
            props: Props::new(),
            create_inputs: Props::new(),
            replace_on: &[],
            depends_on: Vec::new(),
            retain: kind.retained(),
            global: kind.global(),
            region: None,
            origins: Origins::default(),
        }
    }

    /// Names the spec key (a dotted path: `observability.log_retention_days`) that attribute
    /// `name`'s value comes from; a plan names its line when the attribute changes.
    #[must_use]
    pub fn from_spec(mut self, name: &str, key: &str) -> Resource {
        self.origins.add_attribute(name, key);
        self
    }

    /// Names the spec key that entry `entry` of map attribute `name` (a tag) comes from.
    #[must_use]
    pub fn entry_from_spec(mut self, name: &str, entry: &str, key: &str) -> Resource {
        self.origins.add_entry(name, entry, key);
        self
    }

    /// Names a spec key that makes the resource exist (its list entry, the flag that turns it
    /// on, its module's table); a plan names its line when the resource is created.
    #[must_use]
    pub fn declared_by(mut self, key: &str) -> Resource {
        self.origins.declare(key);
        self
    }

    /// Sets a desired attribute.
    #[must_use]
    pub fn prop(mut self, name: &str, value: impl Into<Value>) -> Resource {
        self.props.insert(name.to_string(), value.into());
        self
    }

    /// Sets a create-only input.
    #[must_use]
    pub fn create_input(mut self, name: &str, value: impl Into<Value>) -> Resource {
        self.create_inputs.insert(name.to_string(), value.into());
        self
    }

    /// Adds a dependency.
    #[must_use]
    pub fn after(mut self, id: &LogicalId) -> Resource {
        if !self.depends_on.contains(id) {
            self.depends_on.push(id.clone());
        }
        self
    }

    /// Marks the resource as data-bearing (never deleted).
    #[must_use]
    pub fn retained(mut self) -> Resource {
        self.retain = true;
        self
    }

    /// Marks the resource as global (IAM): created and changed only from the primary region.
    #[must_use]
    pub fn global(mut self) -> Resource {
        self.global = true;
        self
    }

    /// Marks a resource of a global kind as per region (its name carries the region), so that
    /// each region changes its own.
    #[must_use]
    pub fn regional(mut self) -> Resource {
        self.global = false;
        self
    }

    /// Places the resource in `region` instead of the session's region (a standby resource
    /// of the DR region, kept by the primary apply).
    #[must_use]
    pub fn in_region(mut self, region: &str) -> Resource {
        self.region = Some(region.to_string());
        self
    }

    /// Declares the attributes that force replacement.
    #[must_use]
    pub fn replace_on(mut self, attributes: &'static [&'static str]) -> Resource {
        self.replace_on = attributes;
        self
    }

    /// A string attribute's value, if set and resolved.
    #[must_use]
    pub fn str_prop(&self, name: &str) -> Option<&str> {
        self.props.get(name).and_then(Value::as_str)
    }

    /// A boolean attribute's value, if set.
    #[must_use]
    pub fn bool_prop(&self, name: &str) -> Option<bool> {
        self.props.get(name).and_then(Value::as_bool)
    }

    /// An integer attribute's value, if set.
    #[must_use]
    pub fn int_prop(&self, name: &str) -> Option<i64> {
        self.props.get(name).and_then(Value::as_int)
    }

    /// The desired tags (the `tags` attribute).
    #[must_use]
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.props
            .get(super::TAGS)
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default()
    }
}

/// Who a live resource belongs to, read from its tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "owner", content = "env")]
pub enum Owner {
    /// Tagged `ManagedBy=nc-provision` and `nc:env` of this environment.
    Ours,
    /// Managed by nc-provision for another environment.
    OtherEnv(String),
    /// Not tagged as ours: a conflict unless adopted.
    Foreign,
    /// An account-level singleton whose ownership was not established: it has no tags (a
    /// password policy, a Config recorder), or its tags were not read, and no ownership record
    /// of the tool was found in the audit table. Harmless while it matches the spec (nothing
    /// would be overwritten); a conflict unless adopted when a change would overwrite it.
    /// Providers observe such singletons as `Untracked` and look their owner up only when
    /// they differ from the spec (the provider's `look_up_owner`).
    Untracked,
}

impl Owner {
    /// Reads ownership from a resource's tags for environment `env`.
    #[must_use]
    pub fn from_tags(tags: &BTreeMap<String, String>, env: &str) -> Owner {
        let managed = tags.get(super::TAG_MANAGED_BY).map(String::as_str) == Some(super::MANAGER);
        match (managed, tags.get(super::TAG_ENV)) {
            (true, Some(tag_env)) if tag_env == env => Owner::Ours,
            (true, Some(tag_env)) => Owner::OtherEnv(tag_env.clone()),
            _ => Owner::Foreign,
        }
    }
}

/// The live state of one resource, normalised into the desired property model.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The logical id it was matched to (by name, or by its `nc:id` tag).
    pub id: LogicalId,
    /// Resource kind.
    pub kind: Kind,
    /// The AWS identifier (key id, bucket name, table name).
    pub physical_id: String,
    /// Observed attributes under the same names as the desired ones.
    pub props: Props,
    /// Outputs other resources may reference (`arn`, `key_id`, ...).
    pub outputs: Outputs,
    /// Ownership, from the tags.
    pub owner: Owner,
    /// Data-bearing kind: never deleted by the tool.
    pub retain: bool,
    /// Why AWS would refuse the change the spec asks for (e.g. shortening a COMPLIANCE-mode
    /// Object Lock retention): the plan shows such a resource as a conflict with this reason.
    pub refused: Option<String>,
}

impl Observed {
    /// A stable digest of everything observed, recorded in saved plans to detect staleness.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let document = self.to_json();
        let mut hasher = Sha256::new();
        hasher.update(document.to_string().as_bytes());
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }

    /// The observation as JSON (props, outputs, owner), as saved plans record it.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let props: serde_json::Map<String, serde_json::Value> = self
            .props
            .iter()
            .map(|(name, value)| (name.clone(), value.to_json()))
            .collect();
        serde_json::json!({
            "physical_id": self.physical_id,
            "props": props,
            "outputs": self.outputs,
            "owner": self.owner,
        })
    }
}

/// Everything the providers found for one plan.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Live resources matched to desired logical ids.
    pub found: BTreeMap<LogicalId, Observed>,
    /// Live resources of ours (this environment) that the spec no longer contains.
    pub orphans: Vec<Observed>,
    /// Desired resources whose service the endpoint does not implement (an emulator), with
    /// the reason: planned as `skip`, never created.
    pub unsupported: BTreeMap<LogicalId, String>,
}

impl Observation {
    /// Adds another provider's findings.
    pub fn merge(&mut self, other: Observation) {
        self.found.extend(other.found);
        self.orphans.extend(other.orphans);
        self.unsupported.extend(other.unsupported);
    }

    /// Records a live resource under its logical id.
    pub fn insert(&mut self, observed: Observed) {
        self.found.insert(observed.id.clone(), observed);
    }

    /// Whether the live state of `resource` differs from the spec, with references resolved
    /// against this observation (an unresolvable one counts as differing). False when it is
    /// not observed at all.
    #[must_use]
    pub fn differs(&self, resource: &Resource) -> bool {
        let Some(observed) = self.found.get(&resource.id) else {
            return false;
        };
        let lookup = |reference: &super::value::Ref| {
            self.found
                .get(&reference.id)
                .and_then(|found| found.outputs.get(&reference.output))
                .cloned()
        };
        resource.props.iter().any(|(name, wanted)| {
            let wanted = wanted.resolve_or_unknown(&lookup);
            observed
                .props
                .get(name)
                .is_none_or(|live| wanted.is_unknown() || !wanted.equivalent(live))
        })
    }
}
