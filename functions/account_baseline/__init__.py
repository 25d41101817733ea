"""Per-account baseline custom resource (``Custom::AccountBaseline``).

``handler.py`` is the single source of truth: ``blueprint.baseline.account_template``
inlines its text as the Lambda's ``Code.ZipFile`` (so it must stay under 4,096
characters and depend only on the standard library and the runtime's boto3).
"""
