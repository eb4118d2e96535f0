"""Where a command talks to and as whom, resolved without the network.

Stdlib only: `tapgate credentials` resolves its cache key through here before
deciding whether it needs botocore and fido2 at all.
"""

from __future__ import annotations

import os

from tapgate.cli.errors import CliError, UsageError
from tapgate_contract.environment import FEDERATION_URL as ENV_FEDERATION_URL  # noqa: F401 (console_cmd)
from tapgate_contract.stage import STAGE_PREFIX as STAGE_SUFFIX

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and argparse cost the cached path milliseconds at run time
    import argparse
    from collections.abc import Mapping
    from typing import Any

ENV_API_URL = "TAPGATE_API_URL"
ENV_API_REGION = "TAPGATE_API_REGION"
ENV_LOCAL_STATE = "TAPGATE_LOCAL_STATE"
ENV_AUTHENTICATOR = "TAPGATE_AUTHENTICATOR"
ENV_ORIGIN = "TAPGATE_ORIGIN"
PROFILE_API_URL_KEY = "tapgate_api_url"


def profile_name(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The base profile: ``--profile``, else ``AWS_PROFILE``/``AWS_DEFAULT_PROFILE``."""
    explicit = getattr(args, "profile", None)
    if explicit:
        return str(explicit)
    return environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or None


def authenticator_spec(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """``--authenticator``, else $TAPGATE_AUTHENTICATOR, else the USB key: ``usb`` or
    ``soft:PATH``."""
    spec = getattr(args, "authenticator", None) or environ.get(ENV_AUTHENTICATOR) or "usb"
    if spec == "usb":
        return spec
    if spec.startswith("soft:") and len(spec) > len("soft:"):
        return spec
    raise UsageError(f"--authenticator must be usb or soft:PATH, not {spec!r}")


def state_file_path(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    from tapgate.local.state import DEFAULT_STATE_FILE  # noqa: PLC0415

    return getattr(args, "state_file", None) or environ.get(ENV_LOCAL_STATE) or DEFAULT_STATE_FILE


def load_local_state(path: str) -> dict[str, Any] | None:
    """The local mode state file; None when there is none; a CliError naming the file
    when it is there but is not one."""
    from tapgate.local.state import LocalStateError, read_state  # noqa: PLC0415

    try:
        return read_state(path)
    except LocalStateError as exc:
        raise CliError(str(exc)) from exc


def normalize_api_url(url: str) -> str:
    """The API's base URL without the stage: trailing slashes and one trailing ``/v1`` go.

    The contract's ``apiUrl`` has no stage (the client appends ``/v1/...``), but a URL
    copied from the stage (``https://{id}.execute-api.{region}.amazonaws.com/v1/``) is an
    easy mistake; both forms mean the same API, and the same cache entries.
    """
    text = url.rstrip("/")
    scheme = text.find("://")
    path_start = text.find("/", scheme + 3 if scheme >= 0 else 0)
    if 0 <= path_start <= len(text) - len(STAGE_SUFFIX) and text.endswith(STAGE_SUFFIX):
        text = text[: -len(STAGE_SUFFIX)].rstrip("/")
    return text


def checked_api_url(url: str, *, source: str) -> str:
    """``url`` normalized, or a UsageError naming ``source`` when it is no http(s) URL."""
    import urllib.parse  # noqa: PLC0415  (not on the cached path)

    normalized = normalize_api_url(url)
    try:
        parts = urllib.parse.urlsplit(normalized)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in normalized)
    ):
        raise UsageError(
            f"{source} must be an http(s) URL such as "
            f"https://ID.execute-api.REGION.amazonaws.com, not {url!r}"
        )
    return normalized


def api_url(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """``--api-url``, ``TAPGATE_API_URL``, the profile's ``tapgate_api_url``, local mode's
    (each through :func:`normalize_api_url`, and checked to be an http(s) URL)."""
    given = getattr(args, "api_url", None)
    if given:
        return checked_api_url(str(given), source="--api-url")
    if environ.get(ENV_API_URL):
        return checked_api_url(environ[ENV_API_URL], source=ENV_API_URL)
    profile = profile_name(args, environ) or "default"
    from_profile = profile_setting(profile, PROFILE_API_URL_KEY, environ)
    if from_profile:
        return checked_api_url(
            from_profile, source=f"{PROFILE_API_URL_KEY} in AWS profile {profile!r}"
        )
    state = load_local_state(state_file_path(args, environ))
    if state is not None:
        return checked_api_url(str(state["apiUrl"]), source="the local mode state file's apiUrl")
    check_local_mode_running(None, args, environ)
    raise CliError(
        "no tapgate API URL: pass --api-url, set TAPGATE_API_URL, "
        f"put {PROFILE_API_URL_KEY} in your AWS profile, or run `tapgate local`"
    )


def local_state_for(
    url: str, args: argparse.Namespace, environ: Mapping[str, str]
) -> dict[str, Any] | None:
    """Local mode's state when ``url`` is its API (then the soft key and localhost are fine)."""
    state = load_local_state(state_file_path(args, environ))
    if state is None or normalize_api_url(str(state["apiUrl"])) != normalize_api_url(url):
        return None
    return state


def check_local_mode_running(
    url: str | None, args: argparse.Namespace, environ: Mapping[str, str]
) -> None:
    """A CliError when ``url`` (None: any) is the API of a local mode that is stopped: its
    state file is gone but the world it keeps beside it is there."""
    from pathlib import Path  # noqa: PLC0415

    from tapgate.local import persistence  # noqa: PLC0415

    path = Path(state_file_path(args, environ)).absolute()
    try:
        world = persistence.load(persistence.data_file_for(path))
    except persistence.LocalDataError:
        return  # not a world we can speak for; the command's own error follows
    if world is None:
        return
    world_url = f"http://{world.host}:{world.api_port}"
    if url is None or normalize_api_url(url) == world_url:
        raise CliError(local_mode_not_running(world_url, str(path)))


def local_mode_not_running(url: str, state_file: str) -> str:
    return (
        f"local mode is not running (nothing answers at {url}): "
        f"start it with `tapgate local --state-file {state_file}`"
    )


def base_identity(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """A stable, offline label for the base identity (part of the cache key).

    Mirrors botocore's precedence: an explicit ``--profile`` beats the environment's
    access key, which beats ``AWS_PROFILE``. A profile is labelled by its name and
    by the shared config and credentials files' identity and modification time:
    any edit to them misses the cache (one touch) rather than risk serving
    credentials obtained as someone else. No file is parsed, so this stays cheap.
    """
    explicit = getattr(args, "profile", None)
    key = environ.get("AWS_ACCESS_KEY_ID")
    if key and not explicit:
        return "key:" + key
    name = profile_name(args, environ) or "default"
    parts = ["profile", name]
    for path in (_config_file(environ), _credentials_file(environ)):
        try:
            info = os.stat(path)
        except OSError:
            parts += [path, "-"]
            continue
        parts += [path, f"{info.st_dev}:{info.st_ino}:{info.st_mtime_ns}:{info.st_size}"]
    return "\n".join(parts)


def profile_setting(profile: str, setting: str, environ: Mapping[str, str]) -> str | None:
    """A value from the shared config or credentials file, read with configparser."""
    for path, section in (
        (_config_file(environ), "default" if profile == "default" else f"profile {profile}"),
        (_credentials_file(environ), profile),
    ):
        value = _read_ini(path).get(section, {}).get(setting)
        if value:
            return value
    return None


_INI_CACHE: dict[str, dict[str, dict[str, str]]] = {}


def _read_ini(path: str) -> dict[str, dict[str, str]]:
    if path in _INI_CACHE:
        return _INI_CACHE[path]
    import configparser  # noqa: PLC0415  (only when the profile is consulted)

    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        parser = configparser.RawConfigParser()
    sections = {name: dict(parser.items(name)) for name in parser.sections()}
    _INI_CACHE[path] = sections
    return sections


def _config_file(environ: Mapping[str, str]) -> str:
    return os.path.expanduser(environ.get("AWS_CONFIG_FILE") or "~/.aws/config")


def _credentials_file(environ: Mapping[str, str]) -> str:
    return os.path.expanduser(environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")
