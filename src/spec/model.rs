//! The validated environment spec: the typed result of `spec::load`.
//!
//! Every value here has passed validation; the module expanders read it
//! without re-checking. Field docs name the TOML key they come from.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// An environment name; environments are only ever called dev, stg, prod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EnvName {
    /// Development.
    Dev,
    /// Staging.
    Stg,
    /// Production.
    Prod,
}

impl EnvName {
    /// Every valid environment name, in promotion order.
    pub const ALL: [EnvName; 3] = [EnvName::Dev, EnvName::Stg, EnvName::Prod];

    /// The name as written in specs, tags and resource names.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EnvName::Dev => "dev",
            EnvName::Stg => "stg",
            EnvName::Prod => "prod",
        }
    }

    /// Parses `dev`, `stg` or `prod`.
    #[must_use]
    pub fn parse(name: &str) -> Option<EnvName> {
        EnvName::ALL.into_iter().find(|env| env.as_str() == name)
    }
}

impl std::fmt::Display for EnvName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole environment spec, `specs/<env>.toml`.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The file the spec was read from.
    pub path: PathBuf,
    /// `sha256:<hex>` of the file's bytes; saved plans record it.
    pub digest: String,
    /// `[environment]`.
    pub environment: Environment,
    /// `[tags]`: the environment's required tags (Environment, Project, ManagedBy, Owner, and in
    /// prod CostCenter and Compliance). The tool always writes `ManagedBy=nc-provision`.
    pub tags: BTreeMap<String, String>,
    /// `[vpc]`.
    pub vpc: VpcSpec,
    /// `[iam]`.
    pub iam: IamSpec,
    /// `[kms]`.
    pub kms: KmsSpec,
    /// `[data]`.
    pub data: DataSpec,
    /// `[observability]`.
    pub observability: ObservabilitySpec,
    /// `[change_control]` (optional): the approvals a saved plan needs before `apply --plan`,
    /// and whether scheduled `reconcile` may repair. Absent: no approvals, repair allowed.
    pub change_control: Option<ChangeControl>,
    /// The line of every key the file writes, for plans to name the spec lines behind each
    /// change. Derived from the file's text, which [`Spec::digest`] already covers.
    pub provenance: super::Provenance,
}

/// `[change_control]`: who must approve a plan, and whether a scheduler may repair drift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeControl {
    /// `[change_control.required_approvals]`: approver roles a plan needs, by the highest risk
    /// class of its changes (`low`, `medium`, `high`).
    pub required_approvals: RequiredApprovals,
    /// `[change_control.approvers]`: per approver role, the principals (IAM role or STS
    /// assumed-role ARNs, `*` and `?` wildcards) that hold it.
    pub approvers: BTreeMap<String, Vec<String>>,
    /// `scheduled_repair`: whether `reconcile` may repair drift (prod: false — it reports and
    /// notifies instead).
    pub scheduled_repair: bool,
    /// `[change_control.validated_in]` (optional): the "validated in stg first" rule.
    pub validated_in: Option<ValidatedIn>,
}

/// `[change_control.validated_in]`: a plan may be applied only when another environment (stg)
/// ran the same modules digest (the tool's expanders and the spec's module structure) in an ok
/// apply at least `min_hours` earlier, as that environment's audit records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedIn {
    /// `env`: the environment that validates first (`stg`).
    pub env: String,
    /// `min_hours`: how long before the apply the validating apply must have run (0..=720).
    pub min_hours: u32,
    /// `region` (optional): the region of the validating environment's audit; default: that
    /// environment's spec region.
    pub region: Option<String>,
    /// `audit_role_arn` (optional): a role in the validating environment's account to assume
    /// for reading its audit table; without it, another account's table is read by its ARN
    /// (which needs a resource policy on that table).
    pub audit_role_arn: Option<String>,
}

/// Approver roles per risk class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredApprovals {
    /// Roles a plan whose highest class is low needs.
    pub low: Vec<String>,
    /// Roles a plan whose highest class is medium needs.
    pub medium: Vec<String>,
    /// Roles a plan with any high-risk change needs.
    pub high: Vec<String>,
}

