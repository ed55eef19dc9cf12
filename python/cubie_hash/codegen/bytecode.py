"""A generated module's compiled Python code, kept in its entry: a warm load skips ``compile``.

Compiling the source of a 340-equation module takes about 12 ms, half of a warm load.  An entry
therefore keeps, per interpreter (``sys.implementation.cache_tag``), a ``<stem>.<tag>.pyc`` file:
the interpreter's magic number, the BLAKE3 of the source it was compiled from, and the
``marshal`` data of the module's code object.  The manifest covers it like every other file, so
its bytes are verified before ``marshal`` reads them; a header naming another interpreter or
another source is ignored and the source compiled again.  The code is compiled for a
placeholder file name and re-pointed at each load to the private copy the module runs from
(Numba finds its cache beside ``co_filename``).
"""

from __future__ import annotations

import importlib.util
import marshal
import sys
import types

from cubie_hash._core import digest

__all__ = ["compiled", "file_name", "load"]

MAGIC = importlib.util.MAGIC_NUMBER
_PLACEHOLDER = "<cubie_hash generated module>"


def file_name(stem: str) -> str | None:
    """The entry's file of compiled code for this interpreter, or None where it has no cache tag.

    Example:
        >>> file_name("cpu_float64") == f"cpu_float64.{sys.implementation.cache_tag}.pyc"
        True
    """
    tag = sys.implementation.cache_tag
    return None if tag is None else f"{stem}.{tag}.pyc"


def _header(source: bytes) -> bytes:
    return MAGIC + digest(source, "blake3").encode("ascii")


def compiled(source: bytes, filename: str) -> tuple[types.CodeType, bytes]:
    """The code of ``source`` as the module file ``filename``, and the bytes to store for it.

    Example:
        >>> code, data = compiled(b"x = 1\\n", "/tmp/m.py")
        >>> load(data, b"x = 1\\n", "/tmp/n.py").co_filename
        '/tmp/n.py'
    """
    code = compile(source, _PLACEHOLDER, "exec", dont_inherit=True)
    return _retarget(code, filename), _header(source) + marshal.dumps(code)


def load(data: bytes | None, source: bytes, filename: str) -> types.CodeType | None:
    """The code stored in ``data`` (verified bytes) if it was compiled from ``source`` by this
    interpreter, re-pointed at ``filename``; None otherwise.

    Example:
        >>> _, data = compiled(b"x = 1\\n", "/tmp/m.py")
        >>> load(data, b"x = 2\\n", "/tmp/m.py") is None
        True
    """
    header = _header(source)
    if data is None or not data.startswith(header):
        return None
    try:
        code = marshal.loads(memoryview(data)[len(header) :])
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(code, types.CodeType) or code.co_filename != _PLACEHOLDER:
        return None
    return _retarget(code, filename)


def _retarget(code: types.CodeType, filename: str) -> types.CodeType:
    # Functions nest a level or two in a generated module: the recursion is that shallow.
    consts = tuple(
        _retarget(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=consts)
