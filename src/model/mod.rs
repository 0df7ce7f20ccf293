//! The property model: desired resources, observed resources and the desired graph.
//!
//! Pure data, no SDK types: modules build it from the spec, providers fill the observed side,
//! and the diff compares the two.

mod cause;
mod dashboard;
mod delta;
mod graph;
mod kind;
mod marker;
mod network;
mod resource;
mod target;
mod value;

pub use cause::{Origins, SpecLine};
pub use dashboard::{DashboardBody, canonical_json, dashboard_owner_line, sorted_json};
pub use delta::Delta;
pub use graph::{DesiredGraph, GraphError};
pub use kind::{Kind, Service};
pub use marker::{alarm_owner_marker, alarm_threshold_text};
pub use network::{
    AclAction, AclEntry, FLOW_LOG_AGGREGATION_SECONDS, Ports, Protocol, Route, SgRule,
};
pub use resource::{LogicalId, Observation, Observed, Outputs, Owner, Resource};
pub use target::Target;
pub use value::{Props, Ref, Value, policy_ref, policy_refs, substitute_refs};

/// The attribute holding a resource's tags.
pub const TAGS: &str = "tags";
/// The tag naming the tool that manages a resource.
pub const TAG_MANAGED_BY: &str = "ManagedBy";
/// The value of [`TAG_MANAGED_BY`] on everything the tool owns.
pub const MANAGER: &str = "nc-provision";
/// The tag naming the environment that owns a resource.
pub const TAG_ENV: &str = "nc:env";
/// The tag holding a resource's logical id.
pub const TAG_ID: &str = "nc:id";
/// The prefix of the logical ids of the standby resources the primary apply keeps in the DR
/// region (`dr.kms.key.data`, `dr.data.bucket.raw`).
pub const STANDBY_PREFIX: &str = "dr.";

/// Whether a tag key is AWS's own (`aws:` prefix): never written, never diffed.
#[must_use]
pub fn is_aws_tag(key: &str) -> bool {
    key.starts_with("aws:")
}
