//! Emulator glue for ListTags: the AWS Backup API documents its path as
//! `GET /tags/{ResourceArn}/` (with the trailing slash, as boto3 still sends it; AWS accepts
//! both), the Rust SDK sends it without; moto reads the ARN as the path's second-to-last
//! segment, so without the slash it answers an empty tag set. Against an overridden endpoint
//! only, the slash is put back before the request is signed.
//! (<https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListTags.html>)

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Adds the documented trailing slash to ListTags requests (`/tags/{arn}` → `/tags/{arn}/`).
#[derive(Debug, Clone, Copy)]
pub(super) struct ListTagsTrailingSlash;

/// The URI with the slash added, when it is a ListTags path without one.
fn with_slash(uri: &str) -> Option<String> {
    let (path, query) = uri
        .split_once('?')
        .map_or((uri, None), |(p, q)| (p, Some(q)));
    let after_scheme = path.find("://").map_or(0, |at| at + 3);
    let path_start = path[after_scheme..].find('/')? + after_scheme;
    let rest = &path[path_start..];
    if !rest.starts_with("/tags/") || rest.ends_with('/') {
        return None;
    }
    Some(match query {
        Some(query) => format!("{path}/?{query}"),
        None => format!("{path}/"),
    })
}

impl Intercept for ListTagsTrailingSlash {
    fn name(&self) -> &'static str {
        "nc-provision-backup-list-tags-slash"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if request.method() == "GET"
            && let Some(uri) = with_slash(request.uri())
        {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::with_slash;

    #[test]
    fn only_list_tags_paths_without_the_slash_get_one() {
        let arn = "arn%3Aaws%3Abackup%3Aus-east-1%3A1%3Abackup-vault%3Av";
        assert_eq!(
            with_slash(&format!("http://127.0.0.1:4567/tags/{arn}")),
            Some(format!("http://127.0.0.1:4567/tags/{arn}/"))
        );
        assert_eq!(
            with_slash(&format!("http://h/tags/{arn}?nextToken=x")),
            Some(format!("http://h/tags/{arn}/?nextToken=x"))
        );
        assert_eq!(with_slash(&format!("http://h/tags/{arn}/")), None);
        assert_eq!(with_slash("http://h/backup-vaults/v"), None);
    }
}
