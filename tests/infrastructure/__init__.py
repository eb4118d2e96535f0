"""Tests of the CDK app (stacks/, app.py, cdk.json)."""
