//! The per-service SDK edge: one provider per AWS service, each observing its resources in
//! batches and carrying out create / update / delete.
//!
//! Providers follow one contract: `observe` never mutates; every mutating call is idempotent
//! (tags in the create call, lookup before create, NotFound on delete is success), so a re-run
//! after any failure converges. A create without an idempotency token is never re-sent blind by
//! the SDK (`no_resend`): its failure goes back to the step, which re-observes the resource
//! before it tries again (`exec::recover`).

pub mod accessanalyzer;
pub mod alarm_state;
pub mod approvals;
pub mod aws;
mod backup;
mod cloudtrail;
mod cloudwatch;
mod config;
mod dynamodb;
mod ec2;
mod events;
mod guardduty;
pub mod iam;
mod kms;
pub mod lock;
mod logs;
mod no_resend;
pub mod notify;
pub mod ownership;
pub mod recovery;
mod s3;
pub mod s3control;
pub mod securityhub;
mod sns;
mod sts;
pub mod wait;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::{Kind, LogicalId, Observation, Observed, Outputs, Owner, Resource};

pub use aws::{
    Aws, CallCounter, Change, ErrorClass, ProviderError, tag_delta, tag_pairs, tags_value,
};
pub use ec2::availability_zones;
pub use sts::{Caller, caller};

/// What a provider is told about the step it runs.
#[derive(Clone)]
pub struct StepCtx {
    /// The resource being changed.
    pub id: LogicalId,
    /// Environment name.
    pub env: String,
    /// Reports progress of long waits (spinner on a terminal, log lines otherwise).
    pub progress: Arc<dyn Fn(&str) + Send + Sync>,
    /// Upper bound for waits on slow resources.
    pub wait_timeout: Duration,
}

impl StepCtx {
    /// The context of a step on resource `id` of environment `env` that reports no progress
    /// and waits at most `wait_timeout` (tests, and callers without a terminal).
    #[must_use]
    pub fn silent(id: &str, env: &str, wait_timeout: Duration) -> StepCtx {
        StepCtx {
            id: LogicalId::new(id),
            env: env.to_string(),
            progress: Arc::new(|_| {}),
            wait_timeout,
        }
    }

    /// Reports what a step is waiting for.
    pub fn note(&self, message: &str) {
        (self.progress)(message);
    }
}

impl std::fmt::Debug for StepCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepCtx")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// One AWS service's resources.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The resource kinds this provider owns.
    fn kinds(&self) -> &'static [Kind];

    /// Reads the live state of `desired` (and of orphans of environment `env`), in as few
    /// calls as the API allows. Never mutates.
    async fn observe(&self, desired: &[&Resource], env: &str)
    -> Result<Observation, ProviderError>;

    /// Creates `resource` (references resolved), tagged in the create call; returns its outputs.
    async fn create(&self, resource: &Resource, ctx: &StepCtx) -> Result<Outputs, ProviderError>;

    /// Changes the listed attributes of a live resource in place; returns its outputs.
    async fn update(&self, change: &Change<'_>, ctx: &StepCtx) -> Result<Outputs, ProviderError>;

    /// Deletes a live resource; NotFound counts as done.
    async fn delete(&self, observed: &Observed, ctx: &StepCtx) -> Result<(), ProviderError>;

    /// Who owns a live account-level singleton that `observe` reported as
    /// [`Owner::Untracked`] and that differs from the spec: read from its tags, or from the
    /// tool's ownership record ([`ownership`]). Asked only in that case, so a plan without
    /// changes pays no extra call. The default keeps it untracked.
    async fn look_up_owner(&self, observed: &Observed, _env: &str) -> Result<Owner, ProviderError> {
        Ok(observed.owner.clone())
    }
}

/// Every provider, by kind.
#[derive(Clone)]
pub struct Providers {
    by_kind: BTreeMap<Kind, Arc<dyn Provider>>,
    /// Emulator mode: an API the endpoint lacks is skipped (not checked) instead of an error.
    emulator: bool,
    /// The providers of other regions, for standby resources ([`Resource::region`]).
    regions: BTreeMap<String, Providers>,
}

