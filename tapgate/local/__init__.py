"""Local mode: moto as AWS, the stack's resources, and the broker behind a local API gateway.

``tapgate.local.server.run_local`` is what ``tapgate local`` runs; ``start_local`` is the
same in-process for tests. Importing this package imports neither moto nor the broker.
"""
