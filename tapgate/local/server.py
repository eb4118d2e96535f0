"""`tapgate local`: moto's server, the stack's resources, the real handler behind the gateway.

``start_local`` brings it all up in this process and returns a handle (tests use it);
``run_local`` does the same, prints what to do next and blocks until SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import boto3

from tapgate.authenticators.soft import SoftAuthenticator
from tapgate.local.bootstrap import (
    BROKER_ACCESS_KEY_ID,
    BROKER_SECRET_ACCESS_KEY,
    LocalResources,
    bootstrap,
    broker_environment,
)
from tapgate.local.federation import PATH as FEDERATION_PATH
from tapgate.local.federation import FederationStandIn, session_check
from tapgate.local.gateway import Handler, LocalGateway, TokenBucketLimiter
from tapgate.local.sigv4 import SecretLookup, SecretRecord

DEFAULT_STATE_FILE = Path(".tapgate/local.json")
DEFAULT_REGION = "us-east-1"
DEMO_KEY_NAME = "demo-key.json"  # beside the state file
BROKER_HANDLER = "tapgate_broker.handler"
# Per-IP token bucket on the open routes (the stack's WAF rule does this in AWS):
# generous enough for a person and the browser tests, strict enough to notice a loop.
OPEN_ROUTE_BURST = 30
OPEN_ROUTE_RATE_PER_SECOND = 1.0
# Variables that would point boto3 somewhere other than moto, or at a missing profile.
_CLEARED_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class LocalModeError(Exception):
    """Local mode could not start."""


def moto_secret_lookup(*, account_id: str, partition: str = "aws") -> SecretLookup:
    """Find an access key's secret in moto's IAM users, then in its STS sessions.

    Long-term keys of IAM users and temporary credentials from ``sts:AssumeRole``
    are found; ``GetSessionToken``/``GetFederationToken`` credentials are not (moto
    keeps no secret for them).
    """
    from moto.backends import get_backend  # noqa: PLC0415 -- moto only in local mode
    from moto.core.utils import utcnow  # noqa: PLC0415

    def lookup(access_key_id: str) -> SecretRecord | None:
        iam: Any = get_backend("iam")[account_id][partition]
        user = iam.get_user_from_access_key_id(access_key_id)
        if user is not None:
            key = user.get_access_key_by_id(access_key_id)
            if key.status != "Active":
                return None
            return SecretRecord(key.secret_access_key, user.arn, None, user.id)
        sts: Any = get_backend("sts")[account_id][partition]
        session = sts.get_assumed_role_from_access_key(access_key_id)
        if session is not None and session.expiration > utcnow():
            return SecretRecord(
                session.secret_access_key, session.arn, session.session_token, session.user_id
            )
        return None

    return lookup


@dataclass
class LocalHandle:
    """A running local mode. ``stop()`` shuts it down and restores the environment."""

    api_url: str
    aws_endpoint_url: str
    state: dict[str, Any]
    resources: LocalResources
    state_file: Path | None
    demo_key_file: Path | None = None
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        while self._stops:
            self._stops.pop()()


def start_local(
    *,
    host: str = "localhost",
    port: int = 0,
    state_file: Path | None = None,
    region: str = DEFAULT_REGION,
    open_route_limits: tuple[float, int] = (OPEN_ROUTE_RATE_PER_SECOND, OPEN_ROUTE_BURST),
) -> LocalHandle:
    """Start moto, bootstrap, wire the broker handler behind the gateway, write the state.

    ``host`` is the public host name in ``apiUrl``/``origin`` and the RP ID; the
    sockets listen on 127.0.0.1 only. The state file appears only once everything
    listens. This sets the broker's environment variables in ``os.environ``
    (the handler reads them) and puts the old values back on ``stop()``. moto keeps
    its state per process, so this resets it on start and on stop: do not mix it with
    an active ``mock_aws`` in the same process. ``open_route_limits`` is the per-IP
    token bucket (requests per second, burst) of the open ceremony routes.
    """
    from moto.core import DEFAULT_ACCOUNT_ID  # noqa: PLC0415 -- moto only in local mode
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    stops: list[Callable[[], None]] = []

    def unwind() -> None:
        while stops:
            stops.pop()()

    try:
        # Bind the API port first: if it is taken, nothing else has happened yet.
        lookup = moto_secret_lookup(account_id=DEFAULT_ACCOUNT_ID)
        try:
            gateway = LocalGateway(
                handler=_not_ready,
                secret_lookup=lookup,
                host="127.0.0.1",
                port=port,
                region=region,
                rate_limiter=TokenBucketLimiter(
                    rate_per_second=open_route_limits[0], burst=open_route_limits[1]
                ),
                federation=FederationStandIn(check_session=session_check(lookup)),
            )
        except OSError as exc:
            raise LocalModeError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
        stops.append(gateway.stop)
        api_url = f"http://{host}:{gateway.port}"
        # Only requests for the origin itself: no DNS-rebound page reaches the local API.
        gateway.allowed_hosts = frozenset({f"{host}:{gateway.port}".lower()})

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        stops.append(moto.stop)
        moto_host, moto_port = moto.get_host_and_port()
        endpoint_url = f"http://{moto_host}:{moto_port}"
        # moto's state is per process: start clean, and leave nothing behind for a next start.
        _reset_moto(endpoint_url)
        stops.append(lambda: _reset_moto(endpoint_url))

        stops.append(_set_environ(dict.fromkeys(_CLEARED_ENV)))
        session = boto3.session.Session(
            aws_access_key_id=BROKER_ACCESS_KEY_ID,
            aws_secret_access_key=BROKER_SECRET_ACCESS_KEY,
            region_name=region,
        )
        resources = bootstrap(session, endpoint_url=endpoint_url)
        environment = broker_environment(
            resources,
            endpoint_url=endpoint_url,
            origin=api_url,
            rp_id=host,
            federation_url=api_url + FEDERATION_PATH,
        )
        stops.append(_set_environ(dict(environment)))
        gateway.handler = _broker_handler()
        stops.append(_forget_broker)  # a later start (or test) must not reuse this wiring
        gateway.start()
        stops.append(gateway.stop)  # on stop, refuse new requests before anything else goes

        state = {
            "apiUrl": api_url,
            "awsEndpointUrl": endpoint_url,
            "region": region,
            "rpId": host,
            "origin": api_url,
            "demoUser": resources.demo_user.to_json(),
            "gatedRoles": [{"arn": role.arn} for role in resources.gated_roles],
        }
        demo_key_file = None
        if state_file is not None:
            _private_dir(state_file.parent)
            demo_key_file = (state_file.parent / DEMO_KEY_NAME).resolve()
            if not demo_key_file.exists():
                # The demo's software key (0600); kept across runs, like a real key would be.
                SoftAuthenticator.create(demo_key_file)
            _write_private_json(state_file, state)
            stops.append(lambda: state_file.unlink(missing_ok=True))
    except BaseException:
        unwind()
        raise
    return LocalHandle(
        api_url=api_url,
        aws_endpoint_url=endpoint_url,
        state=state,
        resources=resources,
        state_file=state_file,
        demo_key_file=demo_key_file,
        _stops=stops,
    )


def run_local(
    *,
    host: str = "localhost",
    port: int = 8080,
    state_file: Path = DEFAULT_STATE_FILE,
    ready: threading.Event | None = None,
    out: TextIO | None = None,
) -> int:
    """Run local mode until SIGINT or SIGTERM; return the exit code (0 after a clean stop)."""
    stop_requested = threading.Event()
    with _stop_on_signals(stop_requested):
        handle = start_local(host=host, port=port, state_file=state_file)
        try:
            print(next_steps(handle), file=out or sys.stdout, flush=True)
            if ready is not None:
                ready.set()
            while not stop_requested.wait(timeout=0.5):
                pass
        finally:
            handle.stop()
    return 0


def next_steps(handle: LocalHandle) -> str:
    """What to do next, with absolute paths so it works from any directory."""
    state = handle.state
    user = state["demoUser"]
    tapgate = shutil.which("tapgate") or str(Path(sys.executable).parent / "tapgate")
    bin_dir = str(Path(tapgate).parent)
    key = str(handle.demo_key_file) if handle.demo_key_file else "PATH-TO-A-KEY-FILE"
    state_file = handle.state_file.resolve() if handle.state_file else DEFAULT_STATE_FILE
    lines = [
        f"tapgate local: API {handle.api_url}  (AWS endpoint {handle.aws_endpoint_url})",
        f"state file: {handle.state_file}",
        "",
        "1. In another terminal, be the demo user (moto keys; local only):",
        f"  export PATH={bin_dir}:$PATH",
        f"  export AWS_ACCESS_KEY_ID={user['accessKeyId']}",
        f"  export AWS_SECRET_ACCESS_KEY={user['secretAccessKey']}",
        f"  export AWS_DEFAULT_REGION={state['region']}",
        f"  export TAPGATE_API_URL={handle.api_url}",
        f"  export TAPGATE_LOCAL_STATE={state_file}",
        "",
        "2. Register the demo software key (a key file; tapgate refuses it outside local mode):",
        f"  tapgate register --authenticator soft:{key} --nickname demo",
        "",
        "3. Use a gated role from the AWS CLI: add this profile to ~/.aws/config",
        "   (or to a file named by AWS_CONFIG_FILE), then run the command below it:",
    ]
    for role in state["gatedRoles"]:
        name = role["arn"].rsplit("/", 1)[-1]
        lines += [
            f"  [profile {name}]",
            f"  credential_process = {tapgate} credentials"
            f" --api-url {handle.api_url}"
            f" --state-file {state_file}"
            f" --authenticator soft:{key}"
            f" --role {role['arn']}",
            f"  region = {state['region']}",
            f"  endpoint_url = {handle.aws_endpoint_url}",
            "",
            f"  aws sts get-caller-identity --profile {name}",
            "",
        ]
    lines += [
        "4. In a browser: create a one-time enrollment link as the demo user (an admin here),",
        "   open it, enroll a passkey, then sign in with it on the page:",
        f"  tapgate enroll --user {user['userName']}",
        f"  web page: {handle.api_url}/v1/",
        "",
        "Not enforced in local mode: IAM conditions and trust policies (moto ignores them).",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def _broker_handler() -> Handler:
    try:
        module = importlib.import_module(BROKER_HANDLER)
    except ImportError as exc:
        raise LocalModeError(f"cannot import the broker handler: {exc}") from exc
    _forget_broker()  # the broker is built once per "cold start" from the environment
    handler: Handler = module.handler
    return handler


def _forget_broker() -> None:
    wiring = sys.modules.get("tapgate_broker.wiring")
    cache_clear = getattr(getattr(wiring, "broker_from_env", None), "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def _reset_moto(endpoint_url: str) -> None:
    """moto's documented reset API: drop every backend's state in this process."""
    url = f"{endpoint_url}/moto-api/reset"  # an http:// URL we built from moto's own address
    request = urllib.request.Request(url, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def _not_ready(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise LocalModeError("the broker handler is not wired yet")


def _set_environ(values: dict[str, str | None]) -> Callable[[], None]:
    """Set (or, for None, remove) variables; return what puts the old values back."""
    previous = {name: os.environ.get(name) for name in values}
    _apply(values)
    return lambda: _apply(previous)


def _apply(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _write_private_json(path: Path, document: dict[str, Any]) -> None:
    """Write atomically with mode 0600; a new parent directory gets mode 0700."""
    parent = path.parent
    _private_dir(parent)
    descriptor, temporary = tempfile.mkstemp(dir=parent, prefix=".local-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
            file.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _private_dir(directory: Path) -> None:
    """Create ``directory`` with mode 0700 if it is missing (an existing one is kept)."""
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; the caller stops us another way
        return

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
