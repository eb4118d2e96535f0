"""`tapgate local`: moto's server, the stack's resources, the real handler behind the gateway.

``start_local`` brings it all up in this process and returns a handle (tests use it);
``run_local`` does the same, prints what to do next and blocks until SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import logging
import os
import signal
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import boto3

from tapgate.authenticators.soft import SoftAuthenticator
from tapgate.files import private_directory, write_atomically
from tapgate.local import logs, moto_server, persistence
from tapgate.local import state as state_file_format
from tapgate.local.bootstrap import (
    BROKER_ACCESS_KEY_ID,
    BROKER_SECRET_ACCESS_KEY,
    LocalResources,
    bootstrap,
    broker_environment,
)
from tapgate.local.config import LocalConfig
from tapgate.local.federation import PATH as FEDERATION_PATH
from tapgate.local.federation import FederationStandIn, session_check
from tapgate.local.gateway import Handler, LocalGateway, TokenBucketLimiter
from tapgate.local.guide import next_steps
from tapgate.local.sigv4 import SecretLookup, SecretRecord

DEFAULT_STATE_FILE = Path(state_file_format.DEFAULT_STATE_FILE)
DEFAULT_REGION = "us-east-1"
DEFAULT_HOST = state_file_format.DEFAULT_HOST
DEFAULT_PORT = state_file_format.DEFAULT_PORT
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
    data_file: Path | None = None  # where the world is kept (persist=True)
    notices: list[str] = field(default_factory=list)  # said once, above the next steps
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        while self._stops:
            self._stops.pop()()


def start_local(
    *,
    host: str | None = None,
    port: int | None = 0,
    state_file: Path | None = None,
    region: str = DEFAULT_REGION,
    open_route_limits: tuple[float, int] = (OPEN_ROUTE_RATE_PER_SECOND, OPEN_ROUTE_BURST),
    persist: bool = False,
    reset: bool = False,
    log_format: str | None = None,
    log_stream: TextIO | None = None,
    config: LocalConfig | None = None,
) -> LocalHandle:
    """Start moto, bootstrap, wire the broker handler behind the gateway, write the state.

    ``host`` is the public host name in ``apiUrl``/``origin`` and the RP ID; the
    sockets listen on 127.0.0.1 only. The state file appears only once everything
    listens. This sets the broker's environment variables in ``os.environ``
    (the handler reads them) and puts the old values back on ``stop()``. moto keeps
    its state per process, so this resets it on start and on stop: do not mix it with
    an active ``mock_aws`` in the same process. ``open_route_limits`` is the per-IP
    token bucket (requests per second, burst) of the open ceremony routes.

    ``persist`` (with a ``state_file``; what `tapgate local` does) keeps the world beside
    the state file across restarts (tapgate.local.persistence): ``host`` and ``port``
    default to the last run's (else localhost and 8080), and ``reset`` forgets it first.
    Without it, ``host`` defaults to localhost and ``port=None`` to 8080.

    ``log_format`` (tapgate.local.logs: "human" or "json", on ``log_stream``) routes the
    per-request lines; None leaves the Lambda's JSON logging as it is.

    ``config`` (``tapgate local --config``): gated roles beside the demo role, and the FIDO
    metadata blob and root from files; the blob is verified before anything starts.
    """
    config = config or LocalConfig()
    metadata_root_pem = _checked_metadata(config)
    from moto.core import DEFAULT_ACCOUNT_ID  # noqa: PLC0415 -- moto only in local mode

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    stops: list[Callable[[], None]] = []

    def unwind() -> None:
        while stops:
            stops.pop()()

    try:
        try:
            world, data_file = persistence.open_world(
                state_file if persist else None, host=host, reset=reset, stops=stops
            )
        except persistence.LocalDataError as exc:
            raise LocalModeError(str(exc)) from exc
        host = host or (world.host if world else DEFAULT_HOST)
        if port is None:
            port = world.api_port if world and world.api_port else DEFAULT_PORT
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
            raise LocalModeError(_cannot_listen(port, exc)) from exc
        stops.append(gateway.stop)
        api_url = f"http://{host}:{gateway.port}"
        # Only requests for the origin itself: no DNS-rebound page reaches the local API.
        gateway.allowed_hosts = frozenset({f"{host}:{gateway.port}".lower()})

        aws_port = world.aws_port if world else 0
        try:
            endpoint_url, stop_moto = moto_server.start_moto(aws_port)
        except OSError as exc:
            raise LocalModeError(
                f"cannot listen on 127.0.0.1:{aws_port} for the AWS endpoint kept from the "
                f"last run ({exc.strerror or exc}); free it, or start over with "
                "`tapgate local --reset`"
            ) from exc
        stops.append(stop_moto)
        # moto's state is per process: start clean, and leave nothing behind for a next start.
        moto_server.reset(endpoint_url)
        stops.append(lambda: moto_server.reset(endpoint_url))

        stops.append(_set_environ(dict.fromkeys(_CLEARED_ENV)))
        session = boto3.session.Session(
            aws_access_key_id=BROKER_ACCESS_KEY_ID,
            aws_secret_access_key=BROKER_SECRET_ACCESS_KEY,
            region_name=region,
        )
        resources = bootstrap(
            session,
            endpoint_url=endpoint_url,
            before_demo_key=(
                (lambda: moto_server.seed(endpoint_url, world.demo_key_seed)) if world else None
            ),
            roles=config.gated_roles,
        )
        if world is not None:
            moto_server.seed(endpoint_url)  # nothing after the demo key may be predictable
        environment = broker_environment(
            resources,
            endpoint_url=endpoint_url,
            origin=api_url,
            rp_id=host,
            federation_url=api_url + FEDERATION_PATH,
            metadata_file=str(config.metadata_blob) if config.metadata_blob else None,
            metadata_root_pem=metadata_root_pem,
        )
        variables: dict[str, str | None] = dict(environment)
        if log_format is not None:
            variables.update(logs.environment(log_format))
        stops.append(_set_environ(variables))
        handler = _broker_handler()
        if log_format is not None:
            stops.append(logs.apply(log_format, log_stream or sys.stdout))
        notices: list[str] = []
        if world is not None and data_file is not None:
            try:
                keeper = persistence.keep_world(
                    world,
                    data_file,
                    dynamodb=session.client("dynamodb", endpoint_url=endpoint_url),
                    resources=resources,
                    ports=(gateway.port, urllib.parse.urlsplit(endpoint_url).port or 0),
                    host=host,
                    notices=notices,
                )
            except persistence.LocalDataError as exc:
                raise LocalModeError(str(exc)) from exc
            handler = keeper.saving_after_changes(handler)
            stops.append(keeper.save)  # the last save, once no request can come in
        gateway.handler = handler
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
            "gatedRoles": [
                {"arn": role.arn, "assurance": role.assurance, "aaguids": list(role.aaguids)}
                for role in resources.offered_roles
            ],
        }
        demo_key_file = None
        if state_file is not None:
            private_directory(state_file.parent)
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
        data_file=data_file,
        notices=notices,
        _stops=stops,
    )


def run_local(
    *,
    host: str | None = None,
    port: int | None = None,
    state_file: Path = DEFAULT_STATE_FILE,
    reset: bool = False,
    log_format: str | None = None,
    ready: threading.Event | None = None,
    out: TextIO | None = None,
    config: LocalConfig | None = None,
) -> int:
    """Run local mode until SIGINT, SIGTERM or SIGHUP; return the exit code (0 after a clean
    stop). The world is kept beside ``state_file`` across runs; ``host`` and ``port``
    default to the last run's."""
    stop_requested = threading.Event()
    with _stop_on_signals(stop_requested):
        stream = out or sys.stdout
        handle = start_local(
            host=host,
            port=port,
            state_file=state_file,
            persist=True,
            reset=reset,
            log_format=logs.choose(log_format, stream),
            log_stream=stream,
            config=config,
        )
        try:
            print(next_steps(handle), file=stream, flush=True)
            if ready is not None:
                ready.set()
            while not stop_requested.wait(timeout=0.5):
                pass
        finally:
            handle.stop()
    return 0


