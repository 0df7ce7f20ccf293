//! Where a plan is made: environment, account and region.

use serde::Serialize;

/// Where a plan was made.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Environment name.
    pub env: String,
    /// Region observed and changed.
    pub region: String,
    /// AWS account id (from STS).
    pub account_id: String,
    /// Whether the region is the environment's primary region (global resources are
    /// created only there).
    pub primary_region: bool,
    /// The region's availability zones in use, sorted by name (DescribeAvailabilityZones,
    /// resolved once before expansion so that the expanders stay pure).
    pub availability_zones: Vec<String>,
}