impl RequiredApprovals {
    /// The roles for a class named `low`, `medium` or `high` (none for other names).
    #[must_use]
    pub fn for_class(&self, class: &str) -> &[String] {
        match class {
            "low" => &self.low,
            "medium" => &self.medium,
            "high" => &self.high,
            _ => &[],
        }
    }
}

/// `[environment]`: who and where.
#[derive(Debug, Clone)]
pub struct Environment {
    /// `name`: must equal the file's stem.
    pub name: EnvName,
    /// `region`: primary region, in the allowed list (us-east-1, ca-central-1).
    pub region: String,
    /// `dr_region`: disaster-recovery region, allowed list, different from `region`; absent for dev.
    pub dr_region: Option<String>,
    /// `account_id`: optional 12-digit pin; apply refuses any other account.
    pub account_id: Option<String>,
}

/// `[vpc]`: inputs of the vpc module.
#[derive(Debug, Clone)]
pub struct VpcSpec {
    /// `cidr`: the VPC's IPv4 CIDR, a /16 (three /19 tiers per AZ must fit).
    pub cidr: Ipv4Cidr,
    /// `az_count`: availability zones used, 1..=6; the three /19 tiers of every AZ must fit in
    /// `cidr` (a /16 holds 8 /19s, so two AZs), which the validator checks.
    pub az_count: u8,
    /// `enable_nat_gateway`.
    pub enable_nat_gateway: bool,
    /// `single_nat_gateway`: one NAT in total instead of one per AZ.
    pub single_nat_gateway: bool,
    /// `enable_vpc_endpoints`.
    pub enable_vpc_endpoints: bool,
    /// `enable_flow_logs`.
    pub enable_flow_logs: bool,
    /// `flow_logs_retention_days`: a CloudWatch Logs retention value.
    pub flow_logs_retention_days: i32,
}

/// An IPv4 network, `a.b.c.d/len`, with host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// Network address.
    pub addr: std::net::Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix: u8,
}

/// `[iam]`: inputs of the iam-baseline module.
#[derive(Debug, Clone)]
pub struct IamSpec {
    /// `security_account_id`: 12 digits.
    pub security_account_id: String,
    /// `logs_account_id`: 12 digits.
    pub logs_account_id: String,
    /// `enable_github_oidc`.
    pub enable_github_oidc: bool,
    /// `github_org`: required when `enable_github_oidc`.
    pub github_org: Option<String>,
    /// `github_repo`: required when `enable_github_oidc`.
    pub github_repo: Option<String>,
    /// `human_session_hours`: 1..=12 (dev 8, stg 4, prod 1).
    pub human_session_hours: u8,
    /// `human_mfa_required`.
    pub human_mfa_required: bool,
    /// `service_session_hours`: 1..=12 (12).
    pub service_session_hours: u8,
    /// `enable_access_analyzer` (optional, default true): an account IAM Access Analyzer in
    /// each region applied.
    pub enable_access_analyzer: bool,
}

/// `[kms]`: inputs of the kms module.
#[derive(Debug, Clone)]
pub struct KmsSpec {
    /// `enable_key_rotation`.
    pub enable_key_rotation: bool,
    /// `deletion_window_days`: 7..=30.
    pub deletion_window_days: i32,
}

/// `[data]`: the data stores named by the environment.
#[derive(Debug, Clone)]
pub struct DataSpec {
    /// `buckets`: bucket suffixes; each becomes `nc-dp-{env}-{suffix}` (raw, norm).
    pub buckets: Vec<String>,
    /// `[data.documents_table]`.
    pub documents_table: TableSpec,
    /// `replicate_to_dr_region` (optional, default false; needs `environment.dr_region`): the
    /// primary apply keeps a standby copy of the data in the DR region (its data key and
    /// buckets, S3 replication with Replication Time Control, a global-table replica).
    pub replicate_to_dr_region: bool,
    /// `[data.backup]` (optional): an AWS Backup plan for the buckets and the documents table.
    /// Absent (dev): no backup plan.
    pub backup: Option<BackupSpec>,
}

