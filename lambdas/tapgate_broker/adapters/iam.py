"""IAM adapter: a role's full ARN and RoleId by name (iam:GetRole), cached per container.

A role's path and RoleId never change for the life of the role, so an answer is kept for
the life of the execution environment; a caller presenting another RoleId for the same name
(the role was deleted and created anew) makes it look again. The broker's policy allows
GetRole only on identity-role and admin-role ARNs: AccessDenied means "not one of them".
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapgate_broker.adapters.aws_errors import dependency_error, error_code
from tapgate_broker.core.ports import RoleInfo

logger = logging.getLogger(__name__)

NOT_VISIBLE = frozenset({"NoSuchEntity", "NoSuchEntityException", "AccessDenied"})


class IamRoleDirectory:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._cache: dict[str, RoleInfo] = {}
        self._lock = threading.Lock()

    def role(self, name: str, *, role_id: str) -> RoleInfo | None:
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached.role_id == role_id:
            return cached
        try:
            answer = self._client.get_role(RoleName=name)
        except ClientError as exc:
            if error_code(exc) in NOT_VISIBLE:
                logger.info("role %s not visible to the broker: %s", name, error_code(exc))
                return None
            raise dependency_error(exc, service="iam") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="iam") from exc
        role = answer["Role"]
        found = RoleInfo(arn=str(role["Arn"]), role_id=str(role["RoleId"]))
        with self._lock:
            self._cache[name] = found
        return found
