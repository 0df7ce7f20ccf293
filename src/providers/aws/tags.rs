//! Tags: the desired pairs, the live ones as an attribute, the delta between them, and one
//! `sync_tags` for every taggable kind (each kind says only how its API tags and untags).

use async_trait::async_trait;

use super::errors::ProviderError;
use crate::model::{Observed, Resource, TAGS, Value};

/// How one live resource is tagged and untagged (a kind's `TagResource` / `UntagResource`).
#[async_trait]
pub trait TagApi: Send + Sync {
    /// Sets these tags (adding or overwriting).
    async fn tag(&self, pairs: Vec<(String, String)>) -> Result<(), ProviderError>;
    /// Removes the tags with these keys.
    async fn untag(&self, keys: Vec<String>) -> Result<(), ProviderError>;
}

/// Moves a live resource's tags to the desired ones: untags the keys the spec dropped, then
/// tags what is missing or different. Makes no call when they already agree.
///
/// # Errors
/// The failing tag or untag call.
pub async fn sync_tags(
    api: &dyn TagApi,
    resource: &Resource,
    observed: &Observed,
) -> Result<(), ProviderError> {
    let (remove, set) = tag_delta(resource, observed);
    if !remove.is_empty() {
        api.untag(remove).await?;
    }
    if !set.is_empty() {
        api.tag(set).await?;
    }
    Ok(())
}

/// The desired tags of a resource as (key, value) pairs.
#[must_use]
pub fn tag_pairs(resource: &Resource) -> Vec<(String, String)> {
    resource.tags().into_iter().collect()
}

/// Tags read from AWS, without AWS's own `aws:` tags, as an attribute value.
#[must_use]
pub fn tags_value(pairs: impl IntoIterator<Item = (String, String)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .filter(|(key, _)| !crate::model::is_aws_tag(key))
            .collect(),
    )
}

/// Tag keys to remove and pairs to set, to move live tags to the desired ones.
#[must_use]
pub fn tag_delta(resource: &Resource, observed: &Observed) -> (Vec<String>, Vec<(String, String)>) {
    let desired = resource.tags();
    let live = observed
        .props
        .get(TAGS)
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let remove = live
        .keys()
        .filter(|key| !desired.contains_key(*key))
        .cloned()
        .collect();
    let set = desired
        .into_iter()
        .filter(|(key, value)| live.get(key) != Some(value))
        .collect();
    (remove, set)
}
