"""Cold start of the Lambda handler vs ``import boto3``, laid out as Lambda lays them out.

Lambda puts the function's asset on ``sys.path`` (``/var/task``) in front of the runtime's
own boto3 (``/var/runtime``). This module builds the same two directories for the host:
``stacks.bundling.bundle`` (the stack's own recipe, pointed at the host's platform and
Python so the wheels import here) and a ``pip install boto3`` of the venv's version. Each
sample is a fresh ``python -I -S -B`` with only those two directories, and the Lambda
environment the stack sets (``LAMBDA_TASK_ROOT`` makes Powertools' tracer active and
patch botocore, as it does in AWS). The sides are interleaved; medians are reported.

The asset is measured twice: source only, and compiled (hash-based bytecode, as
``stacks.bundling.compile_bytecode`` writes it). ``/var/task`` is read-only, so a
source-only asset is compiled from source at every cold start; ``-B`` keeps it that way
here. Which of the two a deployment from this machine ships depends on whether a Python
of the runtime's version (3.12) is here to compile it (``bundling.runtime_python``): that
one is the "as deployed" figure.

Two cold paths are timed whole, import included: the first API request (``GET
/v1/config`` through ``handler.handler``: the tracer, boto3's clients and the fido2 server
are built, no network is needed) and the first page request (``GET /``).
"""

from __future__ import annotations

