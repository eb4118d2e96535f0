"""One fact, one place: a fact of the contract written again outside it fails here.

Every module under stacks/, lambdas/ (but tapgate_contract itself) and tapgate/ is parsed;
docstrings are prose and are skipped. Checked, as string literals:

* a tag name, alone or as an IAM condition key (``aws:RequestTag/tapgate-mfa``), and the
  MFA tag's value;
* a route path under the stage, with the stage, as Powertools writes it, or a
  parameterized route's fixed prefix (``/v1/credentials/``); the stage itself;
* a broker environment variable name; the credential-id index; a default identity role;
* a federation endpoint or console host; a shipped policy file name; the Lambda service
  principal; the ceremony-id and roleArn patterns; the gateway's body model name; the
  problem document's media type and type base (also inside a longer string);
* a table key or TTL attribute where a table is defined (an ``AttributeName`` value or the
  name given to a DynamoDB ``Attribute``): elsewhere the same words are API fields.

and as integer literals: the session bounds and the federation's session maximum (900,
3600, 43200) and the body limit (64 KiB) anywhere; the TTL, retention, depth and nickname
limits where a name says that is what they are (``*_TTL*``, ``retention``, ...).

``ALLOWED`` lists the literals that are a different fact with the same spelling, each with
why; an entry that no longer occurs fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from tapgate_contract import (
    environment,
    federation,
    identity,
    limits,
    policies,
    problems,
    routes,
    stage,
    tables,
    tags,
)

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("stacks", "lambdas", "tapgate")
CONTRACT = REPO / "lambdas" / "tapgate_contract"


def _string_facts() -> dict[str, str]:
    facts: dict[str, str] = {stage.STAGE: "the stage", stage.STAGE_PREFIX: "the stage"}
    for route in routes.ROUTES:
        forms = {route.url_path, route.resolver_path, route.path}
        if "{" in route.path:
            forms.add(route.url_path.split("{", 1)[0])
        facts.update({form: f"route {route.method} {route.path}" for form in forms - {"/"}})
    for tag in (
        tags.MFA_TAG,
        tags.UV_TAG,
        tags.CREDENTIAL_TAG,
        tags.ASSURANCE_TAG,
        tags.GATED_ROLE_TAG,
    ):
        facts[tag] = "a tag name"
        for kind in ("Request", "Principal", "Resource"):
            facts[f"aws:{kind}Tag/{tag}"] = "a tag name"
    facts[tags.MFA_TAG_VALUE] = "the MFA tag's value"
    facts.update(dict.fromkeys(environment.ALL, "a broker environment variable"))
    facts[tables.CREDENTIAL_ID_INDEX] = "the credential-id index"
    facts.update(dict.fromkeys(identity.DEFAULT_IDENTITY_ROLES, "the default identity roles"))
    for partition in federation.PARTITIONS.values():
        for form in (partition.federation_endpoint, partition.console_host):
            facts[form] = "a federation endpoint"
    facts[policies.GATING_POLICY_FILE] = "a shipped policy"
    facts[policies.SELF_SERVICE_POLICY_FILE] = "a shipped policy"
    facts[policies.LAMBDA_SERVICE] = "the broker role's principal"
    facts[limits.CEREMONY_ID_PATTERN] = "the ceremony-id pattern"
    facts[routes.CEREMONY_ANSWER] = "the gateway's body model"
    facts[problems.PROBLEM_CONTENT_TYPE] = "the problem document's media type"
    facts[problems.PROBLEM_TYPE_BASE] = "the problem types' base"
    facts[limits.ROLE_ARN_FIELD_PATTERN] = "the roleArn field's pattern"
    return facts


STRING_FACTS = _string_facts()
# Facts that a longer literal may carry (a problem type, a quoted header value).
CONTAINED_FACTS = {
    problems.PROBLEM_CONTENT_TYPE: "the problem document's media type",
    problems.PROBLEM_TYPE_BASE: "the problem types' base",
}
TABLE_NAMES = {
    tables.USER_NAME,
    tables.CREDENTIAL_ID,
    tables.CEREMONY_ID,
    tables.AUDIT_AT,
    tables.TTL_ATTRIBUTE,
}
ANYWHERE_INTS = {
    limits.MIN_SESSION_SECONDS: "the session minimum",
    limits.MAX_SESSION_SECONDS: "the chained-role cap",
    federation.SESSION_DURATION_MAX_SECONDS: "the federation session maximum",
    limits.MAX_BODY_BYTES: "the body limit",
}
NAMED_INTS = {
    limits.CEREMONY_TTL_SECONDS: "ceremony TTL",
    limits.ENROLLMENT_TTL_SECONDS: "enrollment TTL",
    limits.AUDIT_RETENTION_DAYS: "audit retention",
    limits.MAX_JSON_DEPTH: "JSON depth",
    limits.NICKNAME_MAX_LENGTH: "nickname length",
    limits.NICKNAME_FIELD_MAX_LENGTH: "nickname field length",
}
_LIMIT_NAME = re.compile(r"ttl|retention|depth|nickname|body", re.I)

# (path, literal) -> why it is not the contract's fact.
ALLOWED: dict[tuple[str, object], str] = {
    ("tapgate/cache.py", 900): "botocore's credential refresh window (15 minutes)",
    ("tapgate/cache.py", 65536): "the largest cache file read",
    ("tapgate/local/http_server.py", 65536): "the socket read chunk size",
    ("tapgate/local/federation.py", 900): "a federation sign-in token's lifetime",
    ("tapgate/local/state.py", 65536): "the largest state file read",
    ("tapgate/audit/checks/common.py", 3600): "the audit's default aws:MultiFactorAuthAge limit",
    ("tapgate/audit/cli.py", 3600): "the audit's default aws:MultiFactorAuthAge limit",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _int(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        left, right = _int(node.left), _int(node.right)
        if left is not None and right is not None:
            return left * right
    return None


def _bound_names(tree: ast.AST) -> dict[int, str]:
    """The name each value is bound to: an assignment's target, a keyword, a default."""
    names: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name | ast.Attribute):
                    names[id(node.value)] = ast.unparse(target)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            names[id(node.value)] = ast.unparse(node.target)
        elif isinstance(node, ast.keyword) and node.arg:
            names[id(node.value)] = node.arg
        elif isinstance(node, ast.arguments):
            positional = node.posonlyargs + node.args
            with_default = positional[len(positional) - len(node.defaults) :]
            for arg, default in zip(with_default, node.defaults, strict=True):
                names[id(default)] = arg.arg
            for arg, kw_default in zip(node.kwonlyargs, node.kw_defaults, strict=True):
                if kw_default is not None:
                    names[id(kw_default)] = arg.arg
    return names