/// How often a backup rule takes a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupSchedule {
    /// Every hour, on the hour (UTC).
    Hourly,
    /// Every day at 05:00 UTC (AWS Backup's default start time).
    Daily,
    /// Every Sunday at 05:00 UTC.
    Weekly,
}

impl BackupSchedule {
    /// Every schedule, as the spec names them.
    pub const ALL: [BackupSchedule; 3] = [
        BackupSchedule::Hourly,
        BackupSchedule::Daily,
        BackupSchedule::Weekly,
    ];

    /// The name the spec writes (`hourly`, `daily`, `weekly`); also the snapshot rule's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            BackupSchedule::Hourly => "hourly",
            BackupSchedule::Daily => "daily",
            BackupSchedule::Weekly => "weekly",
        }
    }

    /// The schedule of that name.
    #[must_use]
    pub fn parse(name: &str) -> Option<BackupSchedule> {
        BackupSchedule::ALL
            .into_iter()
            .find(|schedule| schedule.as_str() == name)
    }
}

/// `[data.backup]`: AWS Backup of the data buckets and the documents table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSpec {
    /// `schedule`: `hourly`, `daily` or `weekly` snapshots.
    pub schedule: BackupSchedule,
    /// `retention_days`: how long each recovery point (and each copy) is kept, 1..=36500; at
    /// most 35 with `continuous`.
    pub retention_days: i64,
    /// `continuous` (optional, default false): continuous backup (point-in-time restore) where
    /// AWS Backup offers it (S3; the table has DynamoDB's own PITR), kept `retention_days`.
    pub continuous: bool,
    /// `copy_to_dr_region` (optional, default false; needs `environment.dr_region`): every
    /// recovery point is copied to the backup vault in the DR region.
    pub copy_to_dr_region: bool,
}

/// `[data.documents_table]`: `nc-dp-{env}-documents`.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// `point_in_time_recovery`.
    pub point_in_time_recovery: bool,
    /// `backup_retention_days`: PITR recovery period, 1..=35, when PITR is on.
    pub backup_retention_days: Option<i32>,
    /// `deletion_protection` (prod true).
    pub deletion_protection: bool,
}

/// `[observability]`: inputs of the observability module.
#[derive(Debug, Clone)]
pub struct ObservabilitySpec {
    /// `log_retention_days`: operational log groups, a CloudWatch Logs retention value.
    pub log_retention_days: i32,
    /// `audit_log_retention_days`: audit log groups (trail log group), a CloudWatch Logs retention value.
    pub audit_log_retention_days: i32,
    /// `trail_retention_days` or `trail_retention_years` (exactly one): the trail bucket's Object
    /// Lock COMPLIANCE default retention.
    pub trail_retention: LockRetention,
    /// `logs_bucket_name`: the central log bucket (`nc-dp-logs-central`).
    pub logs_bucket_name: String,
    /// `alert_email`: security alerts topic subscription.
    pub alert_email: String,
    /// `ops_email`: operations topic subscription; absent in dev.
    pub ops_email: Option<String>,
    /// `enable_guardduty`.
    pub enable_guardduty: bool,
    /// `guardduty_finding_publishing_frequency`: FIFTEEN_MINUTES | ONE_HOUR | SIX_HOURS.
    pub guardduty_finding_publishing_frequency: String,
    /// `enable_config_rules`.
    pub enable_config_rules: bool,
    /// `enable_security_hub`.
    pub enable_security_hub: bool,
    /// `api_gateway_name` (optional): the REST API whose 5xx rate is alarmed (dimension
    /// `ApiName`); without it there is no API Gateway alarm, as it would never get data.
    pub api_gateway_name: Option<String>,
    /// `api_gateway_stage` (optional, only with `api_gateway_name`): the stage (dimension
    /// `Stage`).
    pub api_gateway_stage: Option<String>,
}

