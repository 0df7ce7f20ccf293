//! How IAM tags and untags each taggable kind: TagRole/UntagRole, TagPolicy/UntagPolicy,
//! TagOpenIDConnectProvider/UntagOpenIDConnectProvider
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html>).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;

use crate::providers::ProviderError;
use crate::providers::aws::{TagApi, aws_error};

/// IAM tags from (key, value) pairs; `action` names the call they are for.
pub(super) fn iam_tags(
    pairs: Vec<(String, String)>,
    action: &str,
    resource: &str,
) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| ProviderError::local(action, resource, error.to_string()))
        })
        .collect()
}

/// IAM tags as a map.
pub(super) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect()
}

/// Tags of one role, by name.
pub(super) struct RoleTags<'a> {
    /// The IAM client.
    pub client: &'a Client,
    /// The role's name.
    pub name: &'a str,
}

#[async_trait]
impl TagApi for RoleTags<'_> {
    async fn tag(&self, pairs: Vec<(String, String)>) -> Result<(), ProviderError> {
        self.client
            .tag_role()
            .role_name(self.name)
            .set_tags(Some(iam_tags(pairs, "iam:TagRole", self.name)?))
            .send()
            .await
            .map_err(|error| aws_error("iam:TagRole", self.name, error))?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), ProviderError> {
        self.client
            .untag_role()
            .role_name(self.name)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|error| aws_error("iam:UntagRole", self.name, error))?;
        Ok(())
    }
}

/// Tags of one managed policy, by ARN.
pub(super) struct PolicyTags<'a> {
    /// The IAM client.
    pub client: &'a Client,
    /// The policy's ARN.
    pub arn: &'a str,
}

#[async_trait]
impl TagApi for PolicyTags<'_> {
    async fn tag(&self, pairs: Vec<(String, String)>) -> Result<(), ProviderError> {
        self.client
            .tag_policy()
            .policy_arn(self.arn)
            .set_tags(Some(iam_tags(pairs, "iam:TagPolicy", self.arn)?))
            .send()
            .await
            .map_err(|error| aws_error("iam:TagPolicy", self.arn, error))?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), ProviderError> {
        self.client
            .untag_policy()
            .policy_arn(self.arn)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|error| aws_error("iam:UntagPolicy", self.arn, error))?;
        Ok(())
    }
}

/// Tags of one OpenID Connect provider, by ARN.
pub(super) struct OidcTags<'a> {
    /// The IAM client.
    pub client: &'a Client,
    /// The provider's ARN.
    pub arn: &'a str,
}

#[async_trait]
impl TagApi for OidcTags<'_> {
    async fn tag(&self, pairs: Vec<(String, String)>) -> Result<(), ProviderError> {
        let action = "iam:TagOpenIDConnectProvider";
        self.client
            .tag_open_id_connect_provider()
            .open_id_connect_provider_arn(self.arn)
            .set_tags(Some(iam_tags(pairs, action, self.arn)?))
            .send()
            .await
            .map_err(|error| aws_error(action, self.arn, error))?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), ProviderError> {
        self.client
            .untag_open_id_connect_provider()
            .open_id_connect_provider_arn(self.arn)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|error| aws_error("iam:UntagOpenIDConnectProvider", self.arn, error))?;
        Ok(())
    }
}