impl Providers {
    /// The AWS providers, sharing `aws`'s configuration and call counter.
    #[must_use]
    pub fn aws(aws: &Aws) -> Providers {
        let list: Vec<Arc<dyn Provider>> = vec![
            Arc::new(kms::KmsProvider::new(aws)),
            Arc::new(s3::S3Provider::new(aws)),
            Arc::new(dynamodb::DynamoDbProvider::new(aws)),
            Arc::new(iam::IamProvider::new(aws)),
            Arc::new(iam::IamAccountProvider::new(aws)),
            Arc::new(s3control::S3ControlProvider::new(aws)),
            Arc::new(accessanalyzer::AccessAnalyzerProvider::new(aws)),
            Arc::new(ec2::Ec2Provider::new(aws)),
            Arc::new(logs::LogsProvider::new(aws)),
            Arc::new(sns::SnsProvider::new(aws)),
            Arc::new(events::EventsProvider::new(aws)),
            Arc::new(cloudwatch::CloudWatchProvider::new(aws)),
            Arc::new(cloudtrail::CloudTrailProvider::new(aws)),
            Arc::new(guardduty::GuardDutyProvider::new(aws)),
            Arc::new(config::ConfigProvider::new(aws)),
            Arc::new(securityhub::SecurityHubProvider::new(aws)),
            Arc::new(backup::BackupProvider::new(aws)),
        ];
        Providers::from_list(list).emulator(aws.emulator)
    }

    /// The same registry, with `other` serving the resources placed in `region`.
    #[must_use]
    pub fn with_region(mut self, region: &str, other: Providers) -> Providers {
        self.regions.insert(region.to_string(), other);
        self
    }

    /// The registry that serves resources placed in `region` (`None`: the session's own).
    fn in_region(&self, region: Option<&str>) -> Option<&Providers> {
        match region {
            None => Some(self),
            Some(region) => self.regions.get(region),
        }
    }

    /// The provider of `resource`: its kind's, in the resource's region.
    #[must_use]
    pub fn for_resource(&self, resource: &Resource) -> Option<Arc<dyn Provider>> {
        self.in_region(resource.region.as_deref())?
            .for_kind(resource.kind)
    }

    /// Whether this registry runs in emulator mode.
    #[must_use]
    pub fn is_emulator(&self) -> bool {
        self.emulator
    }

    /// The same registry with emulator mode set to `emulator`.
    #[must_use]
    pub fn emulator(mut self, emulator: bool) -> Providers {
        self.emulator = emulator;
        self
    }

    /// A registry of the given providers (tests use fakes).
    #[must_use]
    pub fn from_list(list: Vec<Arc<dyn Provider>>) -> Providers {
        let mut by_kind = BTreeMap::new();
        for provider in list {
            for kind in provider.kinds() {
                by_kind.insert(*kind, Arc::clone(&provider));
            }
        }
        Providers {
            by_kind,
            emulator: false,
            regions: BTreeMap::new(),
        }
    }

    /// The provider of `kind`.
    #[must_use]
    pub fn for_kind(&self, kind: Kind) -> Option<Arc<dyn Provider>> {
        self.by_kind.get(&kind).cloned()
    }

    /// Observes every desired resource, each provider concurrently with the others.
    ///
    /// In emulator mode, the resources of a provider whose API the endpoint does not implement
    /// are recorded as not checked (`Observation::unsupported`); outside it, that is an error.
    ///
    /// # Errors
    /// The first provider that failed, or a kind no provider owns.
    pub async fn observe(
        &self,
        desired: &[Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let mut groups: Vec<Group<'_>> = Vec::new();
        for resource in desired {
            let Some(provider) = self.for_resource(resource) else {
                return Err(ProviderError::local(
                    "observe",
                    resource.id.as_str(),
                    format!(
                        "no provider for kind {} in region {}",
                        resource.kind,
                        resource.region.as_deref().unwrap_or("(the session's)")
                    ),
                ));
            };
            match groups.iter_mut().find(|group| {
                Arc::ptr_eq(&group.provider, &provider) && group.region == resource.region
            }) {
                Some(group) => group.members.push(resource),
                None => groups.push(Group {
                    provider,
                    region: resource.region.clone(),
                    members: vec![resource],
                }),
            }
        }
        let results = futures::future::join_all(
            groups
                .iter()
                .map(|group| group.provider.observe(&group.members, env)),
        )
        .await;
        let mut observation = Observation::default();
        for (group, result) in groups.iter().zip(results) {
            match result {
                Ok(found) if group.region.is_some() => observation.merge(group.only_members(found)),
                Ok(found) => observation.merge(found),
                Err(error) if error.class == ErrorClass::Unsupported && self.emulator => {
                    tracing::warn!("{error}: these resources are skipped at this endpoint");
                    for resource in &group.members {
                        observation
                            .unsupported
                            .insert(resource.id.clone(), error.to_string());
                    }
                }
                Err(error) => return Err(error.unsupported_is_fatal()),
            }
        }
        self.look_up_owners(desired, env, &mut observation).await?;
        Ok(observation)
    }

    /// Settles the ownership of the untracked singletons that differ from the spec (with
    /// references resolved against the whole observation), each through its provider,
    /// concurrently. Untracked singletons that match the spec are left as they are: the diff
    /// makes them a no-op whoever set them up.
    async fn look_up_owners(
        &self,
        desired: &[Resource],
        env: &str,
        observation: &mut Observation,
    ) -> Result<(), ProviderError> {
        let mut lookups = Vec::new();
        for resource in desired {
            let Some(observed) = observation.found.get(&resource.id) else {
                continue;
            };
            if observed.owner != Owner::Untracked || !observation.differs(resource) {
                continue;
            }
            let Some(provider) = self.for_resource(resource) else {
                continue;
            };
            lookups.push(async move {
                let owner = provider.look_up_owner(observed, env).await;
                (resource.id.clone(), owner)
            });
        }
        let settled = futures::future::join_all(lookups).await;
        for (id, owner) in settled {
            let owner = owner?;
            if let Some(observed) = observation.found.get_mut(&id) {
                observed.owner = owner;
            }
        }
        Ok(())
    }
}

/// The desired resources one provider observes in one region.
struct Group<'a> {
    provider: Arc<dyn Provider>,
    region: Option<String>,
    members: Vec<&'a Resource>,
}

