//! Pure value checks: each returns the typed value or a [`Problem`] (message + hint).

use std::net::Ipv4Addr;

use super::model::{EnvName, Ipv4Cidr};

/// Why a value is rejected: what was found and expected, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// What was found and what was expected.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Problem {
    pub(super) fn new(message: impl Into<String>, hint: Option<String>) -> Problem {
        Problem {
            message: message.into(),
            hint,
        }
    }
}

type Check<T> = Result<T, Problem>;

/// Regions the organisation allows (a guard-rail).
pub(super) const ALLOWED_REGIONS: [&str; 2] = ["us-east-1", "ca-central-1"];

/// Retention values CloudWatch Logs accepts (`PutRetentionPolicy`), in days.
pub(super) const CLOUDWATCH_RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// GuardDuty `FindingPublishingFrequency` values.
pub(super) const GUARDDUTY_FREQUENCIES: [&str; 3] = ["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"];

/// Prefix length of each subnet tier.
pub(super) const TIER_PREFIX: u8 = 19;
/// Subnet tiers per AZ (public, private-app, private-data).
pub(super) const TIERS_PER_AZ: u32 = 3;

fn env_list() -> String {
    EnvName::ALL.map(EnvName::as_str).join(", ")
}

/// An environment name: dev, stg or prod.
pub(super) fn env_name(s: &str) -> Check<EnvName> {
    EnvName::parse(s).ok_or_else(|| {
        Problem::new(
            format!(
                "unknown environment name {s:?}: expected one of {}",
                env_list()
            ),
            Some("environments are only ever called dev, stg, prod".to_string()),
        )
    })
}

/// A region in the allowed list.
pub(super) fn region(s: &str) -> Check<()> {
    if ALLOWED_REGIONS.contains(&s) {
        return Ok(());
    }
    Problem::err(
        format!(
            "region {s:?} is not allowed: expected one of {}",
            ALLOWED_REGIONS.join(", ")
        ),
        Some(
            "the organisation's guard-rail allows only us-east-1 (primary) and ca-central-1 (DR)"
                .to_string(),
        ),
    )
}

impl Problem {
    fn err<T>(message: impl Into<String>, hint: Option<String>) -> Check<T> {
        Err(Problem::new(message, hint))
    }
}

/// `a.b.c.d/n` with host bits zero.
pub(super) fn cidr(s: &str) -> Check<Ipv4Cidr> {
    let syntax = || {
        Problem::new(
            format!("invalid CIDR {s:?}: expected a.b.c.d/n"),
            Some("write an IPv4 network like \"10.1.0.0/16\"".to_string()),
        )
    };
    let (addr, prefix) = s.split_once('/').ok_or_else(syntax)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| {
        Problem::new(
            format!("invalid CIDR {s:?}: {addr:?} is not an IPv4 address"),
            Some(
                "four decimal octets 0..=255 without leading zeros, like \"10.1.0.0/16\""
                    .to_string(),
            ),
        )
    })?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 2 {
        return Err(syntax());
    }
    let prefix: u8 = prefix.parse().map_err(|_| syntax())?;
    if prefix > 32 {
        return Problem::err(
            format!("invalid CIDR {s:?}: prefix length must be 0..=32"),
            Some("a VPC CIDR is /16 to /19 here, e.g. \"10.1.0.0/16\"".to_string()),
        );
    }
    let mask = prefix_mask(prefix);
    let bits = u32::from(addr);
    if bits & !mask != 0 {
        let network = Ipv4Addr::from(bits & mask);
        return Problem::err(
            format!(
                "invalid CIDR {s:?}: host bits are set (the network address of a /{prefix} has them zero)"
            ),
            Some(format!("did you mean \"{network}/{prefix}\"?")),
        );
    }
    Ok(Ipv4Cidr { addr, prefix })
}

fn prefix_mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

