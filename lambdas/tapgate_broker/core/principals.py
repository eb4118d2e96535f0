"""IAM principal ARNs as the broker reads them: IAM users, role sessions, role ARNs.

One place for the patterns the caller's identity (``core/identity``) and the admin check
(``core/enrollment``) both need. Use them with ``fullmatch``: a ``$`` anchor would accept a
trailing newline.
"""

from __future__ import annotations

import re

IAM_USER = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):user/(?:[^/\s]+/)*"
    r"(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
ROLE_SESSION = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/"
    r"(?P<role>[\w+=,.@-]+)/(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:[^\s]+/)?(?P<name>[^/\s]+)",
    re.ASCII,
)
