//! Tests of the pure value checks.

use super::*;

fn msg<T>(r: Check<T>) -> String {
    match r {
        Ok(_) => String::new(),
        Err(p) => format!("{} | {}", p.message, p.hint.unwrap_or_default()),
    }
}

/// `got` (a [`msg`]) is empty when `want` is (the value passes), else it contains `want`.
fn expect_msg(reason: &str, got: &str, want: &str) {
    if want.is_empty() {
        assert_eq!(got, "", "{reason}");
    } else {
        assert!(got.contains(want), "{reason}: {got}");
    }
}

#[test]
fn cidr_cases() {
    struct Case {
        reason: &'static str,
        input: &'static str,
        want: Result<(&'static str, u8), &'static str>,
    }
    let cases = [
        Case {
            reason: "plain /16",
            input: "10.1.0.0/16",
            want: Ok(("10.1.0.0", 16)),
        },
        Case {
            reason: "/0 is syntactically fine",
            input: "0.0.0.0/0",
            want: Ok(("0.0.0.0", 0)),
        },
        Case {
            reason: "/32 host route",
            input: "10.1.2.3/32",
            want: Ok(("10.1.2.3", 32)),
        },
        Case {
            reason: "prefix too long",
            input: "10.1.0.0/33",
            want: Err("prefix length must be 0..=32"),
        },
        Case {
            reason: "no slash",
            input: "10.1.0.0",
            want: Err("expected a.b.c.d/n"),
        },
        Case {
            reason: "octet out of range",
            input: "10.256.0.0/16",
            want: Err("is not an IPv4 address"),
        },
        Case {
            reason: "three octets",
            input: "10.1.0/16",
            want: Err("is not an IPv4 address"),
        },
        Case {
            reason: "non-numeric prefix",
            input: "10.1.0.0/x",
            want: Err("expected a.b.c.d/n"),
        },
        Case {
            reason: "signed prefix",
            input: "10.1.0.0/+16",
            want: Err("expected a.b.c.d/n"),
        },
        Case {
            reason: "host bits set, hint gives the network",
            input: "10.1.5.0/16",
            want: Err(
                "host bits are set (the network address of a /16 has them zero) | did you mean \"10.1.0.0/16\"?",
            ),
        },
    ];
    for c in cases {
        match (cidr(c.input), c.want) {
            (Ok(got), Ok((addr, prefix))) => {
                assert_eq!(got.addr.to_string(), addr, "{}", c.reason);
                assert_eq!(got.prefix, prefix, "{}", c.reason);
            }
            (Err(p), Err(want)) => {
                let m = format!("{} | {}", p.message, p.hint.unwrap_or_default());
                assert!(m.contains(want), "{}: {m}", c.reason);
            }
            (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
        }
    }
}

#[test]
fn vpc_prefix_and_fit() {
    struct Case {
        reason: &'static str,
        cidr: &'static str,
        az: u8,
        want: &'static str,
    }
    let cases = [
        Case {
            reason: "/16 holds two AZs",
            cidr: "10.1.0.0/16",
            az: 2,
            want: "",
        },
        Case {
            reason: "/16 holds one AZ",
            cidr: "10.0.0.0/16",
            az: 1,
            want: "",
        },
        Case {
            reason: "/16 does not hold three AZs",
            cidr: "10.1.0.0/16",
            az: 3,
            want: "need 9 /19 subnets, but 10.1.0.0/16 holds only 8",
        },
        Case {
            reason: "/17 holds one AZ only",
            cidr: "10.1.0.0/17",
            az: 2,
            want: "use az_count = 1 or fewer",
        },
        Case {
            reason: "/20 cannot hold /19s",
            cidr: "10.1.0.0/20",
            az: 1,
            want: "too small",
        },
        Case {
            reason: "/15 is not a VPC size",
            cidr: "10.0.0.0/15",
            az: 1,
            want: "too large",
        },
    ];
    for c in cases {
        let Ok(net) = cidr(c.cidr) else {
            panic!("{}: bad test CIDR", c.reason)
        };
        let got = msg(vpc_prefix(net).and_then(|()| subnet_fit(net, c.az)));
        expect_msg(c.reason, &got, c.want);
    }
}

#[test]
fn retention_cases() {
    struct Case {
        reason: &'static str,
        days: i64,
        want: &'static str,
    }
    let cases = [
        Case {
            reason: "7 is allowed",
            days: 7,
            want: "",
        },
        Case {
            reason: "731 is allowed (two years)",
            days: 731,
            want: "",
        },
        Case {
            reason: "730 is not, and the hint says to use 731",
            days: 730,
            want: "nearest allowed values: 545 and 731 (for two years use 731)",
        },
        Case {
            reason: "45 lies between 30 and 60",
            days: 45,
            want: "nearest allowed values: 30 and 60",
        },
        Case {
            reason: "0 is below the smallest",
            days: 0,
            want: "nearest allowed value: 1;",
        },
        Case {
            reason: "beyond ten years",
            days: 4000,
            want: "nearest allowed value: 3653;",
        },
    ];
    for c in cases {
        expect_msg(
            c.reason,
            &msg(retention_days("log_retention_days", c.days)),
            c.want,
        );
    }
}

#[test]
fn string_checks() {
    struct Case {
        reason: &'static str,
        got: String,
        want: &'static str,
    }
    let cases = [
        Case {
            reason: "valid e-mail",
            got: msg(email("ops@neurocipher.io")),
            want: "",
        },
        Case {
            reason: "plus addressing is valid",
            got: msg(email("dev-alerts+x@mail.neurocipher.io")),
            want: "",
        },
        Case {
            reason: "e-mail without @",
            got: msg(email("ops.neurocipher.io")),
            want: "no '@'",
        },
        Case {
            reason: "e-mail without a domain dot",
            got: msg(email("ops@localhost")),
            want: "needs a dot",
        },
        Case {
            reason: "e-mail with two @",
            got: msg(email("a@b@c.io")),
            want: "more than one",
        },
        Case {
            reason: "e-mail with a space",
            got: msg(email("o ps@neurocipher.io")),
            want: "invalid character",
        },
        Case {
            reason: "e-mail with empty label",
            got: msg(email("ops@neurocipher..io")),
            want: "invalid domain label",
        },
        Case {
            reason: "account id of 12 digits",
            got: msg(account_id("012345678901")),
            want: "",
        },
        Case {
            reason: "account id too short",
            got: msg(account_id("12345")),
            want: "expected exactly 12 digits, found 5 digits",
        },
        Case {
            reason: "account id with letters",
            got: msg(account_id("12345678901a")),
            want: "expected exactly 12 digits, found characters other than digits",
        },
        Case {
            reason: "allowed region",
            got: msg(region("ca-central-1")),
            want: "",
        },
        Case {
            reason: "region outside the guard-rail",
            got: msg(region("eu-west-1")),
            want: "expected one of us-east-1, ca-central-1",
        },
        Case {
            reason: "env name",
            got: msg(env_name("qa")),
            want: "expected one of dev, stg, prod",
        },
        Case {
            reason: "github org with a wildcard",
            got: msg(github_name("neuro*", false)),
            want: "wildcards are not allowed",
        },
        Case {
            reason: "github repo with a dot",
            got: msg(github_name("platform.io", true)),
            want: "",
        },
        Case {
            reason: "guardduty frequency in lower case gets a did-you-mean",
            got: msg(guardduty_frequency("one_hour")),
            want: "did you mean \"ONE_HOUR\"?",
        },
        Case {
            reason: "guardduty frequency valid",
            got: msg(guardduty_frequency("FIFTEEN_MINUTES")),
            want: "",
        },
        Case {
            reason: "bucket suffix valid",
            got: msg(bucket_suffix("stg", "raw")),
            want: "",
        },
        Case {
            reason: "bucket suffix with upper case",
            got: msg(bucket_suffix("stg", "Raw")),
            want: "expected lowercase letters",
        },
        Case {
            reason: "bucket suffix ending in '-'",
            got: msg(bucket_suffix("stg", "raw-")),
            want: "must begin and end",
        },
        Case {
            reason: "bucket name too long",
            got: msg(bucket_suffix("stg", &"a".repeat(60))),
            want: "70 characters",
        },
        Case {
            reason: "reserved bucket suffix",
            got: msg(bucket_suffix("stg", "x-s3alias")),
            want: "is reserved",
        },
    ];
    for c in cases {
        expect_msg(c.reason, &c.got, c.want);
    }
}

#[test]
fn did_you_mean_cases() {
    struct Case {
        reason: &'static str,
        key: &'static str,
        want: Option<&'static str>,
    }
    let keys = [
        "cidr",
        "az_count",
        "enable_nat_gateway",
        "single_nat_gateway",
    ];
    let cases = [
        Case {
            reason: "one letter off",
            key: "cdir",
            want: Some("cidr"),
        },
        Case {
            reason: "case differs only",
            key: "AZ_COUNT",
            want: Some("az_count"),
        },
        Case {
            reason: "missing underscore",
            key: "enable_natgateway",
            want: Some("enable_nat_gateway"),
        },
        Case {
            reason: "nothing close",
            key: "region",
            want: None,
        },
    ];
    for c in cases {
        assert_eq!(did_you_mean(c.key, &keys), c.want, "{}", c.reason);
    }
}
