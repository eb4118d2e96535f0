"""AWS adapters behind the core's ports: injected boto3 clients, errors translated here."""
