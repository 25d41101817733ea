"""CrossGuard rule on AWS Organizations policy content (beside rules.py's size and attachment rules).

``org-policy-minified``: AWS counts every character sent, whitespace included, against a
policy's size limit, so content is sent minified. Only whitespace outside JSON strings is
counted as waste (inside a string it is data); the message says how many characters.
"""

from __future__ import annotations

import json

from blueprint.crossguard.rules import MANDATORY, ORG_POLICY, resource_rule

JSON_WHITESPACE = frozenset(" \t\n\r")


def wasted_whitespace(content: str) -> int:
    """Characters of insignificant whitespace: outside strings, which json.dumps(separators=(',', ':')) drops."""
    wasted, in_string, escaped = 0, False, False
    for ch in content:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in JSON_WHITESPACE:
            wasted += 1
    return wasted


@resource_rule(
    "org-policy-minified", MANDATORY, (ORG_POLICY,),
    "Organization policy content (SCP, RCP, tag, declarative...) is minified JSON: AWS counts whitespace against "
    "the size limit, so none is sent outside strings",
    no_equivalent="AWS measures the characters sent; nothing checks that they are needed",
)
def org_policy_minified(props, ctx):
    content = props.get("content")
    if not isinstance(content, str):  # unknown at preview, or absent: nothing to measure
        return []
    try:
        json.loads(content)
    except json.JSONDecodeError as exc:
        return [f"content is not valid JSON ({exc.msg} at character {exc.pos})"]
    wasted = wasted_whitespace(content)
    if wasted:
        return [f"content carries {wasted} characters of whitespace outside strings ({len(content)} sent, "
                f"{len(content) - wasted} needed), all counted against the size limit: minify it"]
    return []