/// The VPC CIDR's prefix: AWS allows /16 to /28, and three /19 tiers need at least a /19.
pub(super) fn vpc_prefix(c: Ipv4Cidr) -> Check<()> {
    if c.prefix < 16 {
        return Problem::err(
            format!(
                "VPC CIDR {c} is too large: AWS allows a VPC prefix of /16 to /28, found /{}",
                c.prefix
            ),
            Some("use a /16, e.g. \"10.1.0.0/16\"".to_string()),
        );
    }
    if c.prefix > TIER_PREFIX {
        return Problem::err(
            format!(
                "VPC CIDR {c} is too small: its prefix must be /{TIER_PREFIX} or shorter to hold \
                 /{TIER_PREFIX} subnets, found /{}",
                c.prefix
            ),
            Some("use a /16, e.g. \"10.1.0.0/16\"".to_string()),
        );
    }
    Ok(())
}

/// How many /19 subnets fit in `c` (0 when its prefix is longer than /19).
pub(super) fn tier_capacity(c: Ipv4Cidr) -> u32 {
    if c.prefix > TIER_PREFIX {
        0
    } else {
        1u32 << u32::from(TIER_PREFIX - c.prefix)
    }
}

/// `az_count` AZs of three /19 tiers must fit in `c`.
pub(super) fn subnet_fit(c: Ipv4Cidr, az_count: u8) -> Check<()> {
    let needed = u32::from(az_count) * TIERS_PER_AZ;
    let capacity = tier_capacity(c);
    if needed <= capacity {
        return Ok(());
    }
    let max_az = capacity / TIERS_PER_AZ;
    Problem::err(
        format!(
            "az_count {az_count} does not fit: {az_count} AZs × {TIERS_PER_AZ} tiers need {needed} \
             /{TIER_PREFIX} subnets, but {c} holds only {capacity}"
        ),
        Some(format!(
            "use az_count = {max_az} or fewer with this CIDR (a VPC can be at most a /16)"
        )),
    )
}

/// An integer in `lo..=hi`; `hint` says where the limits come from.
pub(super) fn in_range(what: &str, v: i64, (lo, hi): (i64, i64), hint: &str) -> Check<()> {
    if (lo..=hi).contains(&v) {
        return Ok(());
    }
    Problem::err(
        format!("{what} {v} is out of range: expected {lo}..={hi}"),
        Some(hint.to_string()),
    )
}

/// A CloudWatch Logs retention value.
pub(super) fn retention_days(what: &str, v: i64) -> Check<()> {
    if CLOUDWATCH_RETENTION_DAYS.contains(&v) {
        return Ok(());
    }
    let below = CLOUDWATCH_RETENTION_DAYS
        .iter()
        .rev()
        .find(|&&d| d < v)
        .copied();
    let above = CLOUDWATCH_RETENTION_DAYS.iter().find(|&&d| d > v).copied();
    let nearest = match (below, above) {
        (Some(b), Some(a)) => format!("nearest allowed values: {b} and {a}"),
        (Some(b), None) => format!("nearest allowed value: {b}"),
        (None, Some(a)) => format!("nearest allowed value: {a}"),
        (None, None) => String::new(),
    };
    let extra = if v == 730 {
        " (for two years use 731)"
    } else {
        ""
    };
    let all = CLOUDWATCH_RETENTION_DAYS.map(|d| d.to_string()).join(", ");
    Problem::err(
        format!("{what} {v} is not a CloudWatch Logs retention value"),
        Some(format!("{nearest}{extra}; allowed: {all}")),
    )
}

/// An AWS account id: exactly 12 digits.
pub(super) fn account_id(s: &str) -> Check<()> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let found = if s.chars().all(|c| c.is_ascii_digit()) {
        format!("{} digits", s.len())
    } else {
        "characters other than digits".to_string()
    };
    Problem::err(
        format!("invalid AWS account id {s:?}: expected exactly 12 digits, found {found}"),
        Some("write it as a quoted string of 12 digits (keep leading zeros)".to_string()),
    )
}

