#!/usr/bin/env python3
"""Regenerates tests/specs/bad/ from the good specs in specs/.

Each case is a copy of specs/<env>.toml with ONE defect, plus an `expected` file:
  line 1: the env to pass to --env
  line 2: <env>.toml:LINE:COL  (where the error must point; computed here from the text,
          independently of the Rust loader)
  line 3: a substring of the error message
The unit test `spec::tests::bad_spec_corpus` (cargo test) loads every case and checks both,
and that the case gives exactly one error. Run from anywhere: python3 tests/specs/make_bad_corpus.py
"""
import os, shutil
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECS = os.path.join(ROOT, 'specs')
BAD = os.path.join(ROOT, 'tests', 'specs', 'bad')

def rep(old, new):
    # replaces the one occurrence of `old` on a non-comment line (or, for a commented-out key, the comment line)
    def f(t):
        lines = t.split('\n')
        hits = [i for i, l in enumerate(lines) if old.split('\n')[0] in l and not l.lstrip().startswith('#')]
        if old.startswith('#'):
            hits = [i for i, l in enumerate(lines) if l.startswith(old.split('\n')[0])]
        assert len(hits) == 1, (old, hits)
        body = '\n'.join(lines)
        i = sum(len(l) + 1 for l in lines[:hits[0]])
        j = body.index(old, i)
        return body[:j] + new + body[j + len(old):]
    return f

def drop_line(prefix):
    def f(t):
        lines = t.split('\n')
        idx = [i for i, l in enumerate(lines) if l.startswith(prefix)]
        assert len(idx) == 1, prefix
        del lines[idx[0]]
        return '\n'.join(lines)
    return f

def drop_section(header):
    def f(t):
        lines = t.split('\n')
        i = lines.index(header)
        j = i + 1
        while j < len(lines) and not lines[j].startswith('['):
            j += 1
        # keep the comment block that belongs to the next section? comments above next header stay
        return '\n'.join(lines[:i] + lines[j:])
    return f

