"""HashedParamspace: short instance names, a TSV manifest, lookups from wildcards."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from cubie_hash import HashCollisionError, IdentifierError
from cubie_hash.snakemake import HashedParamspace, compute_hash

ROWS = [{"tsteps": 20, "dt": 2, "noise": "uniform"}, {"tsteps": 40, "dt": 2, "noise": "none"}]


def test_dataframe_and_list_of_dicts_agree() -> None:
    from_list = HashedParamspace(ROWS)
    from_frame = HashedParamspace(pd.DataFrame(ROWS))
    assert from_list.instance_patterns == from_frame.instance_patterns
    first = compute_hash("tsteps=20+dt=2+noise=uniform").removeprefix(":")
    assert from_list.instance_patterns[0] == first
    assert from_list.wildcard_pattern == "hash={params_hash}"
    assert from_list.wildcard_constraints == {"params_hash": "[0-9a-f]{8}"}


def test_instance_from_wildcards() -> None:
    space = HashedParamspace(ROWS, wildcard="ps")
    hex_ = space.instance_patterns[1].removeprefix("hash=")
    assert space.instance(SimpleNamespace(ps=hex_)) == {"tsteps": "40", "dt": "2", "noise": "none"}
    with pytest.raises(IdentifierError, match="not in this parameter space"):
        space.instance({"ps": "00000000"})


def test_manifest_round_trip_and_merge(tmp_path: Path) -> None:
    manifest = tmp_path / "space.tsv"
    HashedParamspace(ROWS[:1]).write_manifest(manifest)
    HashedParamspace(ROWS).write_manifest(manifest)  # extends, keeps the first row
    table = pd.read_csv(manifest, sep="\t")
    assert list(table.columns) == ["hash", "tsteps", "dt", "noise"]
    assert len(table) == 2
    again = HashedParamspace.from_manifest(manifest)
    assert again.instance_patterns == HashedParamspace(ROWS).instance_patterns


def test_manifest_that_disagrees_is_a_collision(tmp_path: Path) -> None:
    manifest = tmp_path / "space.tsv"
    space = HashedParamspace(ROWS)
    hash_ = space.instance_patterns[0]
    manifest.write_text(f"hash\ttsteps\tdt\tnoise\n{hash_}\t99\t2\tuniform\n")
    before = manifest.read_text()
    with pytest.raises(HashCollisionError, match="tsteps=99"):
        space.write_manifest(manifest)
    assert manifest.read_text() == before  # nothing half-written


def test_values_that_cannot_round_trip() -> None:
    with pytest.raises(IdentifierError, match="row 1"):
        HashedParamspace([{"a": "x"}, {"a": "x+b=2"}])
    with pytest.raises(IdentifierError, match="row 0"):
        HashedParamspace([{"a": "x/y"}])
    with pytest.raises(IdentifierError, match="columns"):
        HashedParamspace([{"a": 1}, {"b": 1}])
