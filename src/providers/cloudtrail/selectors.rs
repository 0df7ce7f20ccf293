//! A trail's event selectors, both ways: the `management_events`, `data_events` and
//! `data_events_excluded` attributes from the live selectors, and the selectors a trail wants.
//!
//! A data event entry reads `type=value:ReadWriteType` (`AWS::S3::Object=arn:aws:s3:All`).
//! Basic selectors serve a trail without exclusions; one with `data_events_excluded` needs
//! advanced selectors, the only ones that can leave a bucket out.

use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, ReadWriteType,
};

use crate::model::Resource;
use crate::providers::ProviderError;
use crate::providers::aws::list_prop;

/// The value of a data resource meaning "every object of every bucket".
const ALL_S3_OBJECTS: &str = "arn:aws:s3";

/// The selector attributes read from a trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SelectorProps {
    /// `All`, `ReadOnly`, `WriteOnly` or `None`.
    pub management: String,
    /// `type=value:ReadWriteType` entries, sorted.
    pub data: Vec<String>,
    /// ARN prefixes left out of the data events, sorted.
    pub excluded: Vec<String>,
}

/// The selectors a trail is given by PutEventSelectors.
pub(super) enum Selectors {
    /// Basic event selectors.
    Basic(Vec<EventSelector>),
    /// Advanced event selectors (with exclusions).
    Advanced(Vec<AdvancedEventSelector>),
}

/// The selectors `resource` wants: advanced ones when it excludes data resources.
///
/// # Errors
/// An advanced selector that the SDK refuses to build.
pub(super) fn desired(resource: &Resource) -> Result<Selectors, ProviderError> {
    if list_prop(resource, "data_events_excluded").is_empty() {
        Ok(Selectors::Basic(desired_selectors(resource)))
    } else {
        desired_advanced_selectors(resource).map(Selectors::Advanced)
    }
}

/// The selector attributes of a trail from GetEventSelectors' answer: its advanced selectors
/// when it has any, else its basic ones.
pub(super) fn live(basic: &[EventSelector], advanced: &[AdvancedEventSelector]) -> SelectorProps {
    if advanced.is_empty() {
        let (management, data) = selectors_props(basic);
        SelectorProps {
            management,
            data,
            excluded: Vec::new(),
        }
    } else {
        advanced_props(advanced)
    }
}

/// `management_events` and `data_events` from event selectors: the read/write type of the
/// management selector, and `type=value` entries of every data resource.
fn selectors_props(selectors: &[EventSelector]) -> (String, Vec<String>) {
    let mut management = "None".to_string();
    let mut data = Vec::new();
    for selector in selectors {
        let read_write = selector
            .read_write_type()
            .map_or("All", ReadWriteType::as_str);
        if selector.include_management_events().unwrap_or(true) {
            management = read_write.to_string();
        }
        for resource in selector.data_resources() {
            for value in resource.values() {
                data.push(format!(
                    "{}={value}:{read_write}",
                    resource.r#type().unwrap_or_default()
                ));
            }
        }
    }
    data.sort();
    data.dedup();
    (management, data)
}

