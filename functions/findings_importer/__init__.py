"""Security-scan findings importer (Lambda function package).

Converts the reports of the pipeline scan actions (SAST, secrets, SCA, DAST)
into the AWS Security Finding Format and imports them into Security Hub.
See :mod:`handler` for the event contract.

The modules use package-relative imports when imported as
``functions.findings_importer.*`` (tests) and plain imports when the folder is
the root of the deployed Lambda bundle (handler ``handler.handler``).
"""