def _checked_metadata(config: LocalConfig) -> str | None:
    """Verify the configured blob under its root now (a bad one stops local mode with the
    reason); the root's PEM for the broker, or None for the FIDO Alliance's."""
    import datetime as dt  # noqa: PLC0415

    from tapgate_broker.core.metadata import (  # noqa: PLC0415 -- local mode only
        MetadataError,
        fido_mds_root,
        trust_root_from_pem,
        verify_metadata,
    )

    pem = None
    try:
        if config.metadata_root is not None:
            pem = config.metadata_root.read_text(encoding="ascii")
        root = trust_root_from_pem(pem) if pem is not None else fido_mds_root()
        if config.metadata_blob is not None:
            verify_metadata(
                config.metadata_blob.read_bytes(), root=root, now=dt.datetime.now(dt.UTC)
            )
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalModeError(f"cannot read the metadata files: {exc}") from exc
    except MetadataError as exc:
        raise LocalModeError(f"metadataBlob {config.metadata_blob} is not usable: {exc}") from exc
    return pem


def _cannot_listen(port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on 127.0.0.1:{port}: the port is in use (another tapgate local?); "
            "pick another with `tapgate local --port N` (or `make demo PORT=N`)"
        )
    return f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}"


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
    private_directory(path.parent)
    write_atomically(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; the caller stops us another way
        return

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGHUP: the terminal closed (POSIX only); the world is saved on the way out.
    signals = [
        signal.SIGINT,
        signal.SIGTERM,
        *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []),
    ]
    previous = {sig: signal.signal(sig, request_stop) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
