//! The pipeline of DESIGN.md, end to end: spec → target (STS) → desired graph → observe →
//! diff → plan, and plan → execute → report. The CLI drives it; tests can too.
//!
//! - [`apply`]: the apply workflow shared by `apply`, `reconcile` and `dr rebuild` (the
//!   refusals before any change, the lease, the re-plan under it, the staleness check, the
//!   signals, the audit record).
//! - [`signals`]: SIGINT/SIGTERM, remembered and acted on at safe points.
//! - [`drift`]: the drift notice published when change control forbids a scheduled repair.
//! - [`watch`]: the post-deployment watch (validation, alarms polled, verdict).

pub mod apply;
pub mod drift;
pub mod signals;
pub mod watch;

use std::path::Path;
use std::time::Instant;

use crate::calls::CallStats;
use crate::exec::{self, ExecOptions, Progress, Report};
use crate::model::DesiredGraph;
use crate::modules;
use crate::plan::{self, DiffOptions, Plan, PlanMode, Target};
use crate::providers::{self, Aws, ProviderError, Providers};
use crate::spec::{self, Spec, SpecErrors};

/// Regions the organisation allows.
pub const ALLOWED_REGIONS: [&str; 2] = ["us-east-1", "ca-central-1"];

/// Why a session could not be opened or a plan made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec is invalid (no AWS call was made).
    #[error(transparent)]
    Spec(#[from] SpecErrors),
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] ProviderError),
    /// The credentials belong to another account than the spec pins.
    #[error(
        "the spec pins account {pinned} but the credentials are for account {actual}; refusing to touch it"
    )]
    WrongAccount {
        /// Account in the spec.
        pinned: String,
        /// Account of the credentials.
        actual: String,
    },
    /// A region outside the allowed list.
    #[error("region {0} is not allowed: expected one of us-east-1, ca-central-1")]
    RegionNotAllowed(String),
    /// The desired policies would deny a service integration on AWS (proven at plan time, no
    /// AWS call): each line names the consumer, the request, the policy and the statement.
    #[error(
        "the desired policies would deny {} service integration(s) on AWS (the emulators do not enforce these; the tool proves them before any change):\n  - {}",
        .0.len(),
        .0.join("\n  - ")
    )]
    Unproven(Vec<String>),
    /// The desired graph is malformed (a bug).
    #[error("internal error in the desired graph: {0}")]
    Graph(#[from] crate::model::GraphError),
    /// The region has fewer availability zones than the spec's `az_count`.
    #[error(
        "the spec asks for {needed} availability zones but {region} offers {} ({}); lower vpc.az_count",
        available.len(),
        available.join(", ")
    )]
    NotEnoughZones {
        /// The region.
        region: String,
        /// `vpc.az_count`.
        needed: usize,
        /// The zones the region offers.
        available: Vec<String>,
    },
}

/// An open session: a valid spec, the target account and region, and the providers.
pub struct Session {
    /// The spec.
    pub spec: Spec,
    /// Account and region.
    pub target: Target,
    /// The desired graph for the target.
    pub graph: DesiredGraph,
    /// The AWS configuration and call counter.
    pub aws: Aws,
    /// Who runs this session (STS).
    pub caller: providers::Caller,
    /// The `--var` values the spec was read with (another environment's spec, read by the
    /// "validated in stg first" rule, is read with them too).
    pub variables: spec::Variables,
    providers: Providers,
}

impl Session {
    /// Loads and validates the spec (no AWS call before it is valid), then opens the session
    /// with [`Session::start`]. `region` overrides the spec's region; `emulator` turns on
    /// emulator mode (APIs the endpoint lacks are skipped and listed as not checked);
    /// `variables` are the `--var` values of spec variables.
    ///
    /// # Errors
    /// Invalid spec, disallowed region, STS or EC2 failure, wrong account, or too few zones.
    pub async fn open(
        specs_dir: &Path,
        env: &str,
        region: Option<&str>,
        emulator: bool,
        variables: &spec::Variables,
    ) -> Result<Session, Error> {
        let spec = spec::load_with(specs_dir, env, variables)?;
        let region = region.unwrap_or(&spec.environment.region).to_string();
        if !ALLOWED_REGIONS.contains(&region.as_str()) {
            return Err(Error::RegionNotAllowed(region));
        }
        let aws = Aws::load(&region).await.with_emulator(emulator);
        let mut session = Session::start(spec, aws).await?;
        session.variables = variables.clone();
        Ok(session)
    }

