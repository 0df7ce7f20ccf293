//! The observation of a regional singleton (GuardDuty's detector, Security Hub's hub).

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
