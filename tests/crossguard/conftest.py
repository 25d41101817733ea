"""The CodeDeploy rules keep their fixtures beside their tests (test_rules_codedeploy.py adds
them to fixtures.RESOURCE_CASES / STACK_CASES when imported): import it before any test here
runs, so the every-rule checks see them whichever file is run alone."""

from tests.crossguard import test_rules_codedeploy  # noqa: F401
from tests.crossguard import test_rules_compute, test_rules_logs, test_rules_org  # noqa: F401  (same, for their rules)
