"""Plans of any size, cheaply: the real prod plan with its accounts multiplied.

Running the program for 1,000 accounts takes a minute; the comment and the diagram only
read OUs, accounts, policies, attachments, findings and flows, so cloning those is enough.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import plan_of

ACCOUNT = "aws:organizations/account:Account"


def scaled_plan(accounts: int) -> dict[str, Any]:
    code, doc = plan_of("prod")
    assert code == 0, doc.get("config_errors") or [f["message"] for f in doc["findings"]]
    doc = copy.deepcopy(doc)
    real = [r for r in doc["resources"] if r["type"] == ACCOUNT]
    others = [r for r in doc["resources"] if r["type"] != ACCOUNT]
    out = []
    for i in range(accounts):
        base = real[i % len(real)]
        r = copy.deepcopy(base)
        if i >= len(real):
            r["urn"] = f"{base['urn']}-copy{i}"
            r["id"] = f"{900000000000 + i}"
            r["inputs"]["name"] = f"{base['inputs']['name']}-{i}"
        out.append(r)
    doc["resources"] = others + out
    return doc
