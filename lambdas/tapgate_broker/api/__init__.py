"""HTTP layer: request parsing, problem documents, routes on Powertools' resolver."""