    /// Opens a session for a spec already loaded, against `aws`'s region: resolves the account
    /// with STS and checks the pin, then resolves the availability zones (one
    /// DescribeAvailabilityZones: the first `vpc.az_count` available zones by name), then
    /// expands the spec. Zones are resolved here, before expansion, so that the expanders
    /// stay pure functions of the spec and the target.
    ///
    /// # Errors
    /// Disallowed region, STS or EC2 failure, wrong account, or too few zones.
    pub async fn start(spec: Spec, aws: Aws) -> Result<Session, Error> {
        let region = aws.region();
        if !ALLOWED_REGIONS.contains(&region.as_str()) {
            return Err(Error::RegionNotAllowed(region));
        }
        let caller = providers::caller(&aws).await?;
        let account_id = caller.account.clone();
        if let Some(pinned) = &spec.environment.account_id
            && pinned != &account_id
        {
            return Err(Error::WrongAccount {
                pinned: pinned.clone(),
                actual: account_id,
            });
        }
        let zones = providers::availability_zones(&aws).await?;
        let needed = usize::from(spec.vpc.az_count);
        if zones.len() < needed {
            return Err(Error::NotEnoughZones {
                region,
                needed,
                available: zones,
            });
        }
        let target = Target {
            env: spec.environment.name.as_str().to_string(),
            primary_region: region == spec.environment.region,
            region,
            account_id,
            availability_zones: zones.into_iter().take(needed).collect(),
        };
        let graph = expand_and_prove(&spec, &target)?;
        let mut providers = Providers::aws(&aws);
        // Standby resources (the DR region's data key and replica buckets, kept by the
        // primary apply) are served by the same providers in their own region, counted alike.
        let standby_regions: std::collections::BTreeSet<&str> = graph
            .resources()
            .iter()
            .filter_map(|resource| resource.region.as_deref())
            .collect();
        for other in standby_regions {
            providers = providers.with_region(other, Providers::aws(&aws.in_region(other)));
        }
        Ok(Session {
            spec,
            target,
            graph,
            aws,
            caller,
            variables: spec::Variables::new(),
            providers,
        })
    }

    /// Observes the account and computes the plan.
    ///
    /// # Errors
    /// An AWS read failed.
    pub async fn plan(&self, mode: PlanMode, options: DiffOptions) -> Result<Plan, Error> {
        let started = Instant::now();
        let observation = self
            .providers
            .observe(self.graph.resources(), &self.target.env)
            .await?;
        let mut changes = plan::diff(&self.graph, &observation, options);
        if !self.target.primary_region {
            // Global (IAM) resources are verified read-only outside the primary region.
            plan::pin_global(&mut changes, &self.graph, &self.spec.environment.region);
        }
        tracing::info!(
            resources = self.graph.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "observed"
        );
        Ok(Plan {
            target: self.target.clone(),
            spec_digest: self.spec.digest.clone(),
            mode,
            changes,
            observation,
        })
    }

    /// Carries out a plan (in the session's emulator mode).
    pub async fn apply(&self, plan: &Plan, options: ExecOptions, progress: &Progress) -> Report {
        exec::execute(plan, &self.graph, &self.providers, options, progress).await
    }

    /// The AWS calls made so far in this session.
    #[must_use]
    pub fn calls(&self) -> CallStats {
        self.aws.counter.snapshot()
    }
}

/// Expands the spec for `target` and proves every service integration of the desired graph
/// (pure: no AWS call).
///
/// # Errors
/// A malformed graph, or integrations the desired policies would deny.
pub fn expand_and_prove(spec: &Spec, target: &Target) -> Result<DesiredGraph, Error> {
    let graph = modules::expand(spec, target)?;
    let denials = crate::policy::integrations::prove(&graph, target, spec);
    if denials.is_empty() {
        Ok(graph)
    } else {
        Err(Error::Unproven(
            denials.iter().map(ToString::to_string).collect(),
        ))
    }
}

/// A target for commands that make no AWS call (`validate`, `graph`): the spec's primary region
/// (or `region`), the account `account_id` or the spec's pin or a placeholder, and zones named
/// `<region>a`, `b`, ... as many as `vpc.az_count`.
#[must_use]
pub fn offline_target(spec: &Spec, region: Option<&str>, account_id: Option<&str>) -> Target {
    let region = region.unwrap_or(&spec.environment.region).to_string();
    let account_id = account_id
        .map(str::to_string)
        .or_else(|| spec.environment.account_id.clone())
        .unwrap_or_else(|| "000000000000".to_string());
    let zones = (0..spec.vpc.az_count)
        .map(|index| format!("{region}{}", char::from(b'a' + index)))
        .collect();
    Target {
        env: spec.environment.name.as_str().to_string(),
        primary_region: region == spec.environment.region,
        region,
        account_id,
        availability_zones: zones,
    }
}
