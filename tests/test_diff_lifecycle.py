"""What `pulumi up` would delete, replace or leave behind, from protect, retain and ignore_changes.

Synthetic plans for each rule; one real plan: removing a team's `pipeline:` block leaves its
data behind (retained) and deletes no data.
"""

from __future__ import annotations

from blueprint.offline import diff as D
from blueprint.offline import diff_lifecycle as L
from blueprint.offline import diff_lifecycle_text as LT
from tests import diff_plans
from tests.conftest import stack_raw
from tests.diff_plans import res
from tests.diff_plans import synthetic as plan

BUCKET = "aws:s3/bucket:Bucket"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC = "aws:sns/topic:Topic"

SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
ROLE = "aws:iam/role:Role"


def fate(before: list[dict], after: list[dict]) -> tuple[dict, dict]:
    d = D.diff_plans(plan(*before), plan(*after))
    return d, d["lifecycle"]


def notes_of(d: dict, name: str) -> list[tuple[str, str]]:
    return [(n["severity"], n["text"]) for c in ("removed", "changed", "renamed") for i in d[c] if i["name"] == name for n in i["notes"]]


def test_a_deleted_bucket_is_critical_data_loss():
    d, f = fate([res(BUCKET, {"bucket": "b"}, name="b")], [])
    assert [(e["label"], e["outcome"], e["data"]) for e in f["deleted"]] == [("b", "deleted", True)]
    holds = L.data_types()[BUCKET]  # policies/data-resources.yaml
    assert ("critical", f"deleted, not retained: it holds {holds}") in notes_of(d, "b")
    assert d["summary"]["deleted"] == 1
    md = D.markdown(d)
    assert f"| deleted | `b` | Bucket | removed from the program | **{holds}** |" in md


def test_a_retained_bucket_is_left_behind_with_how_to_remove_it():
    bucket = res(BUCKET, {"bucket": "acme-artifacts"}, name="b", retain_on_delete=True)
    logging = res(LOGGING, {"bucket": "acme-artifacts", "targetBucket": "logs"}, name="b-logging", retain_on_delete=True)
    d, f = fate([bucket, logging], [])
    assert f["deleted"] == [] and f["blocked"] == []
    (entry,) = f["left_behind"]  # its retained settings are folded into it
    assert entry["label"] == "b" and entry["settings"] == ["BucketLogging"]
    assert "`aws s3 rb s3://acme-artifacts`" in entry["cleanup"]
    assert notes_of(d, "b") == [], "retained: nothing is lost, nothing weakened"
    md = D.markdown(d)
    assert "### Left behind" in md and "- `b` (Bucket, with its 1 setting(s)): empty it on purpose" in md


def test_a_protected_resource_stops_pulumi_up():
    account = res("aws:organizations/account:Account", {"name": "x-dev"}, name="x-dev", protect=True, retain_on_delete=True)
    d, f = fate([account], [])
    (entry,) = f["blocked"]
    assert entry["why"] == "removed from the program; once unprotected on purpose: left behind"
    assert d["summary"]["blocked"] == 1 and d["summary"]["deleted"] == 0
    assert "stops first on **1** protected resource(s)" in D.markdown(d)
    assert any("`pulumi up` stops with 'resource is protected'" in t for _, t in notes_of(d, "x-dev"))


def test_a_physical_name_change_replaces_and_is_critical_for_data():
    d, f = fate([res(LOG_GROUP, {"name": "/a"}, name="lg")], [res(LOG_GROUP, {"name": "/b"}, name="lg")])
    (entry,) = f["replaced"]
    assert entry["why"] == "`name` changes" and entry["data"]
    assert ("critical", "would be REPLACED (`name` changes): the new one starts empty; the old one, holding "
            f"{L.data_types()[LOG_GROUP]}, is deleted") in notes_of(d, "lg")


def test_changing_an_ecr_repositorys_encryption_replaces_it():
    # ECR fixes encryption at creation: the repository, with its images, would be replaced.
    ecr = "aws:ecr/repository:Repository"
    d, f = fate([res(ecr, {"name": "r", "encryptionConfigurations": [{"encryptionType": "AES256"}]}, name="repo")],
                [res(ecr, {"name": "r", "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn:k"}]}, name="repo")])
    (entry,) = f["replaced"]
    assert entry["why"] == "`encryptionConfigurations` changes" and entry["data"]


def test_ignored_properties_do_not_replace():
    before = res(LOG_GROUP, {"name": "/a"}, name="lg", ignore_changes=["name"])
    after = res(LOG_GROUP, {"name": "/b"}, name="lg", ignore_changes=["name"])
    _, f = fate([before], [after])
    assert f["replaced"] == []


def test_a_protected_resource_is_not_replaced_silently():
    d, f = fate([res(BUCKET, {"bucket": "a"}, name="b", protect=True)], [res(BUCKET, {"bucket": "c"}, name="b", protect=True)])
    assert [e["outcome"] for e in f["blocked"]] == ["blocked"] and f["replaced"] == []
    assert any(s == "critical" and "a protected resource cannot be replaced" in t for s, t in notes_of(d, "b"))


