"""Model identifiers ``NAME:key=value+..._SEED_DATA``: parsed form, flags and wildcard helpers.

Parsing and hashing run in the Rust core; this module gives them a Snakefile-friendly shape.

Example:
    >>> ident = ModelIdentifier.parse("DyRCNNx8:tsteps=20+dt=2_42_imagenette")
    >>> ident.hashed_name()
    'DyRCNNx8:hash=3fce9ecb'
    >>> ident.flags()
    ['--tsteps', '20', '--dt', '2']
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cubie_hash._core import (
    args_to_flags,
    compute_hash,
    format_identifier,
    parse_identifier,
)
from cubie_hash.errors import IdentifierError

if TYPE_CHECKING:
    from cubie_hash._core import AlgorithmName

__all__ = [
    "DATA_NAME_REGEX",
    "MODEL_ARGS_REGEX",
    "MODEL_NAME_REGEX",
    "SEED_REGEX",
    "ModelIdentifier",
    "hash_regex",
    "hashed_identifier",
    "model_identifier_regex",
    "parse_arguments",
    "wildcard_constraints",
    "wildcard_value",
]

#: A model name: no ``:``, ``_``, ``+``, ``=`` or ``/`` (each would move a boundary).
MODEL_NAME_REGEX = r"[^:_+=/]+"
#: The argument text after the model name (``:k=v+...``); never a hash token.
MODEL_ARGS_REGEX = r":(?!hash=)[^/]+"
#: Seed and data name: no ``_`` (they are the last two ``_``-separated parts) and no ``/``.
SEED_REGEX = r"[^_/]+"
DATA_NAME_REGEX = r"[^_/]+"


@dataclass(frozen=True)
class ModelIdentifier:
    """A parsed full identifier; ``str()`` gives the text back unchanged.

    Example:
        >>> str(ModelIdentifier("M", (("a", "1"),), "42", "cifar"))
        'M:a=1_42_cifar'
    """

    name: str
    params: tuple[tuple[str, str], ...]
    seed: str
    data: str

    def __post_init__(self) -> None:
        # Refuse at construction what could not be written and parsed back.
        format_identifier(self.name, list(self.params), self.seed, self.data)

    @classmethod
    def parse(cls, text: str) -> ModelIdentifier:
        """Parse ``NAME[:k=v+...]_SEED_DATA``; :class:`IdentifierError` names the position.

        Example:
            >>> ModelIdentifier.parse("M:a=1+b=x_y_7_data").params
            (('a', '1'), ('b', 'x_y'))
        """
        name, _args, params, seed, data = parse_identifier(text)
        return cls(name, tuple(params), seed, data)

    def __str__(self) -> str:
        return format_identifier(self.name, list(self.params), self.seed, self.data)

    @property
    def args(self) -> str:
        """The argument text as a ``{model_args}`` wildcard holds it (``':a=1+b=2'``)."""
        return (":" + "+".join(f"{k}={v}" for k, v in self.params)) if self.params else ""

    def hash(
        self, length: int = 8, algorithm: AlgorithmName = "md5", canonical: bool = False
    ) -> str:
        """``compute_hash(args, seed, data)``: the seed's hash of this model.

        Example:
            >>> ModelIdentifier.parse("M:tsteps=20+dt=2_42_imagenette").hash()
            ':hash=3fce9ecb'
        """
        return compute_hash(
            self.args, self.seed, self.data, length=length, algorithm=algorithm, canonical=canonical
        )

    def hashed_name(
        self, length: int = 8, algorithm: AlgorithmName = "md5", canonical: bool = False
    ) -> str:
        """``NAME:hash=<hex>``, the name of the hashed folder link."""
        return self.name + self.hash(length, algorithm, canonical)

    def flags(self) -> list[str]:
        """The parameters as command-line flags (``['--tsteps', '20', ...]``)."""
        return args_to_flags(self.args)


def wildcard_value(wildcards: object, name: str) -> str:
    """One wildcard's value from a Snakemake ``Wildcards`` object, a mapping or a namespace.

    Example:
        >>> wildcard_value({"seed": 42}, "seed")
        '42'
    """
    try:
        if isinstance(wildcards, Mapping):
            return str(wildcards[name])
        return str(getattr(wildcards, name))
    except (KeyError, AttributeError):
        raise IdentifierError(f"wildcard {name!r} is not set (have: {wildcards!r})") from None


def parse_arguments(wildcards: object, key: str = "model_args") -> str:
    """Shell-ready flags for a ``key=value+...`` wildcard, like the seed's ``parse_arguments``.

    ``wildcards`` is a Snakemake ``Wildcards`` object (or mapping); a plain ``str`` is parsed
    as the argument text itself.  Values are shell-quoted.

    Example:
        >>> parse_arguments({"model_args": ":tsteps=20+dt=2"})
        '--tsteps 20 --dt 2'
        >>> parse_arguments("+a=x y")
        "--a 'x y'"
    """
    text = wildcards if isinstance(wildcards, str) else wildcard_value(wildcards, key)
    return " ".join(shlex.quote(f) for f in args_to_flags(text))


def hash_regex(length: int = 8) -> str:
    """The regex of a hash token ``:hash=<hex>`` of ``length`` hex digits."""
    return f":hash=[0-9a-f]{{{length}}}"


def model_identifier_regex(length: int = 8) -> str:
    """The polymorphic ``{model_identifier}`` wildcard: ``:hash=<hex>`` or ``:ARGS_SEED_DATA``.

    Example:
        >>> import re
        >>> bool(re.fullmatch(model_identifier_regex(), ":hash=3fce9ecb"))
        True
        >>> bool(re.fullmatch(model_identifier_regex(), ":tsteps=20+dt=2_42_imagenette"))
        True
    """
    return f"(?:{hash_regex(length)}|{MODEL_ARGS_REGEX}_{SEED_REGEX}_{DATA_NAME_REGEX})"


def wildcard_constraints(length: int = 8, identifier: str = "model_identifier") -> dict[str, str]:
    """Constraints for a Snakefile's ``wildcard_constraints:`` that keep patterns unambiguous.

    Covers ``model_name``, ``model_args``, ``seed``, ``data_name`` and the polymorphic
    ``identifier`` wildcard (full or hashed form).

    Example:
        >>> sorted(wildcard_constraints())
        ['data_name', 'model_args', 'model_identifier', 'model_name', 'seed']
    """
    return {
        "model_name": MODEL_NAME_REGEX,
        "model_args": MODEL_ARGS_REGEX,
        "seed": SEED_REGEX,
        "data_name": DATA_NAME_REGEX,
        identifier: model_identifier_regex(length),
    }


def hashed_identifier(
    wildcards: object,
    args: str = "model_args",
    seed: str = "seed",
    data: str = "data_name",
    *,
    length: int = 8,
    algorithm: AlgorithmName = "md5",
    canonical: bool = False,
) -> str:
    """``compute_hash`` of the named wildcards: the hashed ``{model_identifier}``.

    For input functions and ``params:`` lambdas (``lambda w: hashed_identifier(w)``).

    Example:
        >>> hashed_identifier({"model_args": ":tsteps=20+dt=2", "seed": 42,
        ...                    "data_name": "imagenette"})
        ':hash=3fce9ecb'
    """
    return compute_hash(
        wildcard_value(wildcards, args),
        wildcard_value(wildcards, seed),
        wildcard_value(wildcards, data),
        length=length,
        algorithm=algorithm,
        canonical=canonical,
    )
