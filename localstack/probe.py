#!/usr/bin/env python3
"""Smoke test and diagnostic for the local emulators (LocalStack on 4566, moto on 4567).

Exercises, with boto3, the calls nc-provision depends on, and prints what the emulators answer
where they are known to differ from AWS. Run it with the LocalStack venv's Python (it has boto3):

    "${NC_EMU_HOME:-$HOME/.cache/nc-provision/emulators}"/venv-localstack/bin/python localstack/probe.py

Options: --json prints the findings as JSON at the end. Ports follow NC_LOCALSTACK_PORT and
NC_MOTO_PORT. Every run uses fresh resource names, so it can run against emulators already in use;
it creates resources (in account 000000000000 and 111111111111 on LocalStack, and in moto's account)
and does not delete them: run localstack/reset.sh for a clean slate.
Exit status: 0 if every check passed, 1 otherwise. "finding" lines are observations, not failures.
"""

import json
import os
import sys
import time
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Nothing from the caller's AWS configuration may leak in (a stray AWS_PROFILE makes boto3 fail
# when the config file is /dev/null; a stray AWS_ENDPOINT_URL_* would redirect a service).
for var in list(os.environ):
    if var.startswith("AWS_ENDPOINT_URL") or var in (
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    ):
        del os.environ[var]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

LOCALSTACK = f"http://127.0.0.1:{os.environ.get('NC_LOCALSTACK_PORT', '4566')}"
MOTO = f"http://127.0.0.1:{os.environ.get('NC_MOTO_PORT', '4567')}"
REGION = "us-east-1"
RUN = uuid.uuid4().hex[:8]
TAGS = [{"Key": "nc:env", "Value": "probe"}, {"Key": "nc:run", "Value": RUN}]

failures = []
findings = {}


def client(service, endpoint=LOCALSTACK, key="test"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}")
    if not ok:
        failures.append(name)


def finding(name, value):
    findings[name] = value
    print(f"finding  {name}: {json.dumps(value, default=str)}")


def step(name, fn):
    """Run one call; a raised error is a failed check, not a crash of the whole probe."""
    try:
        return fn()
    except ClientError as e:
        check(name, False, f"{e.response['Error'].get('Code')}: {e.response['Error'].get('Message')}")
    except Exception as e:  # noqa: BLE001 - a diagnostic tool reports everything
        check(name, False, repr(e))
    return None


def timed(fn):
    t = time.monotonic()
    out = fn()
    return out, time.monotonic() - t


# --------------------------------------------------------------------------------------------
def probe_kms():
    kms = client("kms")
    out, secs = timed(lambda: kms.create_key(
        Description=f"nc probe {RUN}", Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in TAGS]))
    key_id = out["KeyMetadata"]["KeyId"]
    key_arn = out["KeyMetadata"]["Arn"]
    finding("first LocalStack call (kms:CreateKey) seconds", round(secs, 2))
    alias = f"alias/nc-probe-{RUN}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    kms.enable_key_rotation(KeyId=key_id)
    rot = kms.get_key_rotation_status(KeyId=key_id)
    check("kms GetKeyRotationStatus after EnableKeyRotation", rot["KeyRotationEnabled"] is True,
          json.dumps({k: v for k, v in rot.items() if k != "ResponseMetadata"}, default=str))
    tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
    check("kms ListResourceTags returns the CreateKey tags",
          sorted((t["TagKey"], t["TagValue"]) for t in tags) == sorted((t["Key"], t["Value"]) for t in TAGS))
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"] if a.get("TargetKeyId") == key_id]
    check("kms ListAliases shows the alias", aliases == [alias])
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    finding("kms GetKeyPolicy default policy", policy)
    return key_id, key_arn, alias


def probe_s3(key_arn):
    s3 = client("s3")
    bucket = f"nc-probe-{RUN}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"Tags": TAGS})
    try:
        got = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except ClientError as e:
        got = f"{e.response['Error']['Code']}"
    honoured = isinstance(got, list) and sorted(map(json.dumps, got)) == sorted(map(json.dumps, TAGS))
    finding("s3 CreateBucket Tags honoured (GetBucketTagging)", {"honoured": honoured, "got": got})
    if not honoured:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": TAGS})
        got = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        check("s3 PutBucketTagging + GetBucketTagging (fallback)",
              sorted(map(json.dumps, got)) == sorted(map(json.dumps, TAGS)))

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    check("s3 GetBucketVersioning", s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled")

    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("s3 GetBucketEncryption (aws:kms, key, BucketKeyEnabled)",
          rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
          and rule["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID") == key_arn
          and rule.get("BucketKeyEnabled") is True, json.dumps(rule))

    pab = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=pab)
    check("s3 GetPublicAccessBlock",
          s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == pab)

    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    check("s3 GetBucketPolicy round-trips", json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy)

    listed = [b for b in s3.list_buckets()["Buckets"] if b["Name"] == bucket]
    finding("s3 ListBuckets entry (BucketRegion present?)", listed[0] if listed else None)
    check("s3 ListBuckets lists the bucket", len(listed) == 1)
    return bucket


