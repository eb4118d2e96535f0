"""Benchmark: `tapgate credentials` answered from the cache vs a bare `python3 -I -c pass`.

Goal (issue 4): the cached path within 2x of the bare interpreter start. Each
sample is a fresh process; the result is the median of N runs. Two tapgate
figures are measured:

- ``as_installed``: tapgate's code run by the base interpreter, as a regular (wheel)
  install starts it, against the same interpreter doing ``pass``. Measured twice:
  with ``-I`` as the goal states, and with ``-I -S`` (no site at all). The headline
  ``ratio`` is the stricter ``-I -S`` one: on a machine whose site-packages carry
  slow `.pth` hooks (this sandbox's imports certifi, ~70 ms), the ``-I`` baseline is
  inflated and flatters the ratio.
- ``editable_console_script``: this venv's ``tapgate`` console script. An editable
  install (`pip install -e`) adds a `.pth` finder that imports pathlib & co. at
  every interpreter start, whatever the program; reported for honesty.

The last stdout line is JSON (bench/run.py reads it): {"ratio", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tapgate.cache import CredentialCache, cache_key  # noqa: E402

API_URL = "https://example.execute-api.us-east-1.amazonaws.com"  # the contract: no stage
ROLE = "arn:aws:iam::123456789012:role/bench-gated"
ACCESS_KEY = "AKIABENCHMARK0000000"


def median_ms(*commands: list[str], env: dict[str, str], runs: int) -> list[float]:
    """The median wall time of each command. The commands take turns, so a machine that
    gets busier or quieter during the run weighs on all of them alike."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for command, times in zip(commands, samples, strict=True):
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{command[0]} failed: {done.stderr.decode()[-300:]}")
    return [statistics.median(times) * 1000 for times in samples]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    base = getattr(sys, "_base_executable", sys.executable)
    console_script = Path(sys.executable).parent / "tapgate"
    with tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "XDG_CACHE_HOME": str(Path(home) / "cache"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_CONFIG_FILE": str(Path(home) / "config"),
        }
        store = CredentialCache(Path(env["XDG_CACHE_HOME"]) / "tapgate", clock=time.time)
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        document = {
            "Version": 1,
            "AccessKeyId": "ASIABENCH",
            "SecretAccessKey": "bench-secret",
            "SessionToken": "bench-token",
            "Expiration": expiration,
        }
        store.put(cache_key(api_url=API_URL, role_arn=ROLE, identity="key:" + ACCESS_KEY), document)
        cli_args = ["credentials", "--api-url", API_URL, "--role", ROLE]
        program = (
            # The repository laid out as a wheel installs it: tapgate and tapgate_contract.
            f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'lambdas')!r}]; "
            "from tapgate.cli.main import main; sys.exit(main())"
        )
        check = subprocess.run(
            [base, "-I", "-S", "-c", program, *cli_args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0 or json.loads(check.stdout) != document:
            raise SystemExit(f"the cached path did not answer from the cache: {check.stderr}")
        result: dict[str, object] = {"runs": args.runs}
        for label, flags in (("no_site", ["-I", "-S"]), ("isolated", ["-I"])):
            bare, cached = median_ms(
                [base, *flags, "-c", "pass"],
                [base, *flags, "-c", program, *cli_args],
                env=env,
                runs=args.runs,
            )
            result[f"{label}_bare_ms"] = round(bare, 1)
            result[f"{label}_cached_ms"] = round(cached, 1)
            result[f"{label}_ratio"] = round(cached / bare, 2)
        result["ratio"] = result["no_site_ratio"]
        if console_script.exists():
            (editable,) = median_ms([str(console_script), *cli_args], env=env, runs=args.runs)
            result["editable_console_script_ms"] = round(editable, 1)
            result["editable_ratio"] = round(editable / float(result["isolated_bare_ms"]), 2)
    for label, flags in (("no_site", "-I -S"), ("isolated", "-I")):
        print(
            f"python3 {flags} -c pass: {result[label + '_bare_ms']} ms; cached tapgate "
            f"credentials: {result[label + '_cached_ms']} ms ({result[label + '_ratio']}x)"
        )
    if "editable_ratio" in result:
        print(
            f"this venv's editable console script: {result['editable_console_script_ms']} ms "
            f"({result['editable_ratio']}x of -I; an editable install's .pth finder runs at "
            "every start)"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
