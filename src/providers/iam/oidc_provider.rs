//! `iam_oidc_provider`: observe (GetOpenIDConnectProvider per listed provider), create,
//! update, delete.
//!
//! Props: `url` (host, no scheme), `client_ids` (sorted), `tags`; create input
//! `thumbprints`. Outputs `arn`.

use aws_sdk_iam::Client;

use super::tags::{OidcTags, iam_tags, tag_map};
use crate::model::{Kind, Observed, Outputs, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::list_of;
use crate::providers::aws::{Change, Live, aws_error, found, gone_is_done, sent, tag_pairs};

/// The host a desired provider is found by (its `url`, else its name).
pub(super) fn host(resource: &Resource) -> &str {
    resource.str_prop("url").unwrap_or(&resource.name)
}

/// Whether `arn` is the provider for `host`.
pub(super) fn is_for(arn: &str, host: &str) -> bool {
    arn.ends_with(&format!(":oidc-provider/{host}"))
}

/// Every OpenID Connect provider of the account (ARNs).
pub(super) async fn list(client: &Client) -> Result<Vec<String>, ProviderError> {
    Ok(client
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|error| aws_error("iam:ListOpenIDConnectProviders", "account", error))?
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|entry| entry.arn().map(str::to_string))
        .collect())
}

/// One provider as read by GetOpenIDConnectProvider; `None` when it is gone. Its name is the
/// host it serves.
pub(super) async fn read(client: &Client, arn: &str) -> Result<Option<Live>, ProviderError> {
    let call = client
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn);
    let Some(provider) = found(sent("iam:GetOpenIDConnectProvider", arn, call.send()).await)?
    else {
        return Ok(None);
    };
    let url = provider
        .url()
        .unwrap_or_default()
        .trim_start_matches("https://");
    let mut props = Props::new();
    props.insert("url".into(), Value::str(url));
    let mut client_ids: Vec<String> = provider.client_id_list().to_vec();
    client_ids.sort();
    props.insert(
        "client_ids".into(),
        Value::List(client_ids.into_iter().map(Value::Str).collect()),
    );
    let mut outputs = Outputs::new();
    outputs.insert("arn".into(), arn.to_string());
    Ok(Some(
        Live::new(Kind::IamOidcProvider, arn, url)
            .tags(tag_map(provider.tags()))
            .props(props)
            .outputs(outputs),
    ))
}

/// Creates the provider for `https://<url>`, tagged.
pub(super) async fn create(client: &Client, resource: &Resource) -> Result<Outputs, ProviderError> {
    let host = host(resource);
    let action = "iam:CreateOpenIDConnectProvider";
    let call = client
        .create_open_id_connect_provider()
        .url(format!("https://{host}"))
        .set_client_id_list(Some(list_of(resource.props.get("client_ids"))))
        .set_thumbprint_list(Some(list_of(resource.create_inputs.get("thumbprints"))))
        .set_tags(Some(iam_tags(tag_pairs(resource), action, host)?));
    let created = sent(action, host, call.send()).await?;
    let mut outputs = Outputs::new();
    if let Some(arn) = created.open_id_connect_provider_arn() {
        outputs.insert("arn".into(), arn.to_string());
    }
    Ok(outputs)
}

/// Adds and removes client ids, and syncs tags.
pub(super) async fn update(client: &Client, change: &Change<'_>) -> Result<Outputs, ProviderError> {
    let arn = change.physical_id();
    if change.touches("client_ids") {
        let desired = list_of(change.resource.props.get("client_ids"));
        let live = list_of(change.observed.props.get("client_ids"));
        for id in desired.iter().filter(|id| !live.contains(id)) {
            let call = client
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(id);
            sent("iam:AddClientIDToOpenIDConnectProvider", arn, call.send()).await?;
        }
        for id in live.iter().filter(|id| !desired.contains(id)) {
            let call = client
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(id);
            sent(
                "iam:RemoveClientIDFromOpenIDConnectProvider",
                arn,
                call.send(),
            )
            .await?;
        }
    }
    let api = OidcTags::new(client, arn, arn);
    change.sync_tags(&api).await
}

/// Deletes the provider (gone already counts as done).
pub(super) async fn delete(client: &Client, observed: &Observed) -> Result<(), ProviderError> {
    let arn = observed.physical_id.as_str();
    let call = client
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn);
    gone_is_done("iam:DeleteOpenIDConnectProvider", arn, call.send()).await
}