def _table_definitions(tree: ast.AST) -> set[int]:
    """String nodes that name a table attribute: ``{"AttributeName": ...}`` values and the
    name given to a DynamoDB ``Attribute`` (or a helper named ``*_key``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in ("AttributeName", "IndexName"):
                    found.add(id(value))
        elif isinstance(node, ast.Call):
            callee = ast.unparse(node.func)
            if callee.endswith(("Attribute", "_key")) or callee.endswith("time_to_live"):
                found.update(id(a) for a in node.args)
                found.update(id(k.value) for k in node.keywords)
    return found


def violations(paths: Iterable[Path], root: Path) -> Iterator[tuple[str, int, object, str]]:
    """(path, line, literal, which fact) for every contract fact written in ``paths``."""
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = path.relative_to(root).as_posix()
        skip, names, table_nodes = _docstrings(tree), _bound_names(tree), _table_definitions(tree)
        factors = _factors(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and id(node) not in skip:
                if isinstance(node.value, str) and node.value in STRING_FACTS:
                    yield relative, node.lineno, node.value, STRING_FACTS[node.value]
                elif node.value in TABLE_NAMES and id(node) in table_nodes:
                    yield relative, node.lineno, node.value, "a table key or TTL attribute"
                elif isinstance(node.value, str):
                    for fact, which in CONTAINED_FACTS.items():
                        if fact in node.value:
                            yield relative, node.lineno, node.value, which
            number = _int(node)
            if number is None or id(node) in factors:
                continue
            if number in ANYWHERE_INTS:
                yield relative, node.lineno, number, ANYWHERE_INTS[number]
            elif number in NAMED_INTS and _LIMIT_NAME.search(names.get(id(node), "")):
                yield relative, node.lineno, number, NAMED_INTS[number]


def _factors(tree: ast.AST) -> set[int]:
    """The factors of a product like ``64 * 1024``: not facts of their own (the product is
    checked)."""
    return {
        id(operand)
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)
        for operand in (node.left, node.right)
    }


def _scanned() -> list[Path]:
    files = [p for d in SCANNED for p in sorted((REPO / d).rglob("*.py"))]
    return [p for p in files if CONTRACT not in p.parents and "__pycache__" not in p.parts]


def test_no_contract_fact_is_written_twice() -> None:
    found = [v for v in violations(_scanned(), REPO) if (v[0], v[2]) not in ALLOWED]
    assert found == [], "\n".join(
        f"{path}:{line}: {literal!r} is {fact}: import it from tapgate_contract"
        for path, line, literal, fact in found
    )


def test_every_allowed_literal_still_occurs() -> None:
    seen = {(v[0], v[2]) for v in violations(_scanned(), REPO)}
    assert set(ALLOWED) - seen == set()


def test_the_check_finds_a_fact_written_again(tmp_path: Path) -> None:
    """Each kind of second definition, planted in a scanned-looking file, is reported."""
    planted = tmp_path / "stacks" / "planted.py"
    planted.parent.mkdir()
    planted.write_text(
        '"""tapgate-mfa in a docstring is prose."""\n'
        'MFA = "tapgate-mfa"\n'
        'CONDITION = {"aws:RequestTag/tapgate-uv": "true"}\n'
        'PATH = "/v1/passkey/options"\n'
        'DELETE = "/v1/credentials/" + "abc"\n'
        'VARIABLE = "TAPGATE_ROLES"\n'
        "MAX_SESSION = 3600\n"
        "BODY = 64 * 1024\n"
        "CEREMONY_TTL_SECONDS = 300\n"
        "STATUS = 400\n"
        'KEY = {"AttributeName": "userName", "KeyType": "HASH"}\n'
        'FIELD = {"userName": "alice"}\n'
        'TYPE = "https://tapgate.dev/problems/throttled"\n'
        """HEADER = "'application/problem+json'"\n""",
        encoding="utf-8",
    )
    found = {(line, literal) for _, line, literal, _ in violations([planted], tmp_path)}
    assert found == {
        (2, "tapgate-mfa"),
        (3, "aws:RequestTag/tapgate-uv"),
        (4, "/v1/passkey/options"),
        (5, "/v1/credentials/"),
        (6, "TAPGATE_ROLES"),
        (7, 3600),
        (8, 65536),
        (9, 300),
        (11, "userName"),
        (13, "https://tapgate.dev/problems/throttled"),
        (14, "'application/problem+json'"),
    }