/// An e-mail address: `local@domain.tld`.
pub(super) fn email(s: &str) -> Check<()> {
    let bad = |why: &str| {
        Problem::new(
            format!("invalid e-mail address {s:?}: {why}"),
            Some("expected an address like \"ops@neurocipher.io\"".to_string()),
        )
    };
    let Some((local, domain)) = s.split_once('@') else {
        return Err(bad("no '@'"));
    };
    if domain.contains('@') {
        return Err(bad("more than one '@'"));
    }
    const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
    if local.is_empty() || local.len() > 64 {
        return Err(bad("the part before '@' must be 1 to 64 characters"));
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c))
    {
        return Err(bad("invalid character before '@'"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad("misplaced '.' before '@'"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("the domain needs a dot, like neurocipher.io"));
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad(&format!("invalid domain label {label:?}")));
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad(&format!("invalid top-level domain {tld:?}")));
    }
    Ok(())
}

/// A GitHub organisation (`repo = false`) or repository name: it goes into the OIDC trust
/// policy's subject `repo:{org}/{repo}:*`, so wildcards would widen who can assume the role.
pub(super) fn github_name(s: &str, repo: bool) -> Check<()> {
    let what = if repo { "repository" } else { "organisation" };
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || c == '-' || (repo && (c == '_' || c == '.'));
    let ok = !s.is_empty()
        && s.len() <= 100
        && s.chars().all(allowed)
        && !s.starts_with('-')
        && !(repo && (s == "." || s == ".."));
    if ok {
        return Ok(());
    }
    let chars = if repo {
        "letters, digits, '-', '_' and '.'"
    } else {
        "letters, digits and '-'"
    };
    Problem::err(
        format!("invalid GitHub {what} name {s:?}: expected {chars}"),
        Some(
            "it becomes the OIDC trust subject repo:{org}/{repo}:*; wildcards are not allowed"
                .to_string(),
        ),
    )
}

/// A GuardDuty finding publishing frequency.
pub(super) fn guardduty_frequency(s: &str) -> Check<()> {
    if GUARDDUTY_FREQUENCIES.contains(&s) {
        return Ok(());
    }
    let upper = s.to_ascii_uppercase().replace([' ', '-'], "_");
    let hint = if GUARDDUTY_FREQUENCIES.contains(&upper.as_str()) {
        format!("did you mean \"{upper}\"?")
    } else {
        "SIX_HOURS is the AWS default".to_string()
    };
    Problem::err(
        format!(
            "invalid GuardDuty publishing frequency {s:?}: expected one of {}",
            GUARDDUTY_FREQUENCIES.join(", ")
        ),
        Some(hint),
    )
}

/// A bucket suffix (lowercase `[a-z0-9-]`) whose bucket `nc-dp-{env}-{suffix}` is a valid S3
/// bucket name.
pub(super) fn bucket_suffix(env: &str, suffix: &str) -> Check<()> {
    if suffix.is_empty()
        || !suffix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Problem::err(
            format!("invalid bucket suffix {suffix:?}: expected lowercase letters, digits and '-'"),
            Some(format!(
                "each suffix becomes the bucket nc-dp-{env}-<suffix>, e.g. \"raw\""
            )),
        );
    }
    s3_bucket_name(&format!("nc-dp-{env}-{suffix}"))
}

/// An S3 bucket name (general purpose bucket rules, without dots).
pub(super) fn s3_bucket_name(name: &str) -> Check<()> {
    let bad = |why: &str| {
        Problem::new(
            format!("invalid S3 bucket name {name:?}: {why}"),
            Some(
                "S3 names are 3 to 63 characters of lowercase letters, digits and '-', \
                 beginning and ending with a letter or digit"
                    .to_string(),
            ),
        )
    };
    if !(3..=63).contains(&name.len()) {
        return Err(bad(&format!("{} characters", name.len())));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad("only lowercase letters, digits and '-' are allowed"));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        return Err(bad("must begin and end with a letter or digit"));
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(bad(&format!("the prefix {prefix:?} is reserved")));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return Err(bad(&format!("the suffix {suffix:?} is reserved")));
        }
    }
    Ok(())
}

/// The edit distance (optimal string alignment: insert, delete, substitute, swap two adjacent
/// characters) between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `key`, if close enough to be a likely typo.
pub(super) fn did_you_mean<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| {
            let d = distance(&lower, &c.to_ascii_lowercase());
            (d, *c)
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests;
