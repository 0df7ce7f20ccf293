//! The catalogue of service integrations and the plan-time proof that the desired policies
//! allow every one of them.
//!
//! Wherever the modules configure one AWS service to act on another (CloudWatch Logs using a
//! key, CloudTrail writing into a bucket, an alarm publishing to an encrypted topic, ...), AWS
//! decides at run time, with policies the emulators do not enforce. Each [`Integration`] names
//! the request that service makes, as its documentation states it (principal, action,
//! resource, context keys), and the desired resources whose policies must allow it. [`prove`]
//! evaluates every such request over the desired graph with [`super::eval`], with no AWS call;
//! [`link`] gives the graph the edges the catalogue implies (a consumer is created after the
//! policy that permits it), so apply never races a policy.
//!
//! Entries are found by kind and attribute (every `log_group` with a `kms_key`, every
//! `cloudtrail_trail`, ...), not by logical id, so that the next module's resources are proven
//! too.

mod catalogue;
mod resolve;

use std::fmt;

use crate::model::{DesiredGraph, LogicalId, Resource};
use crate::plan::Target;
use crate::spec::Spec;

pub use catalogue::{CATALOGUE, ecr_layer_bucket};

use super::eval::{Decision, Request, evaluate};
use resolve::Graph;

/// One kind of service integration: what it is and where AWS documents the request it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integration {
    /// Short name, e.g. `CloudWatch Logs → KMS key`.
    pub name: &'static str,
    /// The AWS documentation page stating the request and the permissions it needs.
    pub source: &'static str,
    /// What the emulators do not show: the failure a real account would give.
    pub failure: &'static str,
}

/// A policy of the desired graph: the resource holding it and the attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAt {
    /// The resource holding the policy.
    pub holder: LogicalId,
    /// The attribute (`policy`, `assume_role_policy`, `inline_policy.<name>`, ...).
    pub attribute: String,
}

impl fmt::Display for PolicyAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.holder, self.attribute)
    }
}

/// One request an integration makes, and the policies that decide it: one of them must allow
/// it, none may deny it (a same-account request; a gate that must allow on its own, such as a
/// key policy, an endpoint policy or a permission boundary, is a requirement of its own).
#[derive(Debug, Clone)]
pub struct Requirement {
    /// The catalogue entry.
    pub integration: &'static Integration,
    /// The resource that configures the integration (the log group, the trail, ...).
    pub consumer: LogicalId,
    /// Whether creating the consumer needs the grant (it then depends on the policy holders).
    pub waits: bool,
    /// The request AWS will make.
    pub request: Request,
    /// The policies deciding it.
    pub grants: Vec<PolicyAt>,
}

/// A request of an integration that the desired policies do not allow.
#[derive(Debug, Clone)]
pub struct Denial {
    /// The catalogue entry.
    pub integration: &'static Integration,
    /// The resource configuring the integration.
    pub consumer: LogicalId,
    /// The request.
    pub request: Request,
    /// The policy that denies it, or the policies none of which allows it.
    pub policies: Vec<PolicyAt>,
    /// The denying statement, or the statement that is missing (with the statements that came
    /// closest and why they do not apply).
    pub reason: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policies: Vec<String> = self.policies.iter().map(ToString::to_string).collect();
        write!(
            f,
            "{}: {} would be denied on AWS: {}; policy {}: {} ({}; see {})",
            self.consumer,
            self.integration.name,
            self.request,
            if policies.is_empty() {
                "none in the desired graph".to_string()
            } else {
                policies.join(" or ")
            },
            self.reason,
            self.integration.failure,
            self.integration.source
        )
    }
}

/// Every requirement of the integrations configured in `resources`.
#[must_use]
pub fn requirements(resources: &[Resource], target: &Target, spec: &Spec) -> Vec<Requirement> {
    catalogue::requirements(&Graph::new(resources, target), spec)
}

/// Evaluates every integration of the desired graph; each request the policies do not allow
/// is a [`Denial`]. No AWS call.
#[must_use]
pub fn prove(graph: &DesiredGraph, target: &Target, spec: &Spec) -> Vec<Denial> {
    let resolved = Graph::new(graph.resources(), target);
    catalogue::requirements(&resolved, spec)
        .into_iter()
        .filter_map(|requirement| decide(&resolved, requirement))
        .collect()
}

/// Adds the edges the catalogue implies: a consumer whose creation needs a grant depends on
/// every resource holding a policy that decides it (e.g. a log group on the key policy that
/// lets CloudWatch Logs use its key).
pub fn link(resources: &mut [Resource], target: &Target, spec: &Spec) {
    let edges: Vec<(LogicalId, LogicalId)> = requirements(resources, target, spec)
        .into_iter()
        .filter(|requirement| requirement.waits)
        .flat_map(|requirement| {
            let consumer = requirement.consumer;
            requirement
                .grants
                .into_iter()
                .filter(|grant| grant.holder != consumer)
                .map(|grant| (consumer.clone(), grant.holder))
                .collect::<Vec<_>>()
        })
        .collect();
    for (consumer, holder) in edges {
        if let Some(resource) = resources.iter_mut().find(|r| r.id == consumer)
            && !resource.depends_on.contains(&holder)
        {
            resource.depends_on.push(holder);
        }
    }
}

/// Decides one requirement: `None` when allowed.
fn decide(graph: &Graph<'_>, requirement: Requirement) -> Option<Denial> {
    let denial = |policies: Vec<PolicyAt>, reason: String| Denial {
        integration: requirement.integration,
        consumer: requirement.consumer.clone(),
        request: requirement.request.clone(),
        policies,
        reason,
    };
    let mut allowed = false;
    let mut misses = Vec::new();
    for grant in &requirement.grants {
        let document = graph
            .get(&grant.holder)
            .and_then(|holder| graph.policy(holder, &grant.attribute));
        let Some(document) = document else {
            misses.push(format!("{grant} is not in the desired graph"));
            continue;
        };
        match evaluate(&document, &requirement.request) {
            Ok(Decision::Allow { .. }) => allowed = true,
            Ok(Decision::Deny { statement }) => {
                return Some(denial(
                    vec![grant.clone()],
                    format!("statement {statement} denies it explicitly"),
                ));
            }
            Ok(Decision::NotAllowed { near_misses }) => misses.extend(near_misses),
            Err(error) => return Some(denial(vec![grant.clone()], error.to_string())),
        }
    }
    if allowed {
        return None;
    }
    let mut reason = format!(
        "no statement allows {} for {}",
        requirement.request.action, requirement.request.principal
    );
    if !misses.is_empty() {
        reason.push_str(&format!(" (closest: {})", misses.join("; ")));
    }
    Some(denial(requirement.grants.clone(), reason))
}

#[cfg(test)]
mod tests;
