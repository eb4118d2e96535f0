"""The tapgate CDK app: one stack composing tables, broker, API and gated roles."""