import compileall
import contextlib
import importlib.metadata
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
HANDLER_MODULE = "tapgate_broker.handler"
# What the stack sets on the function (stacks/broker.py) plus what Lambda itself sets.
LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "tapgate-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "POWERTOOLS_SERVICE_NAME": "tapgate",
    "POWERTOOLS_METRICS_NAMESPACE": "tapgate",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    # The broker's settings (names: stacks/broker_env.py), for the ready-to-serve figure.
    "TAPGATE_CREDENTIALS_TABLE": "tapgate-credentials",
    "TAPGATE_CEREMONIES_TABLE": "tapgate-ceremonies",
    "TAPGATE_AUDIT_TABLE": "tapgate-audit",
    "TAPGATE_RP_ID": "example.com",
    "TAPGATE_ORIGINS": '["https://example.com"]',
    "TAPGATE_ROLES": '[{"arn": "arn:aws:iam::123456789012:role/gated"}]',
    # Client construction reads credentials lazily; Lambda sets these.
    "AWS_ACCESS_KEY_ID": "ASIABENCH",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
}
# X-Ray's header for the invocation, as Lambda sets it (the tracer is active here).
LAMBDA_ENV["_X_AMZN_TRACE_ID"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"


def first_request(method: str, path: str) -> str:
    """Import the handler and serve one request through ``handler.handler`` (the tracer,
    logger and metrics wrappers included): an import line for ``import_seconds``."""
    event = {
        "httpMethod": method,
        "path": f"/v1{path}",
        "resource": "/{proxy+}",
        "headers": {"Host": "example.com"},
        "requestContext": {"stage": "v1", "identity": {"sourceIp": "192.0.2.1"}},
        "body": None,
        "isBase64Encoded": False,
    }
    context = (
        "type('Context', (), {'function_name': 'tapgate-bench', 'memory_limit_in_mb': 512, "
        "'invoked_function_arn': 'arn:aws:lambda:us-east-1:123456789012:function:tapgate-bench', "
        "'aws_request_id': 'bench'})()"
    )
    return (
        "tapgate_broker.handler as h; "  # its log and EMF lines precede the time printed
        f"r = h.handler({event!r}, {context}); "
        "assert r['statusCode'] == 200, r"
    )


API_READY = first_request("GET", "/config")
PAGE_READY = first_request("GET", "/")


@dataclass(frozen=True)
class Layout:
    task: Path  # the asset, source only
    runtime: Path  # boto3 and its dependencies, precompiled like the runtime's
    compiled_task: Path  # the asset with bytecode, as a 3.12 bundling machine ships it
    deployed_compiled: bool  # what a deployment from this machine ships

    @property
    def deployed(self) -> list[Path]:
        return [self.compiled_task if self.deployed_compiled else self.task, self.runtime]


@contextlib.contextmanager
def host_bundling() -> Iterator[object]:
    """``stacks.bundling`` with the host's platform and Python instead of Lambda's arm64 3.12.

    Only the two constants ``pip_command`` reads change; the recipe (pip flags, the
    runtime-provided removal, the broker copy) is the stack's own.
    """
    from stacks import bundling  # noqa: PLC0415

    saved = bundling.LAMBDA_PLATFORM, bundling.LAMBDA_PYTHON_VERSION, bundling.runtime_python
    bundling.LAMBDA_PLATFORM = f"manylinux2014_{platform.machine()}"
    bundling.LAMBDA_PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
    # Source only here; the compiled variant is made from it by bundling.compile_bytecode.
    bundling.runtime_python = lambda: None  # type: ignore[attr-defined]
    try:
        yield bundling
    finally:
        bundling.LAMBDA_PLATFORM, bundling.LAMBDA_PYTHON_VERSION, bundling.runtime_python = saved


def build_layout(work: Path) -> Layout:
    from stacks import bundling  # noqa: PLC0415

    deployed_compiled = bundling.runtime_python() is not None  # for Lambda's 3.12
    task, runtime, compiled = work / "task", work / "runtime", work / "task-compiled"
    with host_bundling():
        bundling.bundle(source=ROOT / "lambdas", output=task)
    boto3_version = importlib.metadata.version("boto3")
    subprocess.run(
        [
            PY,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--target",
            str(runtime),
            f"boto3=={boto3_version}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    compileall.compile_dir(runtime, quiet=2, workers=0)
    shutil.copytree(task, compiled)
    bundling.compile_bytecode(compiled, python=PY)
    return Layout(
        task=task, runtime=runtime, compiled_task=compiled, deployed_compiled=deployed_compiled
    )


def import_seconds(module: str, *, path: list[Path]) -> float:
    """Seconds ``import module`` (and what follows it on the line) takes in a fresh
    interpreter that sees only ``path``."""
    program = (
        f"import sys; sys.path[:0] = {[str(p) for p in path]!r}; "
        "import time; t = time.perf_counter(); "
        f"import {module}; "
        "print(time.perf_counter() - t)"
    )
    env = {**LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(path[0]), "PATH": os.environ.get("PATH", "")}
    done = subprocess.run(
        [PY, "-I", "-S", "-B", "-c", program], capture_output=True, text=True, check=True, env=env
    )
    return float(done.stdout.strip().splitlines()[-1])


def heaviest(
    module: str, *, path: list[Path], count: int = 10, runs: int = 5
) -> list[tuple[str, int]]:
    """Import time by top-level package: the ``-X importtime`` self times of all its
    modules, summed (so nothing is counted twice); the median of ``runs``, largest first."""
    samples = [_per_package(module, path=path) for _ in range(runs)]
    names = set().union(*samples)
    medians = Counter({n: int(statistics.median(s.get(n, 0) for s in samples)) for n in names})
    return medians.most_common(count)


def _per_package(module: str, *, path: list[Path]) -> Counter[str]:
    program = f"import sys; sys.path[:0] = {[str(p) for p in path]!r}; import {module}"
    env = {**LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(path[0]), "PATH": os.environ.get("PATH", "")}
    done = subprocess.run(
        [PY, "-I", "-S", "-B", "-X", "importtime", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    per_package: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)$", line)
        if match:
            per_package[match.group(2).split(".")[0]] += int(match.group(1))
    return per_package


@dataclass(frozen=True)
class ImportResult:
    source: float  # handler import, the asset source only (compiled at every cold start)
    compiled: float  # handler import, the asset with bytecode
    boto3: float
    api_ready: float  # as deployed: import + the first API request (GET /v1/config)
    page_ready: float  # as deployed: import + the first page request (GET /)
    botocore: float  # import botocore.session + botocore.config, the part boto3 builds on
    deployed_compiled: bool  # whether a deployment from this machine ships bytecode
    runs: int
    heavy: list[tuple[str, int]]
    modules_loaded: list[str]

    @property
    def handler(self) -> float:
        """The handler's import as deployed from this machine."""
        return self.compiled if self.deployed_compiled else self.source

    @property
    def deployed_as(self) -> str:
        return "bytecode" if self.deployed_compiled else "source only"


def loaded_modules(module: str, *, path: list[Path]) -> list[str]:
    """Which notable packages importing ``module`` pulls in (a check on laziness)."""
    watch = ("boto3", "botocore", "s3transfer", "fido2", "cryptography", "aws_xray_sdk")
    program = (
        f"import sys; sys.path[:0] = {[str(p) for p in path]!r}; import {module}; "
        f"print(' '.join(m for m in {watch!r} if m in sys.modules))"
    )
    env = {**LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(path[0]), "PATH": os.environ.get("PATH", "")}
    done = subprocess.run(
        [PY, "-I", "-S", "-B", "-c", program], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.split()


def measure(runs: int = 11) -> ImportResult:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    work = Path(tempfile.mkdtemp(prefix="tapgate-import-"))
    try:
        layout = build_layout(work)
        source = [layout.task, layout.runtime]
        compiled = [layout.compiled_task, layout.runtime]
        for _ in range(2):  # warm the page cache for all of them
            import_seconds(HANDLER_MODULE, path=source)
            import_seconds(HANDLER_MODULE, path=compiled)
            import_seconds("boto3", path=[layout.runtime])
            import_seconds(API_READY, path=layout.deployed)
        samples: dict[str, list[float]] = {k: [] for k in ("s", "b", "c", "api", "page", "bc")}
        for _ in range(runs):  # interleaved, so drift hits all sides alike
            samples["s"].append(import_seconds(HANDLER_MODULE, path=source))
            samples["b"].append(import_seconds("boto3", path=[layout.runtime]))
            samples["c"].append(import_seconds(HANDLER_MODULE, path=compiled))
            samples["api"].append(import_seconds(API_READY, path=layout.deployed))
            samples["page"].append(import_seconds(PAGE_READY, path=layout.deployed))
            samples["bc"].append(
                import_seconds("botocore.session, botocore.config", path=[layout.runtime])
            )
        median = {k: statistics.median(v) for k, v in samples.items()}
        return ImportResult(
            source=median["s"],
            compiled=median["c"],
            boto3=median["b"],
            api_ready=median["api"],
            page_ready=median["page"],
            botocore=median["bc"],
            deployed_compiled=layout.deployed_compiled,
            runs=runs,
            heavy=heaviest(HANDLER_MODULE, path=compiled),
            modules_loaded=loaded_modules(HANDLER_MODULE, path=compiled),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    result = measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(result)
    print(
        f"as deployed ({result.deployed_as}) {result.handler / result.boto3:.2f}x, "
        f"source only {result.source / result.boto3:.2f}x, "
        f"bytecode {result.compiled / result.boto3:.2f}x, "
        f"import + first API request {result.api_ready / result.boto3:.2f}x, "
        f"import + first page request {result.page_ready / result.boto3:.2f}x"
    )
