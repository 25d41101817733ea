"""tests/baseline/event_matcher.py: where moto's EventBridge matcher falls short, the helper does not."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from tests.baseline.event_matcher import ALL_MANAGEMENT_EVENTS, ENABLED, PatternError, check_pattern, delivered, fires, matches, with_field

FINDING = {
    "source": "aws.inspector2",
    "detail": {"resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": "repo/a"}, {"type": "AWS_EC2_INSTANCE", "id": "i-1"}]},
}


def moto_matches(pattern: dict, event: dict) -> bool:
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def test_fields_inside_arrays_of_objects_match_as_in_eventbridge():
    pattern = {"detail": {"resources": {"type": ["AWS_EC2_INSTANCE"]}}}
    assert not moto_matches(pattern, FINDING)  # the gap: moto never looks inside the list
    assert matches(pattern, FINDING)
    assert not matches({"detail": {"resources": {"type": ["AWS_LAMBDA_FUNCTION"]}}}, FINDING)


def test_fields_of_one_pattern_must_come_from_the_same_array_element():
    assert matches({"detail": {"resources": {"type": ["AWS_EC2_INSTANCE"], "id": ["i-1"]}}}, FINDING)
    assert not matches({"detail": {"resources": {"type": ["AWS_EC2_INSTANCE"], "id": ["repo/a"]}}}, FINDING)


@pytest.mark.parametrize("pattern", [
    {"source": [{"wildcrd": "aws.*"}]},  # unknown operator: moto matches anything
    {"source": [{"prefix": "aws.", "suffix": "x"}]},  # two operators in one object: moto reads the first
])
def test_operators_moto_would_wave_through_are_refused(pattern):
    with pytest.raises(PatternError):
        check_pattern(pattern)
    with pytest.raises(PatternError):
        matches(pattern, {"source": "aws.sts"})


@pytest.mark.parametrize("pattern", [
    {"detail": {"roleArn": [{"wildcard": "arn:aws:iam::**:role/x"}]}},
    {"detail": {"score": [{"numeric": [">", "7"]}]}},
    {"detail": {"score": [{"numeric": ["~", 7]}]}},
    {"source": []},
    {"source": "aws.sts"},
    {"$or": [{"source": ["aws.sts"]}, {}]},
    {"source": ["x" * 4100]},
])
def test_patterns_eventbridge_rejects_are_refused(pattern):
    with pytest.raises(PatternError):
        check_pattern(pattern)


def test_supported_operators_pass_and_match():
    pattern = {"source": [{"prefix": "aws."}], "detail": {"arn": [{"wildcard": "arn:aws:iam::*:role/BreakGlass*"}],
                                                          "score": [{"numeric": [">=", 7, "<", 9]}], "tag": [{"anything-but": {"prefix": "tmp-"}}]}}
    check_pattern(pattern)
    event = {"source": "aws.sts", "detail": {"arn": "arn:aws:iam::111122223333:role/BreakGlassAdmin", "score": 7.5, "tag": "prod"}}
    assert matches(pattern, event)
    assert not matches(pattern, with_field(event, "detail.score", 9))
    assert not matches(pattern, with_field(event, "detail.tag", "tmp-1"))
    assert not matches(pattern, with_field(event, "detail.arn", "arn:aws:iam::111122223333:role/Admin"))


def test_read_only_management_events_reach_only_rules_that_take_them():
    assume = {"detail-type": "AWS API Call via CloudTrail", "source": "aws.sts", "detail": {"eventName": "AssumeRole", "readOnly": True}}
    pattern = {"source": ["aws.sts"]}
    assert not delivered(ENABLED, assume) and not fires(pattern, ENABLED, assume)
    assert fires(pattern, ALL_MANAGEMENT_EVENTS, assume)
    assert fires(pattern, ENABLED, with_field(assume, "detail.readOnly", False))
    assert not fires(pattern, "DISABLED", with_field(assume, "detail.readOnly", False))
    service_event = {"detail-type": "Inspector2 Finding", "detail": {"readOnly": True}}  # not a CloudTrail call
    assert delivered(ENABLED, service_event)
    with pytest.raises(PatternError):
        delivered("ON", assume)


def test_a_near_miss_changes_an_existing_field_only():
    event = {"detail": {"resources": [{"type": "A"}]}}
    assert with_field(event, "detail.resources.0.type", "B") == {"detail": {"resources": [{"type": "B"}]}}
    assert event["detail"]["resources"][0]["type"] == "A"  # the original is untouched
    for path in ("detail.resource.type", "detail.kind"):
        with pytest.raises(KeyError):
            with_field(event, path, "B")
