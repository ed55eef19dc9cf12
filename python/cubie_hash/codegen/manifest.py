"""Sealed JSON records: an entry's sidecar (identity + manifest) and its list of prehashes.

A sealed record carries ``sealed_blake3``, the BLAKE3 digest of the record's other fields in
compact sorted-key JSON: one flipped bit anywhere in the file and :func:`unseal` refuses it.
The sidecar's ``identity`` is a dict compared for equality with the one the running code
expects (format, hash, variant, and any field a later change adds); its ``files`` maps every
file of the entry that is executed, unmarshalled or unpickled to its size and BLAKE3 digest.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cubie_hash._core import digest

__all__ = ["SEAL", "check_files", "file_record", "seal", "unseal", "valid_file_name"]

SEAL = "sealed_blake3"
_PYCACHE = "__pycache__/"
# What Numba names its cache files: <module stem>.<qualname>-<line>.py<XY>[.<n>].nbi/.nbc
# (and .lcs for CUDA); nothing with a path separator or a leading dot.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
# The module's compiled code for one interpreter: <module stem>.<cache tag>.pyc (``bytecode``).
_CODE = re.compile(r"[A-Za-z0-9_\-]+\.pyc")


def _body(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != SEAL}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def seal(record: dict[str, Any]) -> bytes:
    """The file content of ``record``, sealed with the digest of its fields.

    Example:
        >>> unseal(seal({"fn_hash": "ab"}))
        {'fn_hash': 'ab'}
        >>> unseal(seal({"fn_hash": "ab"}).replace(b"ab", b"ac"))
        'its seal does not match its content (corrupt or edited)'
    """
    sealed = {**record, SEAL: digest(_body(record), "blake3")}
    return json.dumps(sealed, sort_keys=True, indent=1).encode("ascii")


def unseal(data: bytes) -> dict[str, Any] | str:
    """The record in ``data`` (without its seal), or the reason it cannot be trusted."""
    try:
        record = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as err:
        return f"not valid JSON ({err})"
    if not isinstance(record, dict):
        return "not a JSON object"
    if SEAL not in record:
        return "it has no seal (written by an older cubie_hash, or edited)"
    if record.get(SEAL) != digest(_body(record), "blake3"):
        return "its seal does not match its content (corrupt or edited)"
    record.pop(SEAL)
    return record


def valid_file_name(name: object, stem: str) -> bool:
    """Whether ``name`` may be a file of the entry whose module is ``<stem>.py``.

    Example:
        >>> valid_file_name("__pycache__/cpu_float64.dxdt-25.py311.nbi", "cpu_float64")
        True
        >>> valid_file_name("cpu_float64.cpython-311.pyc", "cpu_float64")
        True
        >>> valid_file_name("__pycache__/../../x", "cpu_float64")
        False
    """
    if not isinstance(name, str):
        return False
    code = name.startswith(f"{stem}.") and _CODE.fullmatch(name[len(stem) + 1 :]) is not None
    if name == f"{stem}.py" or code:
        return True
    base = name[len(_PYCACHE) :]
    return (
        name.startswith(_PYCACHE)
        and base.startswith(f"{stem}.")
        and _NAME.fullmatch(base) is not None
    )


def file_record(data: bytes) -> dict[str, Any]:
    """What a manifest records about one file: its size and BLAKE3 digest."""
    return {"bytes": len(data), "blake3": digest(data, "blake3")}


def check_files(manifest: object, stem: str) -> dict[str, dict[str, Any]] | str:
    """The manifest's ``{name: record}`` when well-formed, or the reason it is not."""
    if not isinstance(manifest, dict) or f"{stem}.py" not in manifest:
        return "its manifest is missing or does not list the module"
    for name, record in manifest.items():
        if not valid_file_name(name, stem):
            return f"its manifest names an unexpected file {name!r}"
        if not (
            isinstance(record, dict)
            and isinstance(record.get("bytes"), int)
            and isinstance(record.get("blake3"), str)
        ):
            return f"its manifest record of {name} is malformed"
    return manifest
