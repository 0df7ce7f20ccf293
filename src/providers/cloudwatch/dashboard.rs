//! CloudWatch dashboards (`cloudwatch_dashboard`): account-wide, untagged, owned by the marker
//! in a text widget of their body (see [`crate::model::DashboardBody`]).
//!
//! Observe: ListDashboards by the environment's prefix `nc-{env}-` (paginated), then
//! GetDashboard for each one listed — the desired ones, and the others to read their marker (a
//! dashboard of this environment the spec no longer names is an orphan, deleted; one without
//! the marker is not the tool's and is left alone). The body is compared as
//! [`crate::model::DashboardBody`]: `widgets` (a sorted list of canonical widget texts) and
//! `settings` (the rest of the body).
//!
//! Create and update: PutDashboard, an upsert of the whole body; its
//! `DashboardValidationMessages` are an error (CloudWatch API reference, PutDashboard: "If this
//! call results in validation messages, the dashboard is still created, but ... might not
//! render"). Delete: DeleteDashboards; a dashboard already gone counts as done.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::DashboardEntry;

use super::CloudWatchProvider;
use crate::model::{DashboardBody, Kind, Observation, Observed, Outputs, Owner, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Change, Live, MarkerSorter, list_prop, read_all, sent};

/// The error code of CloudWatch's `DashboardNotFoundError`.
const DASHBOARD_NOT_FOUND: &str = "ResourceNotFound";

/// Whether `error` says the dashboard does not exist.
fn is_absent(error: &ProviderError) -> bool {
    error.is_not_found() || error.code.as_deref() == Some(DASHBOARD_NOT_FOUND)
}

/// The desired body of a dashboard resource (its `widgets` and `settings`).
fn desired_body(resource: &Resource) -> DashboardBody {
    DashboardBody {
        widgets: list_prop(resource, "widgets"),
        settings: resource.str_prop("settings").unwrap_or("{}").to_string(),
    }
}

/// The observed attributes of a body as GetDashboard returned it, and its owner. A body that
/// is not a dashboard body is kept as one opaque widget, never ours.
fn observe_body(text: &str, env: &str) -> (BTreeMap<String, Value>, Owner) {
    let (body, owner) = match DashboardBody::parse(text) {
        Ok(body) => {
            let owner = body.owner(env);
            (body, owner)
        }
        Err(_) => (
            DashboardBody {
                widgets: vec![text.to_string()],
                settings: String::new(),
            },
            Owner::Foreign,
        ),
    };
    let mut props = BTreeMap::new();
    props.insert(
        "widgets".to_string(),
        Value::List(body.widgets.into_iter().map(Value::Str).collect()),
    );
    props.insert("settings".to_string(), Value::Str(body.settings));
    (props, owner)
}

fn outputs(name: &str, arn: &str) -> Outputs {
    let mut outputs = Outputs::new();
    outputs.insert("name".into(), name.to_string());
    if !arn.is_empty() {
        outputs.insert("arn".into(), arn.to_string());
    }
    outputs
}

impl CloudWatchProvider {
    /// Every dashboard whose name starts with `prefix`.
    async fn list_dashboards(&self, prefix: &str) -> Result<Vec<DashboardEntry>, ProviderError> {
        let call = self.client.list_dashboards().dashboard_name_prefix(prefix);
        let call = call.into_paginator().items();
        sent(
            "cloudwatch:ListDashboards",
            prefix,
            call.send().try_collect(),
        )
        .await
    }

