//! The loaded AWS configuration and the call-counting interceptor.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::calls::CallStats;

/// Attempts per AWS call (adaptive retry mode: throttling slows the client down).
pub const MAX_ATTEMPTS: u32 = 6;
/// The environment switch that removes retry back-off (tests only).
pub const NO_RETRY_DELAY_ENV: &str = "NC_PROVISION_NO_RETRY_DELAY";
/// The environment switch of emulator mode (same as `--emulator`).
pub const EMULATOR_ENV: &str = "NC_PROVISION_EMULATOR";

/// Whether `NC_PROVISION_EMULATOR` asks for emulator mode (`1`, `true`, `yes`, `on`).
#[must_use]
pub fn emulator_from_env() -> bool {
    std::env::var(EMULATOR_ENV).is_ok_and(|value| {
        matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// Counts every HTTP request the SDK sends, per service and operation (retries included).
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<(String, String), u64>>>,
}

impl CallCounter {
    /// A snapshot of the counts so far.
    #[must_use]
    pub fn snapshot(&self) -> CallStats {
        let by_operation = match self.counts.lock() {
            Ok(counts) => counts.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        CallStats { by_operation }
    }

    fn record(&self, service: &str, operation: &str) {
        let mut counts = match self.counts.lock() {
            Ok(counts) => counts,
            Err(poisoned) => poisoned.into_inner(),
        };
        *counts
            .entry((service.to_string(), operation.to_string()))
            .or_insert(0) += 1;
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "nc-provision-call-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match cfg.load::<Metadata>() {
            Some(metadata) => self.record(metadata.service(), metadata.name()),
            None => self.record("unknown", "unknown"),
        }
        Ok(())
    }
}

/// The loaded AWS configuration for one region, with the shared call counter.
#[derive(Debug, Clone)]
pub struct Aws {
    /// The SDK configuration (credentials, region, endpoint, retries).
    pub config: SdkConfig,
    /// Counts every request made through clients built here.
    pub counter: CallCounter,
    /// Whether an endpoint override is in effect (emulators): S3 then uses path-style.
    pub endpoint_overridden: bool,
    /// Emulator mode (`--emulator` / `NC_PROVISION_EMULATOR=1`): only then is an API the
    /// endpoint does not implement skipped (and listed as not checked) instead of an error.
    pub emulator: bool,
}

impl Aws {
    /// Loads the standard SDK chain (environment, profile, credentials) for `region`, with
    /// adaptive retries and bounded timeouts.
    pub async fn load(region: &str) -> Aws {
        let no_delay = std::env::var_os(NO_RETRY_DELAY_ENV).is_some();
        let retry = if no_delay {
            RetryConfig::adaptive()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5))
        } else {
            RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS)
        };
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(retry)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            )
            .load()
            .await;
        let endpoint_overridden = config.endpoint_url().is_some()
            || std::env::vars_os()
                .any(|(name, _)| name.to_string_lossy().starts_with("AWS_ENDPOINT_URL"));
        Aws {
            config,
            counter: CallCounter::default(),
            endpoint_overridden,
            emulator: emulator_from_env(),
        }
    }

    /// The same configuration with emulator mode set to `emulator`.
    #[must_use]
    pub fn with_emulator(mut self, emulator: bool) -> Aws {
        self.emulator = emulator;
        self
    }

    /// The same credentials, endpoint, retries and call counter, for `region` (the standby
    /// resources the primary apply keeps in the DR region).
    #[must_use]
    pub fn in_region(&self, region: &str) -> Aws {
        Aws {
            config: self
                .config
                .to_builder()
                .region(Region::new(region.to_string()))
                .build(),
            ..self.clone()
        }
    }

    /// The region this configuration targets.
    #[must_use]
    pub fn region(&self) -> String {
        self.config
            .region()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}
