"""secure-org CrossGuard policy pack: `pulumi preview --policy-pack policies/pack` from the repo root.

This file only assembles the pack; the rules live in blueprint/crossguard/ (rules.py, run by
pack.py's adapters and, identically, by the offline plan). Constructing PolicyPack starts
the analyzer's gRPC server and never returns.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pulumi_policy import PolicyPack  # noqa: E402

from blueprint.crossguard.pack import PACK_NAME, build_policies  # noqa: E402

PolicyPack(name=PACK_NAME, policies=build_policies())
