"""Reading a CTAP2 command's CBOR parameters the way a key does: CTAP error codes, no crash."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from fido2 import cbor
from fido2.ctap import CtapError

ERR = CtapError.ERR
_CBOR_ERRORS = (ValueError, IndexError, KeyError, TypeError, struct.error, RecursionError)


def decode_params(payload: bytes) -> Mapping[int, Any]:
    """A command's parameter map; malformed CBOR is INVALID_CBOR, not an exception."""
    if not payload:
        return {}
    try:
        params = cbor.decode(payload)
    except _CBOR_ERRORS as exc:
        raise CtapError(ERR.INVALID_CBOR) from exc
    if not isinstance(params, Mapping):
        raise CtapError(ERR.CBOR_UNEXPECTED_TYPE)
    return params


def param(params: Mapping[Any, Any], key: object, kind: type, *, required: bool = True) -> Any:
    """One parameter of the expected type: MISSING_PARAMETER or CBOR_UNEXPECTED_TYPE if not."""
    value = params.get(key)
    if value is None:
        if required:
            raise CtapError(ERR.MISSING_PARAMETER)
        return None
    if not isinstance(value, kind):
        raise CtapError(ERR.CBOR_UNEXPECTED_TYPE)
    return value
