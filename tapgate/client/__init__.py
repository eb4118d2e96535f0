"""The tapgate HTTP API v1 client: SigV4 (botocore) over urllib, problem+json errors."""
