//! How IAM tags and untags each taggable kind: TagRole/UntagRole, TagPolicy/UntagPolicy,
//! TagOpenIDConnectProvider/UntagOpenIDConnectProvider
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html>).

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;

use crate::providers::ProviderError;
use crate::providers::aws::{keys_as_they_are, sdk_tags_of, tag_api, tags_from};

/// IAM tags from (key, value) pairs; `action` names the call they are for.
pub(super) fn iam_tags(
    pairs: Vec<(String, String)>,
    action: &str,
    resource: &str,
) -> Result<Vec<Tag>, ProviderError> {
    sdk_tags_of(pairs, action, resource)
}

/// IAM tags as a map.
pub(super) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags_from(tags, |tag| (tag.key(), tag.value()))
}

tag_api! {
    /// Tags of one role, by name.
    RoleTags(Client) by role_name;
    "iam:TagRole": tag_role.set_tags(|pairs, name| iam_tags(pairs, "iam:TagRole", name));
    "iam:UntagRole": untag_role.set_tag_keys(keys_as_they_are);
}

tag_api! {
    /// Tags of one managed policy, by ARN.
    PolicyTags(Client) by policy_arn;
    "iam:TagPolicy": tag_policy.set_tags(|pairs, arn| iam_tags(pairs, "iam:TagPolicy", arn));
    "iam:UntagPolicy": untag_policy.set_tag_keys(keys_as_they_are);
}

tag_api! {
    /// Tags of one OpenID Connect provider, by ARN.
    OidcTags(Client) by open_id_connect_provider_arn;
    "iam:TagOpenIDConnectProvider": tag_open_id_connect_provider.set_tags(oidc_tags);
    "iam:UntagOpenIDConnectProvider": untag_open_id_connect_provider.set_tag_keys(keys_as_they_are);
}

fn oidc_tags(pairs: Vec<(String, String)>, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    iam_tags(pairs, "iam:TagOpenIDConnectProvider", arn)
}
