"""The Pulumi program. ``__main__.py`` calls :func:`main`; the offline plan calls it too."""

from __future__ import annotations

import pulumi

from blueprint import guardrails
from blueprint.config import ConfigError, StackConfig, load_runtime
from components.landing_zone import LandingZone, LandingZoneArgs


def build(cfg: StackConfig) -> LandingZone:
    # Packing runs on config alone: an over-limit guardrail stops here, before any
    # resource registers, never at `pulumi up`.
    planned = guardrails.plan(cfg)
    lz = LandingZone("org", LandingZoneArgs(config=cfg, planned_guardrails=planned))
    pulumi.export("organization_id", lz.organization.org_id)
    pulumi.export("root_id", lz.organization.root_id)
    pulumi.export("ou_ids", lz.organization.ou_ids)
    pulumi.export("account_ids", lz.accounts.ids)
    return lz


def main() -> None:
    try:
        cfg = load_runtime()
        build(cfg)
    except (ConfigError, guardrails.GuardrailLimitError) as exc:
        # RunError prints the message without a Python traceback.
        raise pulumi.RunError(f"stack configuration rejected:\n{exc}") from None
