//! Attribute helpers shared by the kinds: resolved values of the desired resource, what
//! differs from the live ones, lists of strings, and client tokens.

use crate::model::{Outputs, Props, Resource, Value};
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

/// A live string attribute (`""` when absent or not a string).
pub(super) fn live_text<'a>(current: &'a Props, name: &str) -> &'a str {
    current
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
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

/// The outputs AWS returned (an absent one is left out), by name.
pub(super) fn text_outputs<'a>(
    values: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Outputs {
    values
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_string(), value?.to_string())))
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

/// One direction of a network ACL's entries or a security group's rules, to move from `live`
/// to `desired` (both in their text form).
pub(super) struct Direction<'a> {
    /// The network ACL or security group (or its VPC, for the defaults): errors name it.
    pub resource: &'a Resource,
    /// The AWS id of the network ACL or security group.
    pub id: &'a str,
    /// Outbound (else inbound).
    pub egress: bool,
    /// The entries or rules as they are.
    pub live: Vec<String>,
    /// The entries or rules as the spec wants them.
    pub desired: Vec<String>,
}

impl<'a> Direction<'a> {
    /// Both directions of the entries or rules of `id`: the desired ones are `resource`'s
    /// attributes `{prefix}ingress` and `{prefix}egress`, the live ones `live(egress)`.
    pub(super) fn both(
        resource: &'a Resource,
        id: &'a str,
        prefix: &str,
        live: impl Fn(bool) -> Vec<String>,
    ) -> [Direction<'a>; 2] {
        [false, true].map(|egress| Direction {
            resource,
            id,
            egress,
            live: live(egress),
            desired: list_prop(resource, &direction_name(prefix, egress)),
        })
    }
}

/// The attribute of one direction: `{prefix}ingress` or `{prefix}egress`.
pub(super) fn direction_name(prefix: &str, egress: bool) -> String {
    format!("{prefix}{}", if egress { "egress" } else { "ingress" })
}

/// The directions of a network ACL's entries or a security group's rules (attributes
/// `ingress` and `egress`) whose live value differs from the desired one.
pub(super) fn changed_directions<'a>(
    resource: &'a Resource,
    id: &'a str,
    current: &Props,
) -> Vec<Direction<'a>> {
    let live = |egress| list_of(current.get(&direction_name("", egress)));
    Direction::both(resource, id, "", live)
        .into_iter()
        .filter(|direction| differs(resource, current, &direction_name("", direction.egress)))
        .collect()
}
