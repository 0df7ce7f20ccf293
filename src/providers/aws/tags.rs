//! Tags: the desired pairs, the live ones as an attribute, the delta between them, and one
//! `sync_tags` for every taggable kind (each kind says only how its API tags and untags).

use async_trait::async_trait;
use aws_smithy_types::error::operation::BuildError;

use super::errors::ProviderError;
use crate::model::{Delta, Observed, Outputs, Resource, TAGS, Value};

/// The answer of a call whose output is not needed: done, or why not.
pub type Done = Result<(), ProviderError>;

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

/// The last step of most updates: syncs the tags (as [`sync_tags`]) when `delta` touches
/// them, and answers the outputs as observed.
///
/// # Errors
/// The failing tag or untag call.
pub async fn sync_touched_tags(
    api: &dyn TagApi,
    resource: &Resource,
    observed: &Observed,
    delta: &Delta,
) -> Result<Outputs, ProviderError> {
    if delta.touches(TAGS) {
        sync_tags(api, resource, observed).await?;
    }
    Ok(observed.outputs.clone())
}

/// An output of a live resource (its `arn`, say), empty when it was not read.
#[must_use]
pub fn output<'a>(observed: &'a Observed, name: &str) -> &'a str {
    observed.outputs.get(name).map_or("", String::as_str)
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

/// SDK tags from (key, value) pairs, each made by `build` (a service's `Tag::builder()`);
/// a tag the builder refuses fails as `action` on `resource`.
///
/// # Errors
/// The first pair the builder refused.
pub fn sdk_tags<T, E: std::fmt::Display>(
    pairs: Vec<(String, String)>,
    action: &str,
    resource: &str,
    build: impl Fn(String, String) -> Result<T, E>,
) -> Result<Vec<T>, ProviderError> {
    pairs
        .into_iter()
        .map(|(key, value)| {
            build(key, value)
                .map_err(|error| ProviderError::local(action, resource, error.to_string()))
        })
        .collect()
}

/// An SDK's `Tag` type, built from a key and a value. The services' `Tag` types share no
/// trait; this one is implemented for each of them in one table below.
pub trait SdkTag: Sized {
    /// The tag `key` = `value`.
    ///
    /// # Errors
    /// The SDK's builder refused it.
    fn of(key: String, value: String) -> Result<Self, BuildError>;
}

/// Implements [`SdkTag`] for each SDK `Tag` type: `type => key setter, value setter;`.
macro_rules! sdk_tag_types {
    ($($tag:ty => $key:ident, $value:ident;)*) => {
        $(impl SdkTag for $tag {
            fn of(key: String, value: String) -> Result<Self, BuildError> {
                <$tag>::builder().$key(key).$value(value).build()
            }
        })*
    };
}

sdk_tag_types! {
    aws_sdk_cloudtrail::types::Tag => key, value;
    aws_sdk_dynamodb::types::Tag => key, value;
    aws_sdk_eventbridge::types::Tag => key, value;
    aws_sdk_iam::types::Tag => key, value;
    aws_sdk_kms::types::Tag => tag_key, tag_value;
    aws_sdk_sns::types::Tag => key, value;
}

/// SDK tags of the type the call takes, from (key, value) pairs; a tag the builder refuses
/// fails as `action` on `resource`.
///
/// # Errors
/// The first pair the builder refused.
pub fn sdk_tags_of<T: SdkTag>(
    pairs: Vec<(String, String)>,
    action: &str,
    resource: &str,
) -> Result<Vec<T>, ProviderError> {
    sdk_tags(pairs, action, resource, T::of)
}

/// Tags as a map, for the services whose TagResource takes one (Logs, GuardDuty, Access
/// Analyzer); the resource's name is not needed.
///
/// # Errors
/// None: the signature is the one [`tag_api!`](crate::providers::aws::tag_api) converters share.
pub fn tag_map_of(
    pairs: Vec<(String, String)>,
    _resource: &str,
) -> Result<std::collections::HashMap<String, String>, ProviderError> {
    Ok(pairs.into_iter().collect())
}

/// Tag keys as they are, for the UntagResource calls that take them so.
///
/// # Errors
/// None: the signature is the one [`tag_api!`](crate::providers::aws::tag_api) converters share.
pub fn keys_as_they_are(keys: Vec<String>, _resource: &str) -> Result<Vec<String>, ProviderError> {
    Ok(keys)
}

/// Live tags from a service's tag list, given how to read a key and a value from one tag.
#[must_use]
pub fn tags_from<'t, T: 't>(
    tags: impl IntoIterator<Item = &'t T>,
    pair: impl Fn(&'t T) -> (&'t str, &'t str),
) -> std::collections::BTreeMap<String, String> {
    tags.into_iter()
        .map(|tag| {
            let (key, value) = pair(tag);
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// Declares a kind's tagging, `$name { client, id, name }`, and implements [`TagApi`] for
/// it: `tag` converts the pairs with `$tags` and sends `client.$tag().$by(id).$set_tags(..)`,
/// `untag` converts the keys with `$keys` and sends `client.$untag().$by(id).$set_keys(..)`.
/// Errors name the action and `name`. The SDK builders of different services share no
/// trait, so this one shape is written once as a macro instead of once per kind.
macro_rules! tag_api {
    (
        $(#[$doc:meta])*
        $name:ident($client:ty) by $by:ident;
        $tag_action:literal: $tag:ident.$set_tags:ident($tags:expr);
        $untag_action:literal: $untag:ident.$set_keys:ident($keys:expr);
    ) => {
        $(#[$doc])*
        pub(crate) struct $name<'a> {
            /// The service's client.
            pub client: &'a $client,
            /// The resource as the tagging calls take it (its ARN, id or name).
            pub id: &'a str,
            /// The resource as errors name it.
            pub name: &'a str,
        }

        impl<'a> $name<'a> {
            /// The tagging of the resource `id`, named `name` in errors.
            pub(crate) fn new(client: &'a $client, id: &'a str, name: &'a str) -> $name<'a> {
                $name { client, id, name }
            }
        }

        #[async_trait::async_trait]
        impl $crate::providers::aws::TagApi for $name<'_> {
            async fn tag(&self, pairs: Vec<(String, String)>) -> $crate::providers::aws::Done {
                let tags = ($tags)(pairs, self.name)?;
                let call = self.client.$tag().$by(self.id).$set_tags(Some(tags));
                $crate::providers::aws::sent($tag_action, self.name, call.send()).await.map(drop)
            }

            async fn untag(&self, keys: Vec<String>) -> $crate::providers::aws::Done {
                let keys = ($keys)(keys, self.name)?;
                let call = self.client.$untag().$by(self.id).$set_keys(Some(keys));
                $crate::providers::aws::sent($untag_action, self.name, call.send()).await.map(drop)
            }
        }
    };
}
pub(crate) use tag_api;
