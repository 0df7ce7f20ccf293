//! Shapes the security and identity providers share (GuardDuty, Security Hub, IAM, Access
//! Analyzer): the observation of a regional singleton, and the attributes that cannot change
//! in place.

use super::Change;
use super::errors::ProviderError;
use crate::model::{Observation, Observed, Resource};

/// The observation of a kind of which a region holds one (GuardDuty's detector, Security
/// Hub's hub): the first desired resource (a spec wants at most one), as `read` finds it;
/// nothing when none is desired or `read` finds none.
///
/// # Errors
/// The failing read.
pub async fn observe_singleton<'a, F, Fut>(
    desired: &[&'a Resource],
    read: F,
) -> Result<Observation, ProviderError>
where
    F: FnOnce(&'a Resource) -> Fut,
    Fut: Future<Output = Result<Option<Observed>, ProviderError>>,
{
    let mut observation = Observation::default();
    if let Some(resource) = desired.first()
        && let Some(observed) = read(resource).await?
    {
        observation.insert(observed);
    }
    Ok(observation)
}

/// Refuses a change of `attribute`, which AWS cannot change in place (an IAM path, say): the
/// error names `action`, the live resource and `why`.
///
/// # Errors
/// `change` touches `attribute`.
pub fn fixed_in_place(
    change: &Change<'_>,
    attribute: &str,
    action: &str,
    why: &str,
) -> Result<(), ProviderError> {
    if change.touches(attribute) {
        return Err(ProviderError::local(action, change.physical_id(), why));
    }
    Ok(())
}
