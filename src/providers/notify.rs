//! Notifications: a message to an SNS topic (the drift summary `reconcile` publishes to the
//! environment's operations topic where change control forbids scheduled repair).

use super::aws::sent;
use super::{Aws, ProviderError};

/// The longest SNS subject (100 characters, printable ASCII).
const SUBJECT_LIMIT: usize = 100;

/// Publishes `message` with `subject` to the topic `topic_arn`; returns the message id.
///
/// # Errors
/// SNS refused or could not be reached.
pub async fn publish(
    aws: &Aws,
    topic_arn: &str,
    subject: &str,
    message: &str,
) -> Result<String, ProviderError> {
    let subject: String = subject
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .take(SUBJECT_LIMIT)
        .collect();
    let call = aws.sns().publish().topic_arn(topic_arn);
    let call = call.subject(subject).message(message);
    let answer = sent("sns:Publish", topic_arn, call.send()).await?;
    Ok(answer.message_id().unwrap_or_default().to_string())
}
