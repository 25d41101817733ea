"""Delivery pipelines: names, buildspecs, IAM documents and the deploy-roles template.

Plain data and pure functions; the Pulumi components in ``components/pipeline*.py`` and
``components/delivery.py`` turn them into resources.
"""
