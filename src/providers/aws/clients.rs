//! SDK client construction, written once: every client shares the loaded configuration and
//! the call counter; a few services need one more setting (S3 path-style against an emulator,
//! S3 Control's host, creates that must not be re-sent blind).

use super::config::Aws;
use crate::providers::no_resend::NoBlindResend;

/// Defines `Aws::$method()`, a client of `$sdk` that counts its calls, with the settings
/// that follow its name (`.retry_classifier(NoBlindResend)`, say) added to its configuration.
macro_rules! counted_clients {
    ($($(#[$doc:meta])* $method:ident => $sdk:ident $(.$setting:ident($value:expr))*;)*) => {
        impl Aws {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $method(&self) -> $sdk::Client {
                    $sdk::Client::from_conf(
                        $sdk::config::Builder::from(&self.config)
                            .interceptor(self.counter.clone())
                            $(.$setting($value))*
                            .build(),
                    )
                }
            )*
        }
    };
}

counted_clients! {
    /// A KMS client.
    kms => aws_sdk_kms;
    /// A DynamoDB client.
    dynamodb => aws_sdk_dynamodb;
    /// An STS client.
    sts => aws_sdk_sts;
    /// An IAM client.
    iam => aws_sdk_iam;
    /// An IAM Access Analyzer client.
    accessanalyzer => aws_sdk_accessanalyzer;
    /// An EventBridge client.
    eventbridge => aws_sdk_eventbridge;
    /// A CloudWatch Logs client.
    logs => aws_sdk_cloudwatchlogs;
    /// An EC2 client.
    ec2 => aws_sdk_ec2;
    /// A CloudTrail client.
    cloudtrail => aws_sdk_cloudtrail;
    /// A GuardDuty client.
    guardduty => aws_sdk_guardduty;
    /// An AWS Config client.
    config_service => aws_sdk_config;
    /// A Security Hub client.
    securityhub => aws_sdk_securityhub;
    /// An SNS client.
    sns => aws_sdk_sns;
    /// A CloudWatch (metrics, alarms, dashboards) client.
    cloudwatch => aws_sdk_cloudwatch;
    /// An AWS Backup client.
    backup => aws_sdk_backup;
    /// A KMS client for creates without an idempotency token (CreateKey): the SDK retries
    /// only throttling, never re-sends a request whose outcome is unknown (see
    /// `providers::no_resend`).
    kms_without_resend => aws_sdk_kms.retry_classifier(NoBlindResend);
    /// An EC2 client for creates whose outcome must be looked up, not re-sent (CreateVpc,
    /// CreateSubnet, AllocateAddress, ...): the SDK retries only throttling.
    ec2_without_resend => aws_sdk_ec2.retry_classifier(NoBlindResend);
}

impl Aws {
    /// An AWS Backup client for the calls moto lacks (selections, recovery points): moto answers
    /// them with an HTML 500 page, which the SDK would retry with back-off (10-16 s a call), so
    /// in emulator mode it makes a single attempt; otherwise it is [`Aws::backup`].
    #[must_use]
    pub fn backup_single_attempt_in_emulator(&self) -> aws_sdk_backup::Client {
        let client = self.backup();
        if !self.emulator {
            return client;
        }
        aws_sdk_backup::Client::from_conf(
            client
                .config()
                .to_builder()
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
                .build(),
        )
    }

    /// An S3 client (path-style against an overridden endpoint).
    #[must_use]
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.config)
                .force_path_style(self.endpoint_overridden)
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// An S3 Control client. Against an overridden endpoint it keeps the host as given (the
    /// standard rules would prefix it with the account id).
    #[must_use]
    pub fn s3control(&self) -> aws_sdk_s3control::Client {
        let mut builder = aws_sdk_s3control::config::Builder::from(&self.config)
            .interceptor(self.counter.clone());
        if self.endpoint_overridden {
            builder =
                builder.endpoint_resolver(crate::providers::s3control::KeepHostResolver::default());
        }
        aws_sdk_s3control::Client::from_conf(builder.build())
    }
}