/// The event selectors a resource wants: one selector with management events of the wanted
/// type and every data resource (`type=value:ReadWriteType`).
fn desired_selectors(resource: &Resource) -> Vec<EventSelector> {
    let management = resource.str_prop("management_events").unwrap_or("All");
    let mut selector = EventSelector::builder()
        .include_management_events(management != "None")
        .read_write_type(ReadWriteType::from(if management == "None" {
            "All"
        } else {
            management
        }));
    for entry in list_prop(resource, "data_events") {
        let Some((kind, value)) = data_entry(&entry) else {
            continue;
        };
        selector =
            selector.data_resources(DataResource::builder().r#type(kind).values(value).build());
    }
    vec![selector.build()]
}

/// A data event entry `type=value:ReadWriteType` as (type, value).
fn data_entry(entry: &str) -> Option<(&str, &str)> {
    let (kind, rest) = entry.split_once('=')?;
    Some((kind, rest.rsplit_once(':').map_or(rest, |(value, _)| value)))
}

/// The advanced event selectors a trail with `data_events_excluded` wants: one for management
/// events, one per data resource type, each data one excluding the listed ARN prefixes
/// (`resources.ARN NotStartsWith`). Basic selectors cannot exclude a bucket; CloudTrail's
/// user guide advises excluding the trail's own bucket (and its access-log bucket) from S3
/// data events, or every delivery logs another event (logging-data-events-with-cloudtrail).
fn desired_advanced_selectors(
    resource: &Resource,
) -> Result<Vec<AdvancedEventSelector>, ProviderError> {
    let failed = |error: aws_sdk_cloudtrail::error::BuildError| {
        ProviderError::local(
            "cloudtrail:PutEventSelectors",
            &resource.name,
            error.to_string(),
        )
    };
    let management = resource.str_prop("management_events").unwrap_or("All");
    let mut selectors = Vec::new();
    if management != "None" {
        let mut builder = AdvancedEventSelector::builder()
            .name("Management events")
            .field_selectors(equals_one("eventCategory", "Management").map_err(failed)?);
        if management != "All" {
            let read_only = if management == "ReadOnly" {
                "true"
            } else {
                "false"
            };
            builder = builder.field_selectors(equals_one("readOnly", read_only).map_err(failed)?);
        }
        selectors.push(builder.build().map_err(failed)?);
    }
    let excluded = list_prop(resource, "data_events_excluded");
    for entry in list_prop(resource, "data_events") {
        let Some((kind, value)) = data_entry(&entry) else {
            continue;
        };
        let mut builder = AdvancedEventSelector::builder()
            .name(format!("{kind} data events"))
            .field_selectors(equals_one("eventCategory", "Data").map_err(failed)?)
            .field_selectors(equals_one("resources.type", kind).map_err(failed)?);
        if value != ALL_S3_OBJECTS {
            builder = builder.field_selectors(
                AdvancedFieldSelector::builder()
                    .field("resources.ARN")
                    .starts_with(value)
                    .build()
                    .map_err(failed)?,
            );
        }
        if !excluded.is_empty() {
            builder = builder.field_selectors(
                AdvancedFieldSelector::builder()
                    .field("resources.ARN")
                    .set_not_starts_with(Some(excluded.clone()))
                    .build()
                    .map_err(failed)?,
            );
        }
        selectors.push(builder.build().map_err(failed)?);
    }
    Ok(selectors)
}

/// A field selector `field Equals [value]`.
fn equals_one(
    field: &str,
    value: &str,
) -> Result<AdvancedFieldSelector, aws_sdk_cloudtrail::error::BuildError> {
    AdvancedFieldSelector::builder()
        .field(field)
        .equals(value)
        .build()
}

/// `management_events`, `data_events` and `data_events_excluded` from advanced selectors.
fn advanced_props(selectors: &[AdvancedEventSelector]) -> SelectorProps {
    let mut management = "None".to_string();
    let mut data = Vec::new();
    let mut excluded = Vec::new();
    for selector in selectors {
        let fields = selector.field_selectors();
        let equals = |name: &str| -> Vec<String> {
            fields
                .iter()
                .filter(|f| f.field() == name)
                .flat_map(|f| f.equals().iter().cloned())
                .collect()
        };
        let category = equals("eventCategory");
        if category.iter().any(|c| c == "Management") {
            management = match equals("readOnly").as_slice() {
                [only] if only == "true" => "ReadOnly",
                [only] if only == "false" => "WriteOnly",
                _ => "All",
            }
            .to_string();
        }
        if category.iter().any(|c| c == "Data") {
            let arns = fields.iter().filter(|f| f.field() == "resources.ARN");
            let starts: Vec<String> = arns
                .clone()
                .flat_map(|f| f.starts_with().iter().cloned())
                .collect();
            excluded.extend(arns.flat_map(|f| f.not_starts_with().iter().cloned()));
            for kind in equals("resources.type") {
                if starts.is_empty() {
                    data.push(format!("{kind}={ALL_S3_OBJECTS}:All"));
                }
                for value in &starts {
                    data.push(format!("{kind}={value}:All"));
                }
            }
        }
    }
    for list in [&mut data, &mut excluded] {
        list.sort();
        list.dedup();
    }
    SelectorProps {
        management,
        data,
        excluded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Value};

    #[test]
    fn selectors_round_trip_through_the_props() {
        let resource = Resource::new("t", Kind::CloudTrailTrail, "t")
            .prop("management_events", "All")
            .prop(
                "data_events",
                Value::List(vec![Value::str("AWS::S3::Object=arn:aws:s3:::x/:All")]),
            );
        let selectors = desired_selectors(&resource);
        let (management, data) = selectors_props(&selectors);
        assert_eq!(management, "All");
        assert_eq!(data, vec!["AWS::S3::Object=arn:aws:s3:::x/:All"]);
    }

    #[test]
    fn advanced_selectors_exclude_buckets_and_round_trip_through_the_props() {
        let excluded = vec![
            Value::str("arn:aws:s3:::access-logs/"),
            Value::str("arn:aws:s3:::trail/"),
        ];
        let resource = Resource::new("t", Kind::CloudTrailTrail, "t")
            .prop("management_events", "All")
            .prop(
                "data_events",
                Value::List(vec![Value::str("AWS::S3::Object=arn:aws:s3:All")]),
            )
            .prop("data_events_excluded", Value::List(excluded));
        let selectors = desired_advanced_selectors(&resource).expect("selectors");
        assert_eq!(selectors.len(), 2, "management, S3 objects");
        let data = &selectors[1];
        let not_starts: Vec<&str> = data
            .field_selectors()
            .iter()
            .flat_map(|f| f.not_starts_with())
            .map(String::as_str)
            .collect();
        assert_eq!(
            not_starts,
            ["arn:aws:s3:::access-logs/", "arn:aws:s3:::trail/"]
        );
        let props = advanced_props(&selectors);
        assert_eq!(props.management, "All");
        assert_eq!(props.data, vec!["AWS::S3::Object=arn:aws:s3:All"]);
        assert_eq!(
            props.excluded,
            ["arn:aws:s3:::access-logs/", "arn:aws:s3:::trail/"]
        );
    }
}
