"""secure-org policy-as-code (CrossGuard) - one set of rules for `pulumi preview` and the offline plan.

* rules.py       the rules, as plain functions over camelCase props (no pulumi_policy import)
* documents.py   IAM policy document and property helpers, unknown-value handling
* exemptions.py  ``secure-org:policy_exemptions``: waivers with a reason and an end date
* engine.py      ``evaluate(plan resources, cfg)`` -> findings, for blueprint/offline/plan.py
* pack.py        pulumi_policy adapters; policies/pack/__main__.py assembles them

See policies/pack/README.md for the rule list and conventions.
"""
