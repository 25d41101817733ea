"""Deploy-time values shown as what they are: placeholders, never fake-but-real-looking ids.

Offline, account ids and the org id are stand-ins the mocks derive from names. A reviewer
reading ``arn:aws:iam::744396711408:role/x`` would take it for a real account; the plan,
its Markdown and the diff show ``arn:aws:iam::<account:payments-prod>:role/x`` and
``<org-id>`` instead.
"""

from __future__ import annotations

import re
from typing import Any, Callable

ACCOUNT = "aws:organizations/account:Account"
ORGANIZATION = "aws:organizations/organization:Organization"
_TWELVE = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def placeholders(*docs: dict[str, Any] | None) -> dict[str, str]:
    """Stand-in value -> placeholder, from one or more plan documents."""
    out: dict[str, str] = {}
    for doc in docs:
        if not doc:
            continue
        keys = {a["name"]: a["key"] for a in doc.get("accounts") or []}
        if doc.get("management_account"):
            out[doc["management_account"]] = "<account:management>"
        for r in doc.get("resources") or []:
            if r["type"] == ACCOUNT and r.get("id"):
                name = r["inputs"].get("name", r["name"])
                out[r["id"]] = f"<account:{keys.get(name, name)}>"
            elif r["type"] == ORGANIZATION and r.get("id"):
                out[r["id"]] = "<org-id>"
    return out


def symbolizer(*docs: dict[str, Any] | None, table: dict[str, str] | None = None) -> Callable[[str], str]:
    """A function that rewrites stand-ins in text to their placeholders."""
    table = {**placeholders(*docs), **(table or {})}
    org_ids = [k for k, v in table.items() if v == "<org-id>"]

    def apply(text: str) -> str:
        text = _TWELVE.sub(lambda m: table.get(m.group(0), m.group(0)), text)
        for org in org_ids:
            text = text.replace(org, "<org-id>")
        return text

    return apply
