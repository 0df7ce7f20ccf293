//! Plan-time values for the proof: every reference of the desired graph replaced by the value
//! the tool knows it will have, or a placeholder of the right shape.
//!
//! Why placeholders and not the live outputs: the proof must hold before anything exists (the
//! first apply into an empty account, `validate` with no AWS call), and must give the same
//! answer whatever the account holds. The tool knows the names and ARN shapes of what it
//! creates: role and policy ARNs (`arn:aws:iam::{account}:role{path}{name}`), topic, bucket and
//! log-group ARNs follow from names, region and account. Only ids AWS generates (a key id, a
//! VPC id) are unknown: there the logical id stands in, inside an ARN of the right shape
//! (`arn:aws:kms:{region}:{account}:key/kms.key.logs`). A policy that names such a resource
//! can only do so through the same reference, so it gets the same placeholder; a wildcard
//! (`key/*`, `log-group:/aws/vpc/flow-logs/*`) matches it as it would match the real id.

use std::collections::BTreeMap;

use crate::model::Kind;
use crate::model::{LogicalId, Ref, Resource, Value, substitute_refs};
use crate::plan::Target;

/// The desired resources by id, with the target they are proven for.
pub(super) struct Graph<'a> {
    by_id: BTreeMap<&'a LogicalId, &'a Resource>,
    /// All resources, in the graph's order.
    pub(super) resources: &'a [Resource],
    /// Account and region.
    pub(super) target: &'a Target,
}

