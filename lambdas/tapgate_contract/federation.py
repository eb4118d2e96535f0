"""The AWS federation endpoint (console sign-in links) of each partition.

The documented custom-identity-broker flow: ``Action=getSigninToken`` with the role
session's credentials, then ``Action=login`` with the token and a console destination.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html
"""

from __future__ import annotations

from dataclasses import dataclass

# getSigninToken's optional SessionDuration (refused for sessions from role chaining).
SESSION_DURATION_MIN_SECONDS = 900
SESSION_DURATION_MAX_SECONDS = 43200
# The most of an answer anyone reads from the endpoint (a sign-in token is ~1 KiB).
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Partition:
    name: str
    federation_endpoint: str
    console_host: str  # the console's host name; regional consoles prefix "{region}."

    @property
    def console_home(self) -> str:
        return f"https://{self.console_host}/"


PARTITIONS = {
    partition.name: partition
    for partition in (
        Partition("aws", "https://signin.aws.amazon.com/federation", "console.aws.amazon.com"),
        Partition(
            "aws-us-gov",
            "https://signin.amazonaws-us-gov.com/federation",
            "console.amazonaws-us-gov.com",
        ),
        Partition("aws-cn", "https://signin.amazonaws.cn/federation", "console.amazonaws.cn"),
    )
}


def partition_of(arn: str) -> Partition | None:
    """The partition named in an ARN (``arn:PARTITION:...``); None for another partition or
    something that is not an ARN."""
    parts = arn.split(":", 2)
    if len(parts) < 3 or parts[0] != "arn":
        return None
    return PARTITIONS.get(parts[1])
