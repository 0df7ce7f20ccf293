//! A fence: a flag that a lease holder trips when it can no longer prove it holds the lease
//! (a heartbeat failed, or the lease is about to expire). The executor checks it before it
//! starts each step, so that no new write begins once another run may have taken over.
//!
//! Pure (std only): the lease that trips it lives at the SDK edge, the executor that reads it
//! in the core, and neither knows the other.

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A shared trip-once flag with the reason it was tripped, and an optional deadline after
/// which it counts as tripped unless extended (the lease's expiry less one heartbeat).
#[derive(Debug, Clone, Default)]
pub struct Fence {
    reason: Arc<Mutex<Option<String>>>,
    valid_until: Arc<Mutex<Option<Instant>>>,
}

impl Fence {
    /// A fence that is not tripped.
    #[must_use]
    pub fn new() -> Fence {
        Fence::default()
    }

    /// Trips the fence; the first reason is kept.
    pub fn trip(&self, reason: impl Into<String>) {
        let mut slot = match self.reason.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if slot.is_none() {
            *slot = Some(reason.into());
        }
    }

    /// Moves the deadline to `until` (the holder just extended its lease).
    pub fn extend_until(&self, until: Instant) {
        let mut slot = match self.valid_until.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(until);
    }

    /// Why the fence was tripped, if it was, or whether its deadline has passed.
    #[must_use]
    pub fn tripped(&self) -> Option<String> {
        let reason = match self.reason.lock() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if reason.is_some() {
            return reason;
        }
        let until = match self.valid_until.lock() {
            Ok(slot) => *slot,
            Err(poisoned) => *poisoned.into_inner(),
        };
        until.filter(|until| Instant::now() >= *until).map(|_| {
            "the lease is within one heartbeat of its expiry and was not extended".to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_reason_and_is_shared_by_clones() {
        let fence = Fence::new();
        let seen_by_executor = fence.clone();
        assert_eq!(seen_by_executor.tripped(), None);
        fence.trip("heartbeat failed");
        fence.trip("expired");
        assert_eq!(
            seen_by_executor.tripped().as_deref(),
            Some("heartbeat failed")
        );
    }

    #[test]
    fn a_passed_deadline_trips_it_until_extended() {
        let fence = Fence::new();
        let now = Instant::now();
        fence.extend_until(now + std::time::Duration::from_secs(60));
        assert_eq!(fence.tripped(), None);
        fence.extend_until(now);
        assert!(
            fence
                .tripped()
                .is_some_and(|why| why.contains("within one heartbeat of its expiry"))
        );
    }
}
