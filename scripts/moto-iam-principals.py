#!/usr/bin/env python3
"""Creates the IAM principals of the IAM-enforced moto (scripts/test-services.sh starts it with
INITIAL_NO_AUTH_ACTION_COUNT=3): an admin (the three unauthenticated actions: CreateUser,
PutUserPolicy, CreateAccessKey) that provisions buckets and tables, and the Lambda's principal,
holding exactly the function's policy from infra/template.yaml with its resources resolved to
the test buckets (`krkn-iam-*`). moto checks DynamoDB actions against "*" only (its resource
matching covers S3), so the table statement's resources become "*". Prints the environment
lines for .tools/services.env. Usage: moto-iam-principals.py <moto url>"""
import json, re, sys
import boto3

URL = sys.argv[1]
RESOURCES = {
    "TelemetryObjects": "arn:aws:s3:::krkn-iam-*/*",
    "TelemetryListing": "arn:aws:s3:::krkn-iam-*",
    "TelemetryTable": "*",
}


def function_policy(template):
    """The statements of the function's Policies block: Sid, Effect and Action as written."""
    block = template.split("      Policies:", 1)[1].split("      Events:", 1)[0]
    statements, current, in_actions = [], None, False
    for line in block.splitlines():
        text = line.strip()
        if text.startswith("- Sid:"):
            current = {"Sid": text.split(":", 1)[1].strip(), "Effect": "Allow", "Action": []}
            statements.append(current)
            in_actions = False
        elif text.startswith("Effect:") and current is not None:
            current["Effect"] = text.split(":", 1)[1].strip()
        elif text == "Action:":
            in_actions = True
        elif in_actions and re.fullmatch(r"- [a-z0-9]+:[A-Za-z0-9*]+", text):
            current["Action"].append(text[2:])
        elif not text.startswith("- "):
            in_actions = False
    for statement in statements:
        if statement["Sid"] not in RESOURCES:
            sys.exit(f"moto-iam-principals: no test resource for statement {statement['Sid']}")
        statement["Resource"] = RESOURCES[statement["Sid"]]
    return {"Version": "2012-10-17", "Statement": statements}


def client(service, key=("testing", "testing")):
    return boto3.client(service, endpoint_url=URL, region_name="us-east-1",
                        aws_access_key_id=key[0], aws_secret_access_key=key[1])


def principal(iam, name, policy):
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


admin = principal(client("iam"), "krkn-test-admin",
                  {"Version": "2012-10-17",
                   "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
with open("infra/template.yaml") as f:
    policy = function_policy(f.read())
function = principal(client("iam", admin), "krkn-test-function", policy)
print(f"export KRKN_TEST_MOTO_IAM_URL={URL}")
print(f"export KRKN_TEST_IAM_ADMIN_KEY={admin[0]}")
print(f"export KRKN_TEST_IAM_ADMIN_SECRET={admin[1]}")
print(f"export KRKN_TEST_IAM_FUNCTION_KEY={function[0]}")
print(f"export KRKN_TEST_IAM_FUNCTION_SECRET={function[1]}")
actions = sorted(a for s in policy["Statement"] for a in s["Action"])
print(f"# the function's policy: {', '.join(actions)}")
