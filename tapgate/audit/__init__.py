"""tapgate audit: find principals that can do sensitive things without MFA, and MFA conditions
written wrong, in IAM policies read from files, CloudFormation templates or a live account.

The evaluator (`evaluator`, `conditions`) is a focused IAM policy engine; the checks
(`checks`) ask it questions under a fixed set of credential scenarios (`scenarios`).
"""
