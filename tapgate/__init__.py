"""tapgate: hardware-key MFA for AWS — the client package (CLI, local mode, audit)."""
