//! Calls that AWS pages but the SDK has no paginator for (EventBridge ListRules, DynamoDB
//! ListTagsOfResource): their next token is followed by hand, in one place.

use super::errors::ProviderError;

/// Every item of a paged call the SDK has no paginator for. `page(token)` sends one request
/// with that next token (`None` first) and answers its items and the next token; pages are
/// followed until the token is absent or empty.
///
/// # Errors
/// The first page that failed.
pub async fn follow_pages<T, Page>(
    mut page: impl FnMut(Option<String>) -> Page,
) -> Result<Vec<T>, ProviderError>
where
    Page: Future<Output = Result<(Vec<T>, Option<String>), ProviderError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (found, next) = page(token).await?;
        items.extend(found);
        match next {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_followed_until_the_token_is_empty_or_absent() {
        for (last, name) in [(Some(String::new()), "empty"), (None, "absent")] {
            let mut asked = Vec::new();
            let items = follow_pages(|token| {
                asked.push(token.clone());
                let answer = match token.as_deref() {
                    None => (vec![1, 2], Some("t2".to_string())),
                    Some("t2") => (vec![3], last.clone()),
                    Some(other) => panic!("{name}: asked for page {other} after the last"),
                };
                async move { Ok(answer) }
            })
            .await
            .expect("pages");
            assert_eq!(items, vec![1, 2, 3], "{name}: every page's items, in order");
            assert_eq!(
                asked,
                vec![None, Some("t2".to_string())],
                "{name}: two requests"
            );
        }
    }

    #[tokio::test]
    async fn a_failed_page_is_the_answer() {
        let failed = follow_pages(|token| async move {
            match token {
                None => Ok((vec![1], Some("t2".to_string()))),
                Some(_) => Err(ProviderError::local(
                    "events:ListRules",
                    "nc-stg-",
                    "denied",
                )),
            }
        })
        .await;
        let error = failed.expect_err("the second page failed");
        assert!(error.to_string().contains("events:ListRules"), "{error}");
    }
}
