//! Resource kinds: one typed list, shared by the modules that expand them and the providers that
//! serve them.
//!
//! A kind's name (`kms_key`, `s3_bucket`, ...) appears in plans, JSON output, saved plans and
//! the graph; it never changes. What a kind always is (data-bearing, global, the attributes that
//! force a replacement) is declared here once; a module may still mark a single resource
//! (e.g. [`crate::model::Resource::retained`]) where the rule is per resource.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// The AWS service a kind belongs to (one provider each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// AWS KMS.
    Kms,
    /// Amazon S3.
    S3,
    /// S3 Control (account-level S3 settings).
    S3Control,
    /// Amazon DynamoDB.
    DynamoDb,
    /// AWS IAM (global).
    Iam,
    /// IAM Access Analyzer.
    AccessAnalyzer,
    /// Amazon EC2 (the VPC and its parts).
    Ec2,
    /// CloudWatch Logs.
    Logs,
    /// Amazon SNS.
    Sns,
    /// Amazon EventBridge.
    Events,
    /// CloudWatch (alarms and dashboards).
    CloudWatch,
    /// AWS CloudTrail.
    CloudTrail,
    /// Amazon GuardDuty.
    GuardDuty,
    /// AWS Config.
    Config,
    /// AWS Security Hub.
    SecurityHub,
    /// AWS Backup.
    Backup,
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $service:ident;)*) => {
        /// A resource kind; selects the provider that serves it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
        }

        impl Kind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            /// The kind's stable name, as plans and JSON show it.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// The service whose provider serves this kind.
            #[must_use]
            pub const fn service(self) -> Service {
                match self {
                    $(Kind::$variant => Service::$service,)*
                }
            }
        }
    };
}

kinds! {
    /// A customer-managed KMS key with its alias, rotation and tags.
    KmsKey = "kms_key", Kms;
    /// The full key policy of a KMS key (applied after the principals it names exist).
    KmsKeyPolicy = "kms_key_policy", Kms;
    /// An S3 bucket with its versioning, encryption, public-access block, policy and tags.
    S3Bucket = "s3_bucket", S3;
    /// The account-level S3 Block Public Access settings.
    S3AccountPublicAccessBlock = "s3_account_public_access_block", S3Control;
    /// A DynamoDB table.
    DynamoDbTable = "dynamodb_table", DynamoDb;
    /// An IAM role with its trust policy, attachments and inline policies.
    IamRole = "iam_role", Iam;
    /// A customer-managed IAM policy.
    IamPolicy = "iam_policy", Iam;
    /// An IAM OIDC identity provider.
    IamOidcProvider = "iam_oidc_provider", Iam;
    /// The account's IAM password policy.
    IamPasswordPolicy = "iam_password_policy", Iam;
    /// An IAM Access Analyzer.
    AccessAnalyzer = "access_analyzer", AccessAnalyzer;
    /// The VPC, with its DNS attributes and its default security group's and network ACL's rules.
    Vpc = "vpc", Ec2;
    /// A subnet with its route-table and network-ACL associations.
    Subnet = "subnet", Ec2;
    /// The internet gateway and its attachment.
    InternetGateway = "internet_gateway", Ec2;
    /// An elastic IP for a NAT gateway.
    ElasticIp = "elastic_ip", Ec2;
    /// A NAT gateway.
    NatGateway = "nat_gateway", Ec2;
    /// A route table with its routes.
    RouteTable = "route_table", Ec2;
    /// A network ACL with its entries.
    NetworkAcl = "network_acl", Ec2;
    /// A security group with its rules.
    SecurityGroup = "security_group", Ec2;
    /// A gateway or interface VPC endpoint.
    VpcEndpoint = "vpc_endpoint", Ec2;
    /// A VPC flow log.
    FlowLog = "flow_log", Ec2;
    /// A CloudWatch Logs log group.
    LogGroup = "log_group", Logs;
    /// A metric filter on a log group.
    LogMetricFilter = "log_metric_filter", Logs;
    /// An SNS topic with its subscriptions.
    SnsTopic = "sns_topic", Sns;
    /// An EventBridge rule with its targets.
    EventBridgeRule = "eventbridge_rule", Events;
    /// A CloudWatch metric alarm.
    CloudWatchAlarm = "cloudwatch_alarm", CloudWatch;
    /// A CloudTrail trail.
    CloudTrailTrail = "cloudtrail_trail", CloudTrail;
    /// The region's GuardDuty detector.
    GuardDutyDetector = "guardduty_detector", GuardDuty;
    /// The region's AWS Config recorder and delivery channel.
    ConfigRecorder = "config_recorder", Config;
    /// An AWS Config managed rule.
    ConfigRule = "config_rule", Config;
    /// The region's Security Hub subscription and standards.
    SecurityHubHub = "securityhub_hub", SecurityHub;
    /// A CloudWatch dashboard (account-wide; expanded in the primary region only).
    CloudWatchDashboard = "cloudwatch_dashboard", CloudWatch;
    /// The replication configuration of an S3 bucket (its rules, role and destinations).
    S3BucketReplication = "s3_bucket_replication", S3;
    /// An AWS Backup vault, encrypted with a KMS key (it holds the recovery points).
    BackupVault = "backup_vault", Backup;
    /// An AWS Backup plan with its rules (schedule, lifecycle, continuous backup, copies).
    BackupPlan = "backup_plan", Backup;
    /// An AWS Backup selection: the resources a plan backs up and the role it uses.
    BackupSelection = "backup_selection", Backup;
}

impl Kind {
    /// Data-bearing: a resource of this kind is never deleted or replaced by the tool (shown
    /// as retained), whatever the flags.
    #[must_use]
    pub const fn retained(self) -> bool {
        matches!(
            self,
            Kind::KmsKey
                | Kind::S3Bucket
                | Kind::DynamoDbTable
                | Kind::LogGroup
                | Kind::BackupVault
        )
    }

    /// Account-wide rather than regional (IAM, the account's S3 Block Public Access): created
    /// and changed only from the environment's primary region. CloudWatch dashboards are
    /// account-wide too, but only the primary region's expansion names them (the DR region's
    /// plan never sees them), so they need no read-only check elsewhere.
    #[must_use]
    pub const fn global(self) -> bool {
        matches!(self.service(), Service::Iam) || matches!(self, Kind::S3AccountPublicAccessBlock)
    }

    /// Whether AWS keeps tags on resources of this kind (so ownership is read from them and
    /// a resource of ours the spec no longer names is found as an orphan). Alarms carry an
    /// ownership marker in their description instead, dashboards the same marker in a text
    /// widget (`model::DashboardBody::owner`); account singletons have no tags.
    #[must_use]
    pub const fn taggable(self) -> bool {
        !matches!(
            self,
            Kind::KmsKeyPolicy
                | Kind::IamPasswordPolicy
                | Kind::S3AccountPublicAccessBlock
                | Kind::LogMetricFilter
                | Kind::CloudWatchAlarm
                | Kind::ConfigRecorder
                | Kind::SecurityHubHub
                | Kind::CloudWatchDashboard
                | Kind::S3BucketReplication
                | Kind::BackupSelection
        )
    }

    /// The kind named `name`, if there is one.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(name: &str) -> Result<Kind, String> {
        Kind::from_name(name).ok_or_else(|| format!("unknown resource kind {name:?}"))
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_name_that_reads_back() {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|kind| kind.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(*kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert!("no_such_kind".parse::<Kind>().is_err());
    }
}
