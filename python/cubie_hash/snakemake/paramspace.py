"""The hashed counterpart of ``snakemake.utils.Paramspace``.

``Paramspace`` writes every column of a parameter table into the path and has no answer when
that overflows.  :class:`HashedParamspace` names each row ``hash=<hex>`` instead, keeps a TSV
manifest from hash to parameters, and gives the parameters back from ``wildcards``.

Example:
    >>> space = HashedParamspace([{"alpha": 1, "beta": 0.1}, {"alpha": 2, "beta": 0.1}])
    >>> space.wildcard_pattern
    'hash={params_hash}'
    >>> space.instance_patterns
    ['hash=3007eb6f', 'hash=18d746e3']
    >>> space.instance({"params_hash": "3007eb6f"})
    {'alpha': '1', 'beta': '0.1'}
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cubie_hash._core import compute_hashes, parse_args
from cubie_hash.errors import HashCollisionError, IdentifierError
from cubie_hash.snakemake.identifiers import wildcard_value

if TYPE_CHECKING:
    from cubie_hash._core import AlgorithmName

__all__ = ["HashedParamspace"]


def _records(table: Any) -> list[Mapping[str, Any]]:
    """Rows of a pandas DataFrame (duck-typed: pandas is not imported here) or of a list."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        records: list[Mapping[str, Any]] = table.to_dict("records")
        return records
    return list(table)


def _row_text(row: int, record: Mapping[str, Any], columns: list[str]) -> str:
    """``k=v+k=v`` in column order, refusing values that would not parse back."""
    if list(record) != columns:
        raise IdentifierError(f"row {row}: columns {list(record)} differ from row 0's {columns}")
    pairs = [(str(k), str(v)) for k, v in record.items()]
    text = "+".join(f"{k}={v}" for k, v in pairs)
    try:
        parsed = parse_args(text)
    except IdentifierError as err:
        raise IdentifierError(f"row {row}: {err}") from None
    if parsed != pairs or any(c in text for c in "\t\n\r"):
        raise IdentifierError(f"row {row}: a value holds '+', a tab or a newline: {pairs}")
    return text


class HashedParamspace:
    """Short ``hash=<hex>`` instance names for the rows of a parameter table.

    Args:
        table: a pandas DataFrame or a list of dicts, one row per parameter combination (every
            row with the same columns, in the same order).
        wildcard: the wildcard name in :attr:`wildcard_pattern`.
        length, algorithm, canonical: as for ``compute_hash``; each row is hashed as the text
            ``col=value+col=value`` (values ``str()``-ed).

    Raises:
        IdentifierError: a value that cannot round-trip (holds ``+``, ``=``, ``/``, a tab...).
        HashCollisionError: two different rows share a hash.
    """

    def __init__(
        self,
        table: Any,
        *,
        wildcard: str = "params_hash",
        length: int = 8,
        algorithm: AlgorithmName = "md5",
        canonical: bool = False,
    ) -> None:
        records = _records(table)
        columns = [str(c) for c in records[0]] if records else []
        texts = [_row_text(i, r, columns) for i, r in enumerate(records)]
        hashes = compute_hashes(
            [(t,) for t in texts], length=length, algorithm=algorithm, canonical=canonical
        )
        self.wildcard = wildcard
        self.length = length
        self.columns = columns
        self._texts: dict[str, str] = {}
        for token, text in zip(hashes, texts, strict=True):
            self._claim(token.removeprefix(":hash="), text, "the table")

    def _claim(self, hex_: str, text: str, where: str) -> None:
        known = self._texts.setdefault(hex_, text)
        if known != text:
            raise HashCollisionError(
                f"hash={hex_} stands for {known!r} and, in {where}, for {text!r}; "
                "use a longer hash length"
            )

    @property
    def wildcard_pattern(self) -> str:
        """The path piece for rules: ``'hash={params_hash}'``."""
        return f"hash={{{self.wildcard}}}"

    @property
    def instance_patterns(self) -> list[str]:
        """Every row's instance name (``'hash=<hex>'``), in table order, for ``expand()``."""
        return [f"hash={h}" for h in self._texts]

    @property
    def wildcard_constraints(self) -> dict[str, str]:
        """``{wildcard: '[0-9a-f]{length}'}`` for a Snakefile's ``wildcard_constraints:``."""
        return {self.wildcard: f"[0-9a-f]{{{self.length}}}"}

    def __len__(self) -> int:
        return len(self._texts)

    def instance(self, wildcards: object) -> dict[str, str]:
        """The parameters (as text) of the instance named by ``wildcards``, for ``params:``.

        Raises:
            IdentifierError: the hash is not one of this space's.
        """
        hex_ = wildcard_value(wildcards, self.wildcard).removeprefix("hash=")
        try:
            return dict(parse_args(self._texts[hex_]))
        except KeyError:
            raise IdentifierError(f"hash={hex_} is not in this parameter space") from None

    def write_manifest(self, path: str | os.PathLike[str]) -> Path:
        """Write (or extend) the TSV manifest ``hash``, then one column per parameter.

        Rows of an existing manifest are kept; one that gives a hash other values than the
        table raises :class:`HashCollisionError` and leaves the file untouched.  The file is
        replaced atomically.
        """
        path = Path(path)
        if path.exists():
            for hex_, text in self._read(path).items():
                self._claim(hex_, text, str(path))
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f, delimiter="\t", lineterminator="\n")
                writer.writerow(["hash", *self.columns])
                for hex_, text in self._texts.items():
                    writer.writerow([f"hash={hex_}", *(v for _, v in parse_args(text))])
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return path

    @staticmethod
    def _read(path: Path) -> dict[str, str]:
        with path.open(encoding="utf-8", newline="") as f:
            rows: Iterable[list[str]] = csv.reader(f, delimiter="\t")
            header, *body = list(rows)
        texts = {}
        for row in body:
            pairs = zip(header[1:], row[1:], strict=True)
            texts[row[0].removeprefix("hash=")] = "+".join(f"{k}={v}" for k, v in pairs)
        return texts

    @classmethod
    def from_manifest(
        cls, path: str | os.PathLike[str], *, wildcard: str = "params_hash"
    ) -> HashedParamspace:
        """The space a manifest describes (values as text), e.g. in a later workflow."""
        texts = cls._read(Path(path))
        records = [dict(parse_args(t)) for t in texts.values()]
        space = cls(records, wildcard=wildcard, length=len(next(iter(texts), "")) or 8)
        if set(space._texts) != set(texts):
            raise HashCollisionError(f"{path}: hashes do not match their parameters")
        return space