/// An S3 Object Lock default retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockRetention {
    /// `trail_retention_days`.
    Days(i32),
    /// `trail_retention_years`.
    Years(i32),
}

impl std::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Ipv4Cidr {
    /// The `index`-th subnet of length `prefix` inside this network, counting from its start
    /// (e.g. `10.1.0.0/16`.subnet(19, 1) is `10.1.32.0/19`); `None` when `prefix` is shorter
    /// than this network's or the subnet would lie outside it.
    #[must_use]
    pub fn subnet(self, prefix: u8, index: u32) -> Option<Ipv4Cidr> {
        if prefix < self.prefix || prefix > 32 {
            return None;
        }
        let extra = u32::from(prefix - self.prefix);
        if extra < 32 && u64::from(index) >= 1u64 << extra {
            return None;
        }
        let step = 1u64 << (32 - u32::from(prefix));
        let start = u64::from(u32::from(self.addr)) + u64::from(index) * step;
        let start = u32::try_from(start).ok()?;
        Some(Ipv4Cidr {
            addr: std::net::Ipv4Addr::from(start),
            prefix,
        })
    }

    /// Whether `other` lies entirely inside this network.
    #[must_use]
    pub fn contains(self, other: Ipv4Cidr) -> bool {
        if other.prefix < self.prefix {
            return false;
        }
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        };
        u32::from(other.addr) & mask == u32::from(self.addr) & mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn net(a: [u8; 4], prefix: u8) -> Ipv4Cidr {
        Ipv4Cidr {
            addr: Ipv4Addr::from(a),
            prefix,
        }
    }

    #[test]
    fn subnets_of_a_vpc() {
        struct Case {
            reason: &'static str,
            prefix: u8,
            index: u32,
            want: Option<&'static str>,
        }
        let vpc = net([10, 1, 0, 0], 16);
        let cases = [
            Case {
                reason: "AZ-a public is the first /19",
                prefix: 19,
                index: 0,
                want: Some("10.1.0.0/19"),
            },
            Case {
                reason: "AZ-a app is the second /19",
                prefix: 19,
                index: 1,
                want: Some("10.1.32.0/19"),
            },
            Case {
                reason: "AZ-b data is the sixth /19 (REFERENCE: 10.X.160.0/19)",
                prefix: 19,
                index: 5,
                want: Some("10.1.160.0/19"),
            },
            Case {
                reason: "the eighth /19 is the last one",
                prefix: 19,
                index: 7,
                want: Some("10.1.224.0/19"),
            },
            Case {
                reason: "a ninth /19 does not fit",
                prefix: 19,
                index: 8,
                want: None,
            },
            Case {
                reason: "a subnet cannot be larger than the network",
                prefix: 15,
                index: 0,
                want: None,
            },
            Case {
                reason: "prefix beyond 32",
                prefix: 33,
                index: 0,
                want: None,
            },
        ];
        for c in cases {
            let got = vpc.subnet(c.prefix, c.index).map(|s| s.to_string());
            assert_eq!(got.as_deref(), c.want, "{}", c.reason);
        }
        let whole = net([0, 0, 0, 0], 0);
        assert_eq!(
            whole.subnet(32, u32::MAX).map(|s| s.to_string()).as_deref(),
            Some("255.255.255.255/32"),
            "the last /32 of 0.0.0.0/0"
        );
    }

    #[test]
    fn containment() {
        let (vpc, everything) = (net([10, 1, 0, 0], 16), net([0, 0, 0, 0], 0));
        let cases = [
            ("a /19 inside its /16", vpc, net([10, 1, 160, 0], 19), true),
            ("another VPC's /19", vpc, net([10, 2, 0, 0], 19), false),
            (
                "a larger network is not inside",
                vpc,
                net([10, 0, 0, 0], 8),
                false,
            ),
            (
                "everything is inside 0.0.0.0/0",
                everything,
                net([192, 168, 1, 0], 24),
                true,
            ),
        ];
        for (reason, outer, inner, want) in cases {
            assert_eq!(outer.contains(inner), want, "{reason}");
        }
    }
}
