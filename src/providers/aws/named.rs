//! Kinds known by name (SNS topics, EventBridge rules): the desired ones read in full, the
//! others of the environment's name prefix read for their tags only, and both sorted by the
//! one rule of [`Sorter`], so that one the spec no longer names is an orphan.

use std::collections::BTreeMap;

use super::concurrent::read_all;
use super::errors::{ProviderError, found};
use super::observed::{Live, Sorter};
use crate::model::{Kind, Observation, Outputs, Resource};

/// Sorts the live resources of a kind known by name. `listed` is every live one of the
/// account and region by name (one list call); `read` reads a desired one in full (`None`:
/// gone meanwhile); `candidate` reads one of this environment's prefix (`nc-<env>-`) that the
/// spec does not name — only such ones are read, so a plan without changes pays nothing for
/// them. A name is the identity: live resources are matched only among the desired ones that
/// exist, so one left over with the `nc:id` of a renamed one is an orphan, never taken for the
/// new name.
///
/// # Errors
/// The first read that failed.
pub async fn observe_named<'a, T, R, RF, C, CF>(
    desired: &[&'a Resource],
    env: &str,
    listed: &'a BTreeMap<String, T>,
    read: R,
    candidate: C,
) -> Result<Observation, ProviderError>
where
    R: Fn(&'a Resource, &'a T) -> RF,
    RF: Future<Output = Result<Option<Live>, ProviderError>>,
    C: Fn(&'a str, &'a T) -> CF,
    CF: Future<Output = Result<Option<Live>, ProviderError>>,
{
    let prefix = format!("nc-{env}-");
    let present: Vec<&Resource> = desired
        .iter()
        .filter(|resource| listed.contains_key(&resource.name))
        .copied()
        .collect();
    let reads: Vec<RF> = present
        .iter()
        .filter_map(|resource| listed.get(&resource.name).map(|item| read(resource, item)))
        .collect();
    let others: Vec<CF> = listed
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix) && !desired.iter().any(|r| r.name == **name))
        .map(|(name, item)| candidate(name, item))
        .collect();
    let (read, others) = tokio::join!(read_all(reads), read_all(others));
    let mut sorter = Sorter::new(&present, env);
    for live in read?.into_iter().chain(others?).flatten() {
        sorter.add(live);
    }
    Ok(sorter.finish())
}

/// A live resource read for its tags only (an orphan candidate of [`observe_named`]):
/// `None` when the tag read says it is gone already.
///
/// # Errors
/// The tag read failed other than with NotFound.
pub async fn tagged_only(
    kind: Kind,
    physical_id: &str,
    name: &str,
    outputs: Outputs,
    tags: impl Future<Output = Result<BTreeMap<String, String>, ProviderError>>,
) -> Result<Option<Live>, ProviderError> {
    Ok(found(tags.await)?.map(|tags| {
        Live::new(kind, physical_id, name)
            .tags(tags)
            .outputs(outputs)
    }))
}
