//! EC2 tags: read from the Describe answers, set in the create calls (TagSpecifications),
//! and synced by CreateTags and DeleteTags through the toolkit's `sync_tags`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

use crate::model::{Resource, is_aws_tag};
use crate::providers::ProviderError;
use crate::providers::aws::{TagApi, sent};

/// One tag's value.
pub(super) fn tag<'t>(tags: &'t [Tag], key: &str) -> Option<&'t str> {
    tags.iter()
        .find(|tag| tag.key() == Some(key))
        .and_then(Tag::value)
}

pub(super) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|tag| Some((tag.key()?.to_string(), tag.value()?.to_string())))
        .collect()
}

pub(super) fn ec2_tags(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

pub(super) fn tag_specification(
    resource_type: ResourceType,
    resource: &Resource,
) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(ec2_tags(resource.tags())))
        .build()
}

/// The tagging of one EC2 resource (CreateTags / DeleteTags take any resource id).
pub(super) struct Ec2Tags {
    /// The EC2 client.
    pub client: Client,
    /// The resource's id.
    pub id: String,
}

#[async_trait]
impl TagApi for Ec2Tags {
    async fn tag(&self, pairs: Vec<(String, String)>) -> Result<(), ProviderError> {
        let call = self
            .client
            .create_tags()
            .resources(&self.id)
            .set_tags(Some(ec2_tags(pairs)));
        sent("ec2:CreateTags", &self.id, call.send()).await?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), ProviderError> {
        let tags: Vec<Tag> = keys
            .into_iter()
            .filter(|key| !is_aws_tag(key))
            .map(|key| Tag::builder().key(key).build())
            .collect();
        // DeleteTags without tags would delete every tag.
        if !tags.is_empty() {
            let call = self
                .client
                .delete_tags()
                .resources(&self.id)
                .set_tags(Some(tags));
            sent("ec2:DeleteTags", &self.id, call.send()).await?;
        }
        Ok(())
    }
}