# (case, env, edit, (line substring, column substring), message)
CASES = [
 ('unknown-key', 'stg', rep('az_count = 2\n', 'az_count = 2\nenable_ipv6 = true\n'),
   ('enable_ipv6 = true', 'enable_ipv6'), 'unknown key "enable_ipv6" in [vpc]'),
 ('unknown-key-nested', 'stg', rep('deletion_protection = false\n', 'deletion_protection = false\nttl_attribute = "expires_at"\n'),
   ('ttl_attribute', 'ttl_attribute'), 'unknown key "ttl_attribute" in [data.documents_table]'),
 ('unknown-key-typo', 'stg', rep('[kms]\n', '[kms]\nenable_key_rotaton = true\n'),
   ('enable_key_rotaton', 'enable_key_rotaton'), 'did you mean "enable_key_rotation"?'),
 ('unknown-table', 'stg', rep('[kms]\n', '[network]\nmtu = 9001\n\n[kms]\n'),
   ('network', 'network'), 'unknown table or key "network" at the top level'),
 ('wrong-type-string-for-integer', 'stg', rep('az_count = 2', 'az_count = "2"'),
   ('az_count = ', '"2"'), 'wrong type for vpc.az_count: expected integer, found string "2"'),
 ('wrong-type-string-for-bool', 'stg', rep('enable_flow_logs = true', 'enable_flow_logs = "yes"'),
   ('enable_flow_logs = ', '"yes"'), 'wrong type for vpc.enable_flow_logs: expected boolean, found string'),
 ('cidr-syntax', 'stg', rep('cidr = "10.1.0.0/16"', 'cidr = "10.1.0.0"'),
   ('cidr = ', '"'), 'invalid CIDR "10.1.0.0": expected a.b.c.d/n'),
 ('cidr-bad-address', 'stg', rep('cidr = "10.1.0.0/16"', 'cidr = "10.1.300.0/16"'),
   ('cidr = ', '"'), '"10.1.300.0" is not an IPv4 address'),
 ('cidr-prefix-too-long', 'stg', rep('cidr = "10.1.0.0/16"', 'cidr = "10.1.0.0/33"'),
   ('cidr = ', '"'), 'invalid CIDR "10.1.0.0/33": prefix length must be 0..=32'),
 ('cidr-host-bits', 'stg', rep('cidr = "10.1.0.0/16"', 'cidr = "10.1.4.0/16"'),
   ('cidr = ', '"'), 'host bits are set'),
 ('cidr-too-small', 'stg', rep('cidr = "10.1.0.0/16"', 'cidr = "10.1.0.0/20"'),
   ('cidr = ', '"'), 'VPC CIDR 10.1.0.0/20 is too small'),
 ('subnets-dont-fit', 'stg', rep('az_count = 2', 'az_count = 3'),
   ('az_count = ', '3'), 'az_count 3 does not fit: 3 AZs × 3 tiers need 9 /19 subnets, but 10.1.0.0/16 holds only 8'),
 ('az-count-zero', 'dev', rep('az_count = 1', 'az_count = 0'),
   ('az_count = ', '0'), 'vpc.az_count 0 is out of range: expected 1..=6'),
 ('region-not-allowed', 'stg', rep('region = "us-east-1"', 'region = "eu-west-1"'),
   ('region = "eu', '"'), 'region "eu-west-1" is not allowed: expected one of us-east-1, ca-central-1'),
 ('dr-region-not-allowed', 'stg', rep('dr_region = "ca-central-1"', 'dr_region = "us-west-2"'),
   ('dr_region = ', '"'), 'region "us-west-2" is not allowed'),
 ('dr-region-same-as-region', 'prod', rep('dr_region = "ca-central-1"', 'dr_region = "us-east-1"'),
   ('dr_region = ', '"'), 'dr_region "us-east-1" is the same as region'),
 ('prod-missing-dr-region', 'prod', drop_line('dr_region = '),
   ('[environment]', '['), 'missing required key "environment.dr_region"'),
 ('retention-730', 'prod', rep('audit_log_retention_days = 731', 'audit_log_retention_days = 730'),
   ('audit_log_retention_days = ', '730'), 'audit_log_retention_days 730 is not a CloudWatch Logs retention value'),
 ('retention-45', 'stg', rep('flow_logs_retention_days = 30', 'flow_logs_retention_days = 45'),
   ('flow_logs_retention_days = ', '45'), 'flow_logs_retention_days 45 is not a CloudWatch Logs retention value'),
 ('kms-window-5', 'stg', rep('deletion_window_days = 30', 'deletion_window_days = 5'),
   ('deletion_window_days = ', '5'), 'kms.deletion_window_days 5 is out of range: expected 7..=30'),
 ('kms-window-31', 'prod', rep('deletion_window_days = 30', 'deletion_window_days = 31'),
   ('deletion_window_days = ', '31'), 'kms.deletion_window_days 31 is out of range: expected 7..=30'),
 ('missing-tag-owner', 'stg', drop_line('Owner = '),
   ('[tags]', '['), 'missing required tag "Owner" in [tags]'),
 ('prod-missing-compliance-tag', 'prod', drop_line('Compliance = '),
   ('[tags]', '['), 'missing required tag "Compliance" in [tags] (required in prod)'),
 ('tag-environment-mismatch', 'stg', rep('Environment = "stg"', 'Environment = "prod"'),
   ('Environment = ', '"'), 'tags.Environment "prod" does not match the environment "stg"'),
 ('env-name-unknown', 'stg', rep('name = "stg"', 'name = "qa"'),
   ('name = "qa"', '"'), 'unknown environment name "qa": expected one of dev, stg, prod'),
 ('env-name-not-file-name', 'stg', rep('name = "stg"', 'name = "prod"'),
   ('name = "prod"', '"'), 'environment.name "prod" does not match the file name stg.toml'),
 ('bad-email', 'stg', rep('alert_email = "stg-alerts@neurocipher.io"', 'alert_email = "stg-alerts.neurocipher.io"'),
   ('alert_email = ', '"'), 'invalid e-mail address "stg-alerts.neurocipher.io"'),
 ('bad-ops-email', 'prod', rep('ops_email = "ops@neurocipher.io"', 'ops_email = "ops@neurocipher"'),
   ('ops_email = ', '"'), 'invalid e-mail address "ops@neurocipher"'),
 ('bad-account-id', 'stg', rep('security_account_id = "111111111111"', 'security_account_id = "11111111111"'),
   ('security_account_id = ', '"'), 'invalid AWS account id "11111111111": expected exactly 12 digits'),
 ('bad-pinned-account-id', 'prod', rep('# account_id = "123456789012"', 'account_id = "prod-account"'),
   ('account_id = "prod', '"'), 'invalid AWS account id "prod-account"'),
 ('toml-syntax-error', 'stg', rep('enable_nat_gateway = true', 'enable_nat_gateway = = true'),
   ('enable_nat_gateway = =', '= true'), 'TOML syntax error'),
 ('toml-duplicate-key', 'stg', rep('az_count = 2\n', 'az_count = 2\naz_count = 2\n'),
   ('az_count = 2', 'az_count', 1), 'TOML syntax error: duplicate key'),
 ('missing-key', 'stg', drop_line('enable_flow_logs = '),
   ('[vpc]', '['), 'missing required key "vpc.enable_flow_logs" (boolean) in [vpc]'),
 ('missing-table', 'stg', drop_section('[kms]'),
   None, 'missing table [kms]'),
 ('github-oidc-without-org', 'stg', drop_line('github_org = '),
   ('enable_github_oidc = ', 'enable'), 'missing key "iam.github_org" (string): required when enable_github_oidc = true'),
 ('github-org-wildcard', 'prod', rep('github_org = "neurocipher-io"', 'github_org = "neurocipher-*"'),
   ('github_org = ', '"'), 'invalid GitHub organisation name "neurocipher-*"'),
 ('trail-retention-both', 'stg', rep('trail_retention_days = 30\n', 'trail_retention_days = 30\ntrail_retention_years = 1\n'),
   ('trail_retention_years', 'trail'), 'both trail_retention_days and trail_retention_years are set: expected exactly one'),
 ('trail-retention-neither', 'prod', drop_line('trail_retention_years = '),
   ('[observability]', '['), 'missing key "observability.trail_retention_days" or "observability.trail_retention_years"'),
 ('guardduty-frequency', 'prod', rep('"FIFTEEN_MINUTES"', '"15m"'),
   ('guardduty_finding_publishing_frequency', '"'), 'invalid GuardDuty publishing frequency "15m": expected one of FIFTEEN_MINUTES, ONE_HOUR, SIX_HOURS'),
 ('session-hours', 'dev', rep('human_session_hours = 8', 'human_session_hours = 24'),
   ('human_session_hours = ', '24'), 'iam.human_session_hours 24 is out of range: expected 1..=12'),
 ('backup-retention-too-long', 'prod', rep('backup_retention_days = 30', 'backup_retention_days = 90'),
   ('backup_retention_days = ', '90'), 'data.documents_table.backup_retention_days 90 is out of range: expected 1..=35'),
 ('pitr-without-retention', 'stg', drop_line('backup_retention_days = '),
   ('[data.documents_table]', '['), 'missing key "data.documents_table.backup_retention_days" (integer): required when point_in_time_recovery = true'),
 ('bucket-suffix-uppercase', 'stg', rep('buckets = ["raw", "norm"]', 'buckets = ["raw", "Norm"]'),
   ('buckets = ', '"Norm"'), 'invalid bucket suffix "Norm"'),
 ('managed-by-terraform', 'prod', rep('ManagedBy = "nc-provision"', 'ManagedBy = "terraform"'),
   ('ManagedBy = ', '"'), 'tags.ManagedBy "terraform": expected "nc-provision"'),
 ('tag-value-comma', 'prod', rep('Compliance = "soc2 iso27001"', 'Compliance = "soc2,iso27001"'),
   ('Compliance = ', '"'), 'invalid value "soc2,iso27001" for tag "Compliance"'),
]

if os.path.isdir(BAD):
    for d in os.listdir(BAD):
        p = os.path.join(BAD, d)
        if os.path.isdir(p):
            shutil.rmtree(p)
os.makedirs(BAD, exist_ok=True)
names = set()
for case, env, edit, where, message in CASES:
    assert case not in names, case
    names.add(case)
    text = open(os.path.join(SPECS, env + '.toml')).read()
    bad = edit(text)
    assert bad != text, case
    d = os.path.join(BAD, case)
    os.makedirs(d)
    open(os.path.join(d, env + '.toml'), 'w').write(bad)
    if where is None:
        line, col = 1, 1
    else:
        lines = bad.split('\n')
        hits = [i for i, l in enumerate(lines) if where[0] in l and not l.lstrip().startswith('#')]
        nth = where[2] if len(where) > 2 else 0
        assert len(hits) == (nth + 1 if len(where) > 2 else 1), (case, where, hits)
        l = lines[hits[nth]]
        line, col = hits[nth] + 1, l.index(where[1]) + 1
    open(os.path.join(d, 'expected'), 'w').write(f'{env}\n{env}.toml:{line}:{col}\n{message}\n')
print(len(CASES), 'cases')