impl<'a> Graph<'a> {
    pub(super) fn new(resources: &'a [Resource], target: &'a Target) -> Graph<'a> {
        Graph {
            by_id: resources.iter().map(|r| (&r.id, r)).collect(),
            resources,
            target,
        }
    }

    /// One resource by id.
    pub(super) fn get(&self, id: &LogicalId) -> Option<&'a Resource> {
        self.by_id.get(id).copied()
    }

    /// Resources of one kind.
    pub(super) fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    /// Each resource of `kind` with the resource its reference-valued `attribute` points at
    /// (one without is passed over).
    pub(super) fn linked(
        &self,
        kind: Kind,
        attribute: &'a str,
    ) -> impl Iterator<Item = (&'a Resource, &'a Resource)> + '_ {
        self.of_kind(kind)
            .filter_map(move |resource| Some((resource, self.referenced(resource, attribute)?)))
    }

    /// Each resource of `kind` with its `attribute` as text (one without is passed over).
    pub(super) fn with_text(
        &self,
        kind: Kind,
        attribute: &'a str,
    ) -> impl Iterator<Item = (&'a Resource, String)> + '_ {
        self.of_kind(kind)
            .filter_map(move |resource| Some((resource, self.text(resource, attribute)?)))
    }

    /// The resource a reference-valued attribute points at.
    pub(super) fn referenced(&self, resource: &Resource, attribute: &str) -> Option<&'a Resource> {
        match resource.props.get(attribute) {
            Some(Value::Ref(reference)) => self.get(&reference.id),
            _ => None,
        }
    }

    /// An attribute's value as text, references resolved.
    pub(super) fn text(&self, resource: &Resource, attribute: &str) -> Option<String> {
        resource.props.get(attribute).and_then(|v| self.value(v))
    }

    /// A value as text: strings as they are, references and concatenations resolved.
    pub(super) fn value(&self, value: &Value) -> Option<String> {
        match value {
            Value::Str(text) => Some(text.clone()),
            Value::Ref(reference) => Some(self.output(reference)),
            Value::Concat(parts) => parts.iter().map(|part| self.value(part)).collect(),
            _ => None,
        }
    }

    /// A policy attribute (or create-only input, like a key's initial policy) with every
    /// placeholder resolved.
    pub(super) fn policy(&self, resource: &Resource, attribute: &str) -> Option<serde_json::Value> {
        let document = resource
            .props
            .get(attribute)
            .or_else(|| resource.create_inputs.get(attribute))?
            .as_policy()?;
        substitute_refs(document, &|reference| Some(self.output(reference))).ok()
    }

    /// The value (or placeholder) of one output of a desired resource.
    pub(super) fn output(&self, reference: &Ref) -> String {
        let Target {
            region, account_id, ..
        } = self.target;
        let id = &reference.id;
        let unknown = || format!("<{id}.{}>", reference.output);
        let Some(resource) = self.get(id) else {
            return unknown();
        };
        // A standby resource lives in its own region (the DR region's data key).
        let region = resource.region.as_deref().unwrap_or(region);
        let path = resource.str_prop("path").unwrap_or("/");
        match (resource.kind, reference.output.as_str()) {
            (Kind::KmsKey, "arn") => format!("arn:aws:kms:{region}:{account_id}:key/{id}"),
            (Kind::KmsKey, "key_id") => id.to_string(),
            (Kind::IamRole, "arn") => {
                format!("arn:aws:iam::{account_id}:role{path}{}", resource.name)
            }
            (Kind::IamPolicy, "arn") => {
                format!("arn:aws:iam::{account_id}:policy{path}{}", resource.name)
            }
            (Kind::IamOidcProvider, "arn") => format!(
                "arn:aws:iam::{account_id}:oidc-provider/{}",
                resource.str_prop("url").unwrap_or(&resource.name)
            ),
            (Kind::LogGroup, "name") => self
                .text(resource, "group_name")
                .unwrap_or_else(|| resource.name.clone()),
            (Kind::LogGroup, "arn") => format!(
                "arn:aws:logs:{region}:{account_id}:log-group:{}",
                self.text(resource, "group_name")
                    .unwrap_or_else(|| resource.name.clone())
            ),
            (Kind::SnsTopic, "arn") => {
                format!("arn:aws:sns:{region}:{account_id}:{}", resource.name)
            }
            (Kind::S3Bucket, "arn") => format!("arn:aws:s3:::{}", resource.name),
            (_, "id") => format!("{}-{id}", resource.kind),
            _ => unknown(),
        }
    }

    /// The ARN of a resource whose ARN follows from its name (roles, topics, buckets, ...).
    pub(super) fn arn(&self, resource: &Resource) -> String {
        self.output(&Ref {
            id: resource.id.clone(),
            output: "arn".to_string(),
        })
    }

    /// Every identity policy of a role the graph knows: its inline policies and the managed
    /// policies the graph defines (AWS-managed ones are not known here and grant nothing in the
    /// proof). Each as (holder, attribute).
    pub(super) fn identity_policies(&self, role: &Resource) -> Vec<(LogicalId, String)> {
        let mut found: Vec<(LogicalId, String)> = role
            .props
            .keys()
            .filter(|name| name.starts_with("inline_policy."))
            .map(|name| (role.id.clone(), name.clone()))
            .collect();
        if let Some(Value::List(arns)) = role.props.get("managed_policies") {
            for arn in arns.iter().filter_map(|arn| self.value(arn)) {
                if let Some(policy) = self
                    .of_kind(Kind::IamPolicy)
                    .find(|policy| self.arn(policy) == arn)
                {
                    found.push((policy.id.clone(), "policy".to_string()));
                }
            }
        }
        found
    }

    /// The permission boundary of a role, if the graph defines it.
    pub(super) fn boundary(&self, role: &Resource) -> Option<&'a Resource> {
        self.referenced(role, "permissions_boundary")
    }

    /// The bucket of that name.
    pub(super) fn bucket(&self, name: &str) -> Option<&'a Resource> {
        self.of_kind(Kind::S3Bucket)
            .find(|bucket| bucket.name == name)
    }

    /// The key policy resource of a key (the `kms_key_policy` whose `key_id` references it).
    pub(super) fn key_policy(&self, key: &LogicalId) -> Option<&'a Resource> {
        self.of_kind(Kind::KmsKeyPolicy).find(|policy| {
            matches!(policy.props.get("key_id"), Some(Value::Ref(reference)) if &reference.id == key)
        })
    }
}
