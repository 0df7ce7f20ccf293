//! Attribute helpers shared by the kinds: resolved values of the desired resource, what
//! differs from the live ones, lists of strings, and client tokens.

use crate::model::{Props, Resource, Value};
use crate::providers::ProviderError;
pub(super) use crate::providers::aws::{list_of, list_prop};

pub(super) fn strings<I, S>(items: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::List(
        items
            .into_iter()
            .map(|item| Value::Str(item.into()))
            .collect(),
    )
}

pub(super) fn sorted_strings(mut items: Vec<String>) -> Value {
    items.sort();
    strings(items)
}

/// A client token (at most 64 ASCII characters, as EC2 requires): see the toolkit's.
pub(super) use crate::providers::aws::client_token;

/// A resolved string attribute.
pub(super) fn text(resource: &Resource, name: &str) -> Result<String, ProviderError> {
    match resource.props.get(name) {
        Some(Value::Str(text)) => Ok(text.clone()),
        other => Err(ProviderError::local(
            "resolve",
            resource.id.as_str(),
            format!("attribute {name} is {other:?}, expected a string"),
        )),
    }
}

/// Whether the live value differs from the desired one (a missing live value always does).
pub(super) fn differs(resource: &Resource, current: &Props, name: &str) -> bool {
    match (resource.props.get(name), current.get(name)) {
        (Some(desired), Some(live)) => !desired.equivalent(live),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

pub(super) fn bad_input(resource: &Resource, why: String) -> ProviderError {
    ProviderError::local("validate", resource.id.as_str(), why)
}

/// String attributes as AWS returned them (an absent one is `""`), by name.
pub(super) fn text_props<'a>(
    values: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Props {
    values
        .into_iter()
        .map(|(name, value)| (name.to_string(), Value::str(value.unwrap_or_default())))
        .collect()
}

/// Parses each of a resource's typed values (routes, ACL entries, security group rules) from
/// its text form.
///
/// # Errors
/// The first value that does not parse, as bad input of `resource`.
pub(super) fn parse_all<T: std::str::FromStr<Err = String>>(
    resource: &Resource,
    items: &[String],
) -> Result<Vec<T>, ProviderError> {
    items
        .iter()
        .map(|item| item.parse::<T>().map_err(|why| bad_input(resource, why)))
        .collect()
}

/// The directions (`egress`, live, desired) of a network ACL's entries or a security group's
/// rules that differ from the desired ones.
pub(super) fn changed_directions(
    resource: &Resource,
    current: &Props,
) -> Vec<(bool, Vec<String>, Vec<String>)> {
    [(false, "ingress"), (true, "egress")]
        .into_iter()
        .filter(|(_, name)| differs(resource, current, name))
        .map(|(egress, name)| {
            (
                egress,
                list_of(current.get(name)),
                list_prop(resource, name),
            )
        })
        .collect()
}