    /// The body of dashboard `name`, or `None` if it was deleted since it was listed.
    async fn dashboard_body(&self, name: &str) -> Result<Option<String>, ProviderError> {
        let call = self.client.get_dashboard().dashboard_name(name);
        match sent("cloudwatch:GetDashboard", name, call.send()).await {
            Ok(answer) => Ok(Some(answer.dashboard_body().unwrap_or("{}").to_string())),
            Err(error) if is_absent(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The dashboards of `desired`, and the orphans whose marker names `env`.
    pub(super) async fn observe_dashboards(
        &self,
        desired: &[&Resource],
        env: &str,
    ) -> Result<Observation, ProviderError> {
        let prefix = format!("nc-{env}-");
        let listed = self.list_dashboards(&prefix).await?;
        let names: Vec<String> = listed
            .iter()
            .map(|entry| entry.dashboard_name().unwrap_or_default().to_string())
            .collect();
        let reads: Vec<_> = names.iter().map(|name| self.dashboard_body(name)).collect();
        let bodies = read_all(reads).await?;
        let mut sorter = MarkerSorter::new(desired, "dashboard");
        for (entry, body) in listed.iter().zip(bodies) {
            let (Some(name), Some(body)) = (entry.dashboard_name(), body) else {
                continue;
            };
            let (props, owner) = observe_body(&body, env);
            let live = Live::new(Kind::CloudWatchDashboard, name, name)
                .props(props)
                .outputs(outputs(name, entry.dashboard_arn().unwrap_or_default()));
            let orphan = owner == Owner::Ours;
            sorter.add(live, owner, orphan);
        }
        Ok(sorter.finish())
    }

    /// PutDashboard with the desired body (create and update alike).
    pub(super) async fn put_dashboard(
        &self,
        resource: &Resource,
    ) -> Result<Outputs, ProviderError> {
        const ACTION: &str = "cloudwatch:PutDashboard";
        let name = resource.name.as_str();
        let body = desired_body(resource)
            .to_text()
            .map_err(|why| ProviderError::local(ACTION, name, why))?;
        let call = self.client.put_dashboard().dashboard_name(name);
        let answer = sent(ACTION, name, call.dashboard_body(body).send()).await?;
        let messages: Vec<String> = answer
            .dashboard_validation_messages()
            .iter()
            .map(|message| {
                format!(
                    "{}: {}",
                    message.data_path().unwrap_or("/"),
                    message.message().unwrap_or_default()
                )
            })
            .collect();
        if !messages.is_empty() {
            return Err(ProviderError::local(
                ACTION,
                name,
                format!(
                    "the dashboard body has validation messages: {}",
                    messages.join("; ")
                ),
            ));
        }
        Ok(outputs(name, ""))
    }

    /// PutDashboard replaces the whole body: one call whatever differs.
    pub(super) async fn update_dashboard(
        &self,
        change: &Change<'_>,
    ) -> Result<Outputs, ProviderError> {
        let mut outputs = self.put_dashboard(change.resource).await?;
        outputs.extend(change.observed.outputs.clone());
        Ok(outputs)
    }

    /// DeleteDashboards of one dashboard; one already gone counts as done.
    pub(super) async fn delete_dashboard(&self, observed: &Observed) -> Result<(), ProviderError> {
        let name = observed.physical_id.as_str();
        let call = self.client.delete_dashboards().dashboard_names(name);
        match sent("cloudwatch:DeleteDashboards", name, call.send()).await {
            Ok(_) => Ok(()),
            Err(error) if is_absent(&error) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_is_not_json_is_observed_as_foreign_and_differs() {
        let (props, owner) = observe_body("<html>", "stg");
        assert_eq!(owner, Owner::Foreign);
        assert_eq!(
            props.get("widgets"),
            Some(&Value::List(vec![Value::str("<html>")]))
        );
    }

    #[test]
    fn the_desired_body_reads_back_as_observed() {
        let widget = r#"{"height":2,"properties":{"markdown":"x [nc-provision:stg]"},"type":"text","width":24,"x":0,"y":0}"#;
        let resource = Resource::new("d", Kind::CloudWatchDashboard, "nc-stg-cost")
            .prop("widgets", Value::List(vec![Value::str(widget)]))
            .prop("settings", r#"{"start":"-PT3H"}"#);
        let text = desired_body(&resource).to_text().expect("body text");
        let (props, owner) = observe_body(&text, "stg");
        assert_eq!(owner, Owner::Ours);
        assert_eq!(props.get("widgets"), resource.props.get("widgets"));
        assert_eq!(props.get("settings"), resource.props.get("settings"));
    }
}
