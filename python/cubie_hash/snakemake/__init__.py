"""Everything a Snakefile needs for short model identifiers, in one import.

``from cubie_hash.snakemake import *`` brings the DynVision seed's helpers, made safe:
:func:`compute_hash` / :func:`compute_hashes` (Rust, byte-compatible with the seed),
identifier parsing and flags, the polymorphic ``{model_identifier}`` wildcard, hashed folder
links and their reverse lookup, hashed parameter spaces, path-length checks and the pre-flight
check of a whole workflow.  Each job lives in its own module of this package (``identifiers``,
``links``, ``paramspace``, ``paths``, ``workflow_check``); the package itself only gathers them.
It is named after the tool it serves and does not import Snakemake (``check_workflow`` does,
when called).

Example:
    >>> from cubie_hash.snakemake import compute_hash
    >>> compute_hash(":tsteps=20+dt=2", "42", "imagenette")
    ':hash=3fce9ecb'
"""

from __future__ import annotations

from cubie_hash._core import (
    args_to_flags,
    canonical_args,
    compute_hash,
    compute_hashes,
    format_identifier,
    parse_args,
    parse_identifier,
)
from cubie_hash.snakemake.identifiers import (
    DATA_NAME_REGEX,
    MODEL_ARGS_REGEX,
    MODEL_NAME_REGEX,
    SEED_REGEX,
    ModelIdentifier,
    hash_regex,
    hashed_identifier,
    model_identifier_regex,
    parse_arguments,
    wildcard_constraints,
)
from cubie_hash.snakemake.links import (
    LinkFallbackWarning,
    ResolvedLink,
    link_hashed,
    resolve,
    scan_links,
)
from cubie_hash.snakemake.paramspace import HashedParamspace
from cubie_hash.snakemake.paths import (
    NAME_MAX,
    PATH_MAX,
    PathProblem,
    check_identifier,
    check_paths,
)
from cubie_hash.snakemake.workflow_check import JobPathProblem, WorkflowReport, check_workflow

__all__ = [
    "DATA_NAME_REGEX",
    "MODEL_ARGS_REGEX",
    "MODEL_NAME_REGEX",
    "NAME_MAX",
    "PATH_MAX",
    "SEED_REGEX",
    "HashedParamspace",
    "JobPathProblem",
    "LinkFallbackWarning",
    "ModelIdentifier",
    "PathProblem",
    "ResolvedLink",
    "WorkflowReport",
    "args_to_flags",
    "canonical_args",
    "check_identifier",
    "check_paths",
    "check_workflow",
    "compute_hash",
    "compute_hashes",
    "format_identifier",
    "hash_regex",
    "hashed_identifier",
    "link_hashed",
    "model_identifier_regex",
    "parse_args",
    "parse_arguments",
    "parse_identifier",
    "resolve",
    "scan_links",
    "wildcard_constraints",
]
