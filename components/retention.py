"""Resource options for what holds data or history (the types in policies/data-resources.yaml).

Organization-level data (trail, log archive, the security account's, the image factory's,
the tooling account's shared buckets and logs) is protected and retained: no config edit
deletes it, and dropping it from the program stops `pulumi up` until someone unprotects it
on purpose.

A team's data is retained only. Protecting it would make removing the team, or just its
``pipeline:`` block, stop `pulumi up` half way; retained, the removal deletes nothing and
leaves the data behind (README "Renaming, moving and closing accounts").
"""

from __future__ import annotations

import pulumi


def org_data(opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True, retain_on_delete=True))


def team_data(opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
