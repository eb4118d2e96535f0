"""`tapgate register`: add a security key to your tapgate account.

A first key needs a base identity that the API lets register (MFA-gated IAM
policy or an enrollment token, see `tapgate enroll` later); a further key needs
a step-up touch of a key you already registered first.
"""

from __future__ import annotations

import argparse

from tapgate.cli.errors import CliError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nickname", metavar="NAME", help="a name for the key (up to 64 chars)")
    parser.add_argument(
        "--existing-authenticator",
        metavar="usb|soft:PATH",
        help="where the already registered key is, for the step-up (default: --authenticator)",
    )


def run(args: argparse.Namespace) -> int:
    from tapgate import tty  # noqa: PLC0415
    from tapgate.cli import ceremony, context  # noqa: PLC0415

    session = ceremony.open_session(args)
    # A further key goes to the step-up routes: the first-key routes admit only MFA sessions
    # (the API's resource policy), and the broker refuses step-up routes to a user with no key.
    further_key = bool(session.api.list_credentials())
    options = session.api.registration_options(nickname=args.nickname, further_key=further_key)
    ceremony_id, public_key = ceremony.ceremony_parts(session, options)
    rp = public_key.get("rp")
    origin = session.origin_for(rp.get("id") if isinstance(rp, dict) else None)
    step_up = None
    if further_key != isinstance(options.get("stepUp"), dict):
        raise CliError("the tapgate API's answer does not match your keys: try again")
    if further_key:
        existing_spec = context.authenticator_spec(
            argparse.Namespace(authenticator=args.existing_authenticator or session.authenticator),
            {},
        )
        if existing_spec.startswith("soft:"):
            ceremony.check_soft_allowed(local_mode=session.local_mode)
        existing = ceremony.webauthn_client(
            session,
            origin=origin,
            spec=existing_spec,
            touch_message="You already have a key: touch a key you registered before.",
        )
        step_up = ceremony.get_assertion(existing, options["stepUp"])
        if existing_spec == "usb" and session.authenticator == "usb":
            tty.confirm("Now plug in the NEW security key, then press Enter: ")
    new_key = ceremony.webauthn_client(
        session, origin=origin, touch_message="Touch the security key to register."
    )
    credential = ceremony.make_credential(new_key, public_key)
    answer = session.api.registration_verify(
        ceremony_id=ceremony_id, credential=credential, nickname=args.nickname, step_up=step_up
    )
    summary = answer.get("credential")
    if not isinstance(summary, dict):
        raise CliError("the tapgate API registered the key but answered no summary")
    name = summary.get("nickname") or "(no nickname)"
    print(f"Registered security key {name}: {summary.get('credentialId')}")
    return 0