def probe_dynamodb(key_arn):
    ddb = client("dynamodb")
    table = f"nc-probe-{RUN}"
    _, secs = timed(lambda: ddb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
        Tags=TAGS,
        DeletionProtectionEnabled=True))
    finding("first DynamoDB call (CreateTable) seconds", round(secs, 2))
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    desc = ddb.describe_table(TableName=table)["Table"]
    check("dynamodb BillingMode PAY_PER_REQUEST",
          desc.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST")
    check("dynamodb DeletionProtectionEnabled", desc.get("DeletionProtectionEnabled") is True)
    finding("dynamodb DescribeTable SSEDescription", desc.get("SSEDescription"))
    tags = ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"]
    check("dynamodb ListTagsOfResource", sorted(map(json.dumps, tags)) == sorted(map(json.dumps, TAGS)))

    upd = ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7})
    finding("dynamodb UpdateContinuousBackups response", upd["ContinuousBackupsDescription"])
    cb = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    pitr = cb.get("PointInTimeRecoveryDescription", {})
    finding("dynamodb DescribeContinuousBackups", cb)
    check("dynamodb PITR enabled", pitr.get("PointInTimeRecoveryStatus") == "ENABLED")
    finding("dynamodb RecoveryPeriodInDays round-trips", pitr.get("RecoveryPeriodInDays") == 7)

    try:
        ddb.delete_table(TableName=table)
        check("dynamodb DeleteTable refused under deletion protection", False, "table was deleted")
    except ClientError as e:
        check("dynamodb DeleteTable refused under deletion protection", True, e.response["Error"]["Code"])
    return table


def probe_accounts(bucket, alias):
    default = client("sts").get_caller_identity()["Account"]
    other = client("sts", key="111111111111").get_caller_identity()["Account"]
    finding("sts GetCallerIdentity accounts (key test / key 111111111111)", [default, other])
    s3_other = client("s3", key="111111111111")
    kms_other = client("kms", key="111111111111")
    buckets_other = [b["Name"] for b in s3_other.list_buckets()["Buckets"]]
    aliases_other = [a["AliasName"] for a in kms_other.list_aliases()["Aliases"]]
    isolated = bucket not in buckets_other and alias not in aliases_other and default != other
    check("account isolation by 12-digit access key (ListBuckets, ListAliases differ)", isolated,
          f"other account sees {len(buckets_other)} bucket(s), {len(aliases_other)} alias(es)")
    # Bucket names stay global, as on AWS.
    try:
        s3_other.create_bucket(Bucket=bucket)
        finding("s3 bucket names global across accounts", False)
    except ClientError as e:
        finding("s3 bucket names global across accounts", e.response["Error"]["Code"])


def probe_moto():
    s3 = client("s3", endpoint=MOTO)
    trail_bucket = f"nc-probe-trail-{RUN}"
    s3.create_bucket(Bucket=trail_bucket)
    ct = client("cloudtrail", endpoint=MOTO)
    trail = ct.create_trail(Name=f"nc-probe-{RUN}", S3BucketName=trail_bucket,
                            IsMultiRegionTrail=True, EnableLogFileValidation=True,
                            TagsList=[{"Key": t["Key"], "Value": t["Value"]} for t in TAGS])
    ct.start_logging(Name=trail["Name"])
    status = ct.get_trail_status(Name=trail["Name"])
    check("moto cloudtrail CreateTrail + StartLogging (bucket in moto's S3)", status.get("IsLogging") is True)
    gd = client("guardduty", endpoint=MOTO)
    det = gd.create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES",
                             Tags={t["Key"]: t["Value"] for t in TAGS})
    got = gd.get_detector(DetectorId=det["DetectorId"])
    check("moto guardduty CreateDetector + GetDetector",
          got.get("Status") == "ENABLED" and got.get("Tags", {}).get("nc:run") == RUN)


def main():
    print(f"probe run {RUN}: LocalStack {LOCALSTACK}, moto {MOTO}")
    kms = step("kms", probe_kms)
    if kms:
        key_id, key_arn, alias = kms
        bucket = step("s3", lambda: probe_s3(key_arn))
        step("dynamodb", lambda: probe_dynamodb(key_arn))
        if bucket:
            step("accounts", lambda: probe_accounts(bucket, alias))
    step("moto", probe_moto)
    if "--json" in sys.argv:
        print(json.dumps(findings, indent=2, default=str))
    print(f"{'FAILED: ' + ', '.join(failures) if failures else 'all checks passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