impl Group<'_> {
    /// What a provider found in another region, narrowed to the standby resources asked for:
    /// the rest of that region is not this plan's (no orphans are reported there).
    fn only_members(&self, found: Observation) -> Observation {
        let wanted = |id: &LogicalId| self.members.iter().any(|member| &member.id == id);
        Observation {
            found: found
                .found
                .into_iter()
                .filter(|(id, _)| wanted(id))
                .collect(),
            orphans: Vec::new(),
            unsupported: found
                .unsupported
                .into_iter()
                .filter(|(id, _)| wanted(id))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::model::Value;

    /// A provider of one untracked singleton whose live `length` is given, and whose owner
    /// lookup answers `Ours` and counts its calls.
    struct Singleton {
        live_length: i64,
        lookups: AtomicUsize,
    }

    #[async_trait]
    impl Provider for Singleton {
        fn kinds(&self) -> &'static [Kind] {
            &[Kind::IamPasswordPolicy]
        }

        async fn observe(
            &self,
            desired: &[&Resource],
            env: &str,
        ) -> Result<Observation, ProviderError> {
            let mut sorter = aws::Sorter::new(desired, env);
            let length = [("length".to_string(), Value::Int(self.live_length))];
            for resource in desired {
                let live = aws::Live::new(Kind::IamPasswordPolicy, "account", "account");
                let live = live.props(length.clone().into());
                sorter.insert(live.owned_by(resource.id.clone(), Owner::Untracked));
            }
            Ok(sorter.finish())
        }

        async fn create(&self, _: &Resource, _: &StepCtx) -> Result<Outputs, ProviderError> {
            Ok(Outputs::new())
        }

        async fn update(
            &self,
            _change: &Change<'_>,
            _ctx: &StepCtx,
        ) -> Result<Outputs, ProviderError> {
            Ok(Outputs::new())
        }

        async fn delete(&self, _: &Observed, _: &StepCtx) -> Result<(), ProviderError> {
            Ok(())
        }

        async fn look_up_owner(&self, _: &Observed, env: &str) -> Result<Owner, ProviderError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            assert_eq!(env, "stg");
            Ok(Owner::Ours)
        }
    }

    #[tokio::test]
    async fn the_owner_of_an_untracked_singleton_is_looked_up_only_when_it_differs() {
        let desired = vec![
            Resource::new("iam.password_policy", Kind::IamPasswordPolicy, "account")
                .prop("length", 14),
        ];
        for (live_length, lookups, owner) in [(14, 0, Owner::Untracked), (8, 1, Owner::Ours)] {
            let provider = Arc::new(Singleton {
                live_length,
                lookups: AtomicUsize::new(0),
            });
            let providers = Providers::from_list(vec![provider.clone()]);
            let observation = providers.observe(&desired, "stg").await.expect("observe");
            assert_eq!(
                provider.lookups.load(Ordering::SeqCst),
                lookups,
                "live length {live_length}"
            );
            assert_eq!(observation.found[&desired[0].id].owner, owner);
        }
    }
}