def test_a_topic_holds_data_only_with_subscriptions():
    topic = res(TOPIC, {"name": "t"}, name="t")
    moved = res(TOPIC, {"name": "t2"}, name="t")
    sub = res(SUBSCRIPTION, {"topic": "t-id", "protocol": "email", "endpoint": "a@x"}, name="s")
    _, alone = fate([topic], [moved])
    _, subscribed = fate([topic, sub], [moved, sub])
    assert [e["data"] for e in alone["replaced"]] == [False]
    assert [e["data"] for e in subscribed["replaced"]] == [True]


def test_a_region_change_replaces_anything():
    _, f = fate([res(ROLE, {"name": "r", "region": "eu-west-1"}, name="r")], [res(ROLE, {"name": "r", "region": "us-east-1"}, name="r")])
    assert [e["why"] for e in f["replaced"]] == ["`region` changes"]


def test_a_region_made_explicit_with_the_same_value_does_not_replace():
    prov = res("pulumi:providers:aws", {"region": "eu-central-1"}, name="p")
    ref = prov["urn"] + "::p-id"
    before = res(ROLE, {"name": "r"}, name="r", provider=ref)
    after = res(ROLE, {"name": "r", "region": "eu-central-1"}, name="r", provider=ref)
    moved = res(ROLE, {"name": "r", "region": "us-east-1"}, name="r", provider=ref)
    assert fate([prov, before], [prov, after])[1]["replaced"] == []
    assert [e["why"] for e in fate([prov, before], [prov, moved])[1]["replaced"]] == ["`region` changes"]


def test_another_provider_replaces():
    prov = "urn:pulumi:prod::secure-org::pulumi:providers:aws::{}::{}-id"
    before = res(ROLE, {"name": "r"}, name="r", provider=prov.format("tooling", "tooling"))
    after = res(ROLE, {"name": "r"}, name="r", provider=prov.format("security", "security"))
    _, f = fate([before], [after])
    assert [e["why"] for e in f["replaced"]] == ["`provider` changes"]


def test_an_alias_carries_a_renamed_resource():
    old = res(BUCKET, {"bucket": "b"}, name="old")
    new = res(BUCKET, {"bucket": "b"}, name="new") | {"aliases": [old["urn"]]}
    d, f = fate([old], [new])
    assert d["summary"]["renamed"] == 1
    assert f == {"blocked": [], "deleted": [], "replaced": [], "left_behind": []}


def test_logging_deleted_while_its_bucket_stays_is_critical():
    bucket = res(BUCKET, {"bucket": "data"}, name="b")
    logging = res(LOGGING, {"bucket": "data", "targetBucket": "logs"}, name="b-logging")
    d, _ = fate([bucket, logging], [bucket])
    assert ("critical", "server access logging turned off for bucket `data`, which stays") in notes_of(d, "b-logging")


def test_removing_a_pipeline_block_leaves_its_data_behind():
    """A team's pipeline data (artifacts, source repository, keys, logs, topics) is retained:
    removing the block deletes no data and lists how to remove each on purpose."""
    raw = stack_raw("prod")
    del diff_plans.team(raw, "checkout")["pipeline"]
    code, head = diff_plans.plan(raw)
    assert code == 0, head.get("findings")
    d = D.diff_plans(diff_plans.plan(stack_raw("prod"))[1], head)

    f = d["lifecycle"]
    assert f["blocked"] == [] and f["replaced"] == []
    assert [e["label"] for e in f["deleted"] if e["data"]] == [], "no data-holding resource is deleted"
    left = {e["type"] for e in f["left_behind"]}
    assert {BUCKET, "aws:codecommit/repository:Repository", "aws:kms/key:Key", LOG_GROUP,
            "aws:codepipeline/pipeline:Pipeline", TOPIC} <= left
    assert all(e["data"] and e["cleanup"] for e in f["left_behind"])
    assert d["config_errors"] == [], "removing a pipeline is allowed"
    assert not [i for i in d["security"] if i["severity"] == "critical" and i.get("category") == "data"]


def test_count_line_only_when_something_goes():
    empty = {"blocked": [], "deleted": [], "replaced": [], "left_behind": []}
    assert LT.count_line(empty) == "" and LT.markdown_lines(empty) == []


def test_the_pr_comment_keeps_these_sections_with_the_security_changes():
    from blueprint.review import comment

    bucket = res(BUCKET, {"bucket": "a"}, name="gone")
    kept = res(BUCKET, {"bucket": "k"}, name="kept", retain_on_delete=True)
    d, _ = fate([bucket, kept], [])
    blocks = {b.title: b.priority for b in comment.blocks_for("prod", None, D.markdown(d))}
    assert blocks["prod: Would be deleted or replaced"] == blocks["prod: Left behind"] == comment.SECURITY
