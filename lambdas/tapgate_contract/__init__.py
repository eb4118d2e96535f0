"""tapgate's contract: the facts that cross deployables, each written once.

The CDK stack (``stacks/``), the broker Lambda (``tapgate_broker``), local mode and the CLI
(``tapgate``) all import these modules; none of them writes one of these facts again
(``tests/unit/test_one_fact.py`` fails when one does).

=====================  ================================================================
module                 what it holds
=====================  ================================================================
``stage``              HTTP API v1's stage (``v1``), the first segment of every path
``routes``             HTTP API v1's route table (method, path, auth, why a public
                       route is public, throttling class, body model)
``tags``               the session tags the broker sets and the gated-role resource tag
``limits``             session bounds and the chained-role cap, TTL defaults, body,
                       nickname, ceremony-id and roleArn limits
``problems``           the RFC 9457 problem document's media type and type base
``schemas``            the request and answer bodies as JSON Schema, and API Gateway's
                       body model
``openapi``            the OpenAPI 3.1 document built from ``routes`` and ``schemas``
``tables``             the DynamoDB tables: logical roles, keys, index, TTL attribute
``environment``        the broker's environment variable names
``identity``           the default identity roles (whose session names are users)
``federation``         the AWS federation (console sign-in) endpoints per partition
``audit_events``       the audit trail's words: kinds, outcomes, reasons, event fields and
                       the events route's query parameters and page sizes
``signals``            CloudWatch metric names and EventBridge source and detail types
``policies``           policy builders: gating, self-service, broker, gated-role trust;
                       the shipped JSON documents live in ``policies/`` (package data)
=====================  ================================================================

Why here, in ``lambdas/``: it is deployed with the broker (the Lambda asset is built from
``lambdas/``, which its hash already covers), pyproject's package discovery already
includes ``lambdas/`` so the ``tapgate`` wheel carries it, and the editable install that
the CDK app runs with maps it like ``tapgate_broker``. Standard library only: the stack,
the handler, local mode and the CLI's cache-hit path may all import it. Importing this
package imports none of its modules.
"""
