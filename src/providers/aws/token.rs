//! Idempotency tokens for creates (EC2 `ClientToken`, AWS Backup `CreatorRequestId`).

use sha2::{Digest, Sha256};

/// The token of one create: stable for the retries of one step and new whenever a new
/// resource is wanted.
///
/// AWS returns the original result to a retry with the same token, and a token stays bound to
/// its resource for a while, even after that resource is deleted ("You should not reuse the
/// same client token for other API requests", Amazon EC2 Developer Guide, *Ensuring
/// idempotency in Amazon EC2 API requests*; AWS Backup's `CreatorRequestId` "allows failed
/// requests to be retried without the risk of running the operation twice", AWS Backup API
/// reference, *CreateBackupPlan*). So the token is new in a later run (a route table deleted
/// and made again), and after an incarnation of this run failed (a dead NAT gateway stays
/// listed, and its token would return it): `generation` counts those. 43 characters of
/// `[a-z0-9-]`, within every service's limit (AWS Backup: 50).
#[must_use]
pub fn client_token(run: &str, env: &str, logical: &str, generation: usize) -> String {
    let digest =
        Sha256::digest(format!("nc-provision/{run}/{env}/{logical}/{generation}").as_bytes());
    format!("nc-{}", &hex::encode(digest)[..40])
}

/// A new run's part of every token: random, one per provider (one provider per apply or
/// reconcile pass).
#[must_use]
pub fn run_token() -> String {
    format!("{:016x}", fastrand::u64(..))
}
