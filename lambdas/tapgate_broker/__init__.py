"""tapgate broker: the Lambda code (domain core, AWS adapters, HTTP handler)."""
