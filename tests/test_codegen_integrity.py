"""The codegen cache executes or unpickles only what it verified, for exactly the system asked for.

Corruptions run in child processes: a crash (SIGSEGV in LLVM, say) is a failed test, not a lost
run.  Numbers are compared bit for bit with a clean build of the same entry.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cubie_hash import CacheError
from cubie_hash.codegen import CacheWarning, CodegenCache, bytecode, load_system
from cubie_hash.codegen.manifest import file_record, seal, unseal
from cubie_hash.ode import parse_equations, prehash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SMALL: dict[str, Any] = {
    "dxdt": ["dx = -k*x + y", "dy = -c*y"],
    "states": ["x", "y"],
    "parameters": ["k", "c"],
}
MODULE, SIDECAR = "cpu_float64.py", "cpu-float64.json"

CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np
    from cubie_hash.codegen import CodegenCache, load_system
    spec = json.loads(sys.argv[2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        system = load_system(**spec, cache=CodegenCache(sys.argv[1]))
        final = system.integrate(np.array([[1.0, 0.5]]), [0.7, 1.3], dt=0.01, n_steps=100)
        # A fresh cache object re-reads and re-verifies the entry from disk: the next process.
        again = CodegenCache(sys.argv[1]).load_hash(system.fn_hash)
    print(json.dumps({
        "kind": system.event.kind, "parsed": system.event.parsed, "fn_hash": system.fn_hash,
        "numbers": final.tolist(), "again": None if again is None else again.event.kind,
        "warnings": [[w.category.__name__, str(w.message)] for w in caught],
    }))
    """
)


def child_load(root: Path, spec: dict[str, Any] = SMALL, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), json.dumps(spec)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    # A non-zero status is a crash or a raw error: never acceptable, whatever was damaged.
    assert out.returncode == 0, f"status {out.returncode}\n{out.stderr[-3000:]}"
    return json.loads(out.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def template() -> Iterator[tuple[Path, dict[str, Any]]]:
    """A clean cache holding SMALL, and what a clean load of it returns."""
    with tempfile.TemporaryDirectory(prefix="cubie-integrity-") as tmp:
        root = Path(tmp) / "cache"
        first = child_load(root)
        assert first["kind"] == "miss" and first["again"] == "hit"
        clean = child_load(root)
        assert clean["kind"] == "hit" and not clean["parsed"] and clean["warnings"] == []
        assert clean["numbers"] == first["numbers"]
        yield root, clean


def entry_files(root: Path, fn_hash: str) -> dict[str, list[Path]]:
    entry = root / "entries" / fn_hash
    pycache = sorted((entry / "__pycache__").iterdir())
    return {
        "module": [entry / MODULE],
        "code": sorted(entry.glob("*.pyc")),
        "sidecar": [entry / SIDECAR],
        "index": [p for p in pycache if p.suffix == ".nbi"],
        "data": [p for p in pycache if p.suffix == ".nbc"],
        "prehashes": [entry / "prehashes.json"],
        "record": sorted((root / "prehash").iterdir()),
        "log": [entry / "generations.log"],
    }


VERIFIED = ("module", "code", "sidecar", "index", "data")


def copy_of(template: tuple[Path, dict[str, Any]], where: Path) -> tuple[Path, dict[str, Any]]:
    root, clean = template
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(root, where, symlinks=True)
    return where, clean


def check_after_damage(result: dict[str, Any], clean: dict[str, Any], kind: str) -> None:
    assert result["numbers"] == clean["numbers"], "wrong numbers from a damaged entry"
    assert result["fn_hash"] == clean["fn_hash"]
    assert all(cat == "CacheWarning" for cat, _ in result["warnings"]), result["warnings"]
    assert result["again"] == "hit", "the rebuilt entry must serve the next load"
    if kind in VERIFIED and kind != "sidecar":
        # Every byte of these is covered by the manifest: damage is always seen and repaired.
        assert result["kind"] == "miss" and result["warnings"], result


# -- every file of an entry: bit flips, truncations, deletions -------------------------------


@pytest.mark.parametrize("kind", [*VERIFIED, "prehashes", "record"])
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_bit_flip_anywhere_is_repaired_never_used(
    template: tuple[Path, dict[str, Any]], tmp_path_factory: Any, kind: str, data: Any
) -> None:
    root, clean = copy_of(template, tmp_path_factory.mktemp("flip") / "cache")
    path = data.draw(st.sampled_from(entry_files(root, clean["fn_hash"])[kind]), label="file")
    content = bytearray(path.read_bytes())
    position = data.draw(st.integers(0, len(content) - 1), label="position")
    content[position] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    path.write_bytes(bytes(content))
    check_after_damage(child_load(root), clean, kind)


@pytest.mark.parametrize("kind", [*VERIFIED, "prehashes", "record"])
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_truncation_is_repaired_never_used(
    template: tuple[Path, dict[str, Any]], tmp_path_factory: Any, kind: str, data: Any
) -> None:
    root, clean = copy_of(template, tmp_path_factory.mktemp("cut") / "cache")
    path = data.draw(st.sampled_from(entry_files(root, clean["fn_hash"])[kind]), label="file")
    content = path.read_bytes()
    path.write_bytes(content[: data.draw(st.integers(0, len(content) - 1), label="length")])
    result = child_load(root)
    check_after_damage(result, clean, kind)
    if kind == "sidecar":
        assert result["kind"] == "miss"


def test_a_missing_numba_file_is_repaired(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, clean = copy_of(template, tmp_path / "cache")
    entry_files(root, clean["fn_hash"])["data"][0].unlink()
    result = child_load(root)
    check_after_damage(result, clean, "data")
    assert "missing" in result["warnings"][0][1]


def reseal(sidecar: Path, change: Any) -> None:
    """Rewrite a sidecar as a consistent one after ``change(meta)``: what a bad build would do."""
    meta = unseal(sidecar.read_bytes())
    assert isinstance(meta, dict)
    change(meta)
    sidecar.write_bytes(seal(meta))


def test_a_verified_numba_cache_that_fails_to_load_is_rebuilt(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    # Bytes that match the manifest but that Numba cannot load (as if Numba had written a
    # broken file): the error is a CacheWarning and a rebuild, never a raw error.
    root, clean = copy_of(template, tmp_path / "cache")
    entry = root / "entries" / clean["fn_hash"]
    data = entry_files(root, clean["fn_hash"])["data"][0]
    data.write_bytes(data.read_bytes()[:16])
    name = f"__pycache__/{data.name}"
    reseal(entry / SIDECAR, lambda m: m["files"].__setitem__(name, file_record(data.read_bytes())))
    result = child_load(root)
    check_after_damage(result, clean, "data")
    assert result["kind"] == "miss"
    assert "Numba could not load" in result["warnings"][0][1]


@pytest.mark.parametrize("other", ["source", "interpreter"])
def test_compiled_code_of_another_source_or_interpreter_is_never_run(
    template: tuple[Path, dict[str, Any]], tmp_path: Path, other: str
) -> None:
    # A consistent manifest whose code file came from other source (a bad build, an edit
    # resealed) or another interpreter: its header says so, so the module's own verified source
    # is compiled and run instead, and the entry's code file is replaced by the right one.
    root, clean = copy_of(template, tmp_path / "cache")
    entry = root / "entries" / clean["fn_hash"]
    (code_path,) = entry_files(root, clean["fn_hash"])["code"]
    marker = tmp_path / "payload-ran"
    if other == "source":
        payload = f"open({str(marker)!r}, 'w').close()\n".encode()
        forged = bytecode.compiled(payload, "payload.py")[1]
    else:
        forged = b"\x00\x00\r\n" + code_path.read_bytes()[4:]
    code_path.write_bytes(forged)
    reseal(entry / SIDECAR, lambda m: m["files"].__setitem__(code_path.name, file_record(forged)))
    result = child_load(root)
    assert not marker.exists()
    assert result["kind"] == "hit" and result["warnings"] == []
    assert result["numbers"] == clean["numbers"]
    stored = code_path.read_bytes()
    assert stored != forged
    assert bytecode.load(stored, (entry / MODULE).read_bytes(), "m.py") is not None


def test_a_warm_load_runs_the_stored_code_without_compiling(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, clean = copy_of(template, tmp_path / "cache")
    source = (root / "entries" / clean["fn_hash"] / MODULE).read_bytes()
    guard = textwrap.dedent(
        f"""
        import builtins, runpy, sys
        real = builtins.compile
        def compile(src, *args, **kwargs):
            if src == {source!r}:
                raise AssertionError("the module was compiled again on a warm load")
            return real(src, *args, **kwargs)
        builtins.compile = compile
        sys.argv = ["child", {str(root)!r}, {json.dumps(json.dumps(SMALL))}]
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", guard + CHILD], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["kind"] == "hit" and result["warnings"] == []
    assert result["numbers"] == clean["numbers"]


def test_another_identity_is_rebuilt(template: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root, clean = copy_of(template, tmp_path / "cache")
    entry = root / "entries" / clean["fn_hash"]
    reseal(entry / SIDECAR, lambda m: m["identity"].__setitem__("generator", "elsewhere"))
    result = child_load(root)
    check_after_damage(result, clean, "sidecar")
    assert result["kind"] == "miss"


def test_numba_code_missing_for_this_machine_is_added_to_the_entry(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    # An entry built where Numba wrote nothing usable here (another CPU, another Numba): the
    # load compiles in its private copy and stores what it compiled, so the next one loads it.
    root, clean = copy_of(template, tmp_path / "cache")
    entry = root / "entries" / clean["fn_hash"]
    shutil.rmtree(entry / "__pycache__")
    reseal(
        entry / SIDECAR,
        lambda m: m.__setitem__("files", {k: v for k, v in m["files"].items() if "/" not in k}),
    )
    result = child_load(root)
    assert result["kind"] == "hit" and result["warnings"] == []
    assert result["numbers"] == clean["numbers"]
    meta = unseal((entry / SIDECAR).read_bytes())
    assert isinstance(meta, dict)
    assert {Path(k).suffix for k in meta["files"]} == {".py", ".pyc", ".nbi", ".nbc"}


def test_code_added_by_a_process_that_waited_for_the_lock_is_stored(tmp_path: Path) -> None:
    # The entry appears while this process waits for the build lock, and lacks Numba code for
    # this machine: the load runs it under the lock it holds, and must store what Numba
    # compiled without waiting for that same lock again (flock is per open file).
    cache = CodegenCache(tmp_path / "cache", lock_timeout=30)
    decay = parse_equations(**DECAY)
    cache.load(decay)
    entry = cache.entry_dir(decay.fn_hash)
    shutil.rmtree(entry / "__pycache__")
    reseal(
        entry / SIDECAR,
        lambda m: m.__setitem__("files", {k: v for k, v in m["files"].items() if "/" not in k}),
    )
    sidecar = (entry / SIDECAR).read_bytes()
    (entry / SIDECAR).unlink()
    results: list[Any] = []
    waiter = CodegenCache(tmp_path / "cache", lock_timeout=30)
    with open(tmp_path / "cache" / "locks" / f"{decay.fn_hash}.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        thread = threading.Thread(target=lambda: results.append(waiter.load(decay)))
        thread.start()
        while thread.ident is None or not any(
            frame.f_code.co_name == "hold"
            for frame in _stack(sys._current_frames().get(thread.ident))
        ):
            assert thread.is_alive()
            time.sleep(0.01)
        (entry / SIDECAR).write_bytes(sidecar)  # "another process" finished the build
    thread.join(timeout=120)
    (loaded,) = results
    assert loaded.event.kind == "hit" and "waited" in loaded.event.reason
    meta = unseal((entry / SIDECAR).read_bytes())
    assert isinstance(meta, dict)
    assert {Path(k).suffix for k in meta["files"]} == {".py", ".pyc", ".nbi", ".nbc"}


def _stack(frame: Any) -> Iterator[Any]:
    while frame is not None:
        yield frame
        frame = frame.f_back


def test_numba_cache_dir_is_not_where_entries_load_from(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, clean = copy_of(template, tmp_path / "cache")
    elsewhere = tmp_path / "numba-cache"
    result = child_load(root, env={"NUMBA_CACHE_DIR": str(elsewhere)})
    assert result["kind"] == "hit" and result["numbers"] == clean["numbers"]
    assert not elsewhere.exists() or not any(elsewhere.rglob("*.nb*"))


# -- the prehash index is a hint ---------------------------------------------------------------

DECAY: dict[str, Any] = {"dxdt": ["dx = -k*x"], "states": ["x"], "parameters": ["k"]}
GROWTH: dict[str, Any] = {"dxdt": ["dx = k*x"], "states": ["x"], "parameters": ["k"]}


def x_at_1(system: Any) -> float:
    return float(system.integrate(np.array([[1.0]]), [1.0], dt=1e-3, n_steps=1000)[0, 0])


def test_a_forged_prehash_record_never_loads_another_system(tmp_path: Path) -> None:
    cache = CodegenCache(tmp_path / "cache")
    growth = load_system(**GROWTH, cache=cache)
    key = prehash(DECAY["dxdt"], states=DECAY["states"], parameters=DECAY["parameters"])
    record = {"fn_hash": growth.fn_hash, "prehash": key}
    (tmp_path / "cache" / "prehash" / f"{key}.json").write_text(json.dumps(record))
    decay = load_system(**DECAY, cache=CodegenCache(tmp_path / "cache"))
    assert decay.fn_hash != growth.fn_hash and decay.event.parsed
    assert x_at_1(decay) == pytest.approx(math.exp(-1), rel=1e-9)
    # The record was rewritten: the next load skips parsing and still gets the right system.
    again = load_system(**DECAY, cache=CodegenCache(tmp_path / "cache"))
    assert not again.event.parsed and again.fn_hash == decay.fn_hash


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda t: t.replace('"fn_hash": "', '"fn_hash": "g'), id="not-hex"),
        pytest.param(lambda t: t[: len(t) // 2], id="truncated"),
        pytest.param(lambda t: "[]", id="not-an-object"),
        pytest.param(lambda t: t.replace('"prehash": "', '"prehash": "0'), id="other-key"),
    ],
)
def test_a_corrupt_prehash_record_is_reparsed_and_rewritten(tmp_path: Path, damage: Any) -> None:
    cache = CodegenCache(tmp_path / "cache")
    first = load_system(**DECAY, cache=cache)
    (record,) = (tmp_path / "cache" / "prehash").iterdir()
    record.write_text(damage(record.read_text()))
    second = load_system(**DECAY, cache=CodegenCache(tmp_path / "cache"))
    assert second.fn_hash == first.fn_hash and second.event.parsed
    assert second.event.kind == "hit" and not second.event.generated
    third = load_system(**DECAY, cache=CodegenCache(tmp_path / "cache"))
    assert not third.event.parsed


# -- the root: checked once, then bound --------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "dev-null", "dangling-symlink", "symlink-to-file"])
def test_a_bad_root_is_a_cache_error_naming_it(tmp_path: Path, kind: str) -> None:
    root = {
        "file": tmp_path / "plain-file",
        "dev-null": Path("/dev/null"),
        "dangling-symlink": tmp_path / "dangling",
        "symlink-to-file": tmp_path / "to-file",
    }[kind]
    (tmp_path / "plain-file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "to-file").symlink_to(tmp_path / "plain-file")
    with pytest.raises(CacheError, match=str(root)):
        CodegenCache(root)
    assert not (tmp_path / "nowhere").exists()
    cli = subprocess.run(
        [sys.executable, "-m", "cubie_hash.cli", "cache", "--root", str(root), "ls"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2 and str(root) in cli.stderr
    assert "Traceback" not in cli.stderr


def test_a_refused_root_is_left_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o777)
    with pytest.raises(CacheError, match="writable by other users"):
        CodegenCache(root)
    assert list(root.iterdir()) == []


def test_a_redirectable_parent_is_refused(tmp_path: Path) -> None:
    parent = tmp_path / "open"
    parent.mkdir()
    os.chmod(parent, 0o777)  # not sticky: anyone could rename our folder and put theirs
    with pytest.raises(CacheError, match="another user could redirect"):
        CodegenCache(parent / "mine")
    assert not (parent / "mine").exists()
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)  # like /tmp: what is ours there stays ours
    assert CodegenCache(sticky / "mine").resolved_root == sticky / "mine"


def test_a_root_repointed_after_the_check_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "other").mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    cache = CodegenCache(link)
    assert cache.resolved_root == tmp_path / "real"
    link.unlink()
    link.symlink_to(tmp_path / "other")
    system = cache.load(parse_equations(**DECAY))
    assert x_at_1(system) == pytest.approx(math.exp(-1), rel=1e-9)
    assert (tmp_path / "real" / "entries" / system.fn_hash).is_dir()
    assert list((tmp_path / "other").iterdir()) == []


def test_symlinks_inside_the_root_are_refused(tmp_path: Path) -> None:
    cache = CodegenCache(tmp_path / "cache")
    decay = parse_equations(**DECAY)
    cache.load(decay)
    entry = cache.entry_dir(decay.fn_hash)
    # Someone's copy of the entry, made to run a payload, behind a symlink.
    forged = tmp_path / "forged"
    shutil.copytree(entry, forged)
    module = forged / MODULE
    marker = tmp_path / "payload-ran"
    module.write_text(module.read_text() + f"\nopen({str(marker)!r}, 'w').close()\n")
    reseal(
        forged / SIDECAR, lambda m: m["files"].__setitem__(MODULE, file_record(module.read_bytes()))
    )
    shutil.rmtree(entry)
    entry.symlink_to(forged)
    with pytest.warns(CacheWarning, match="entry directory refused"):
        rebuilt = CodegenCache(tmp_path / "cache").load(decay)
    assert rebuilt.event.kind == "miss" and not marker.exists()
    assert entry.is_dir() and not entry.is_symlink() and (forged / MODULE).exists()
    for sub in ("entries", "prehash", "locks"):
        shutil.rmtree(tmp_path / "cache" / sub)
        (tmp_path / "cache" / sub).symlink_to(forged)
        with pytest.raises(CacheError, match=sub):
            CodegenCache(tmp_path / "cache")
        (tmp_path / "cache" / sub).unlink()


NOBODY = 65534


def nobodys_python() -> str:
    """An interpreter the user nobody may run (this one may live in root's home)."""
    for candidate in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if candidate is None:
            continue
        try:
            ran = subprocess.run(
                [candidate, "-c", "pass"], user=NOBODY, group=NOBODY, capture_output=True
            )
        except OSError:
            continue
        if ran.returncode == 0:
            return candidate
    pytest.skip("no Python interpreter that the user nobody can run")


def as_nobody(code: str) -> None:
    subprocess.run([nobodys_python(), "-c", code], user=NOBODY, group=NOBODY, check=True)


needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="the attacker runs as another user (nobody): needs the tests to run as root",
)


@needs_root
def test_another_users_swap_after_the_check_runs_nothing_of_theirs(tmp_path: Path) -> None:
    base = Path(tempfile.mkdtemp(prefix="cubie-swap-"))
    try:
        os.chmod(base, 0o755)
        shared = base / "shared"
        shared.mkdir()
        os.chmod(shared, 0o1777)  # a sticky shared directory, like /tmp
        root = shared / "cache"
        victim = CodegenCache(root)
        decay = parse_equations(**DECAY)
        victim.load(decay)
        later = CodegenCache(root)  # checked now, used after the swap
        # The attacker's self-consistent entry of the same system, with a payload.
        forged = base / "forged"
        shutil.copytree(root, forged)
        entry = forged / "entries" / decay.fn_hash
        module = entry / MODULE
        marker = base / "payload-ran"
        payload = f"\nopen({str(marker)!r}, 'w').close()\n"
        module.write_text(module.read_text() + payload)
        reseal(
            entry / SIDECAR,
            lambda m: m["files"].__setitem__(MODULE, file_record(module.read_bytes())),
        )
        for path in [forged, *forged.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        # The victim moves the cache away; the attacker puts theirs at the checked path.
        os.rename(root, shared / "cache.old")
        as_nobody(
            "import os, shutil\n"
            f"shutil.copytree({str(forged)!r}, {str(shared / 'forge')!r})\n"
            f"for d, _, _ in os.walk({str(shared / 'forge')!r}): os.chmod(d, 0o700)\n"
            f"os.rename({str(shared / 'forge')!r}, {str(root)!r})\n"
        )
        assert root.stat().st_uid == NOBODY
        system = later.load(decay)
        assert x_at_1(system) == pytest.approx(math.exp(-1), rel=1e-9)
        assert not marker.exists()
        with pytest.raises(CacheError, match="another user"):
            CodegenCache(root)
        # The attack as first reported: another user's symlink, pointed at a private folder.
        as_nobody(f"import os; os.symlink({str(shared / 'cache.old')!r}, {str(shared / 'link')!r})")
        with pytest.raises(CacheError, match="symlink owned by another user"):
            CodegenCache(shared / "link")
        assert not marker.exists()
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


# -- private directories whatever the umask ------------------------------------------------------


@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
def test_every_directory_made_is_private_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask: int
) -> None:
    # The default root, as on a fresh machine: nothing of the cache directory exists yet.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CUBIE_HASH_CACHE_DIR", raising=False)
    old = os.umask(umask)
    try:
        cache = CodegenCache()
        load_system(**DECAY, cache=cache)
    finally:
        os.umask(old)
    assert cache.resolved_root.is_relative_to(tmp_path / "xdg")
    for path in [tmp_path / "xdg", *(tmp_path / "xdg").rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_a_root_group_writable_by_the_umask_is_refused_with_the_fix(tmp_path: Path) -> None:
    root = tmp_path / "made-under-002"
    root.mkdir()
    os.chmod(root, 0o775)
    with pytest.raises(CacheError, match=r"writable by its group.*chmod go-w"):
        CodegenCache(root)
    assert list(root.iterdir()) == []
    assert CodegenCache(root, allow_shared=True).root == root


# -- locks, prune ------------------------------------------------------------------------------


def test_a_held_lock_is_a_cache_error_naming_its_file(tmp_path: Path) -> None:
    cache = CodegenCache(tmp_path / "cache", lock_timeout=0.2)
    decay = parse_equations(**DECAY)
    lock_file = tmp_path / "cache" / "locks" / f"{decay.fn_hash}.lock"
    with open(lock_file, "w") as holder:
        holder.write("pid 4242 on elsewhere\n")
        holder.flush()
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(CacheError, match=rf"{lock_file}.*pid 4242 on elsewhere"):
            cache.load(decay)
    assert cache.load(decay).event.kind == "miss"


def test_lock_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CUBIE_HASH_CACHE_LOCK_TIMEOUT", "7.5")
    assert CodegenCache(tmp_path / "a").lock_timeout == 7.5
    monkeypatch.setenv("CUBIE_HASH_CACHE_LOCK_TIMEOUT", "soon")
    with pytest.raises(CacheError, match="CUBIE_HASH_CACHE_LOCK_TIMEOUT"):
        CodegenCache(tmp_path / "b")
    with pytest.raises(CacheError, match="lock timeout"):
        CodegenCache(tmp_path / "c", lock_timeout=-1)


@pytest.mark.parametrize("age", [-1.0, float("nan")])
def test_prune_refuses_a_negative_age(tmp_path: Path, age: float) -> None:
    cache = CodegenCache(tmp_path / "cache")
    system = cache.load(parse_equations(**DECAY))
    with pytest.raises(CacheError, match="days >= 0"):
        cache.prune(age)
    cli = subprocess.run(
        [sys.executable, "-m", "cubie_hash.cli", "cache", "--root", str(cache.root), "prune"]
        + [f"--older-than={age}"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2 and "days >= 0" in cli.stderr and "Traceback" not in cli.stderr
    assert [e.fn_hash for e in cache.entries()] == [system.fn_hash]


# -- N processes: one corrupts while the others load -----------------------------------------

CORRUPTER = textwrap.dedent(
    """
    import os, random, sys, time
    root, rounds = sys.argv[1], int(sys.argv[2])
    rng = random.Random(7)
    for _ in range(rounds):
        files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, "entries"))
                 for f in fs if not f.startswith(".")]
        if files:
            path = rng.choice(files)
            try:
                with open(path, "r+b") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    if size:
                        handle.seek(rng.randrange(size))
                        byte = handle.read(1)
                        handle.seek(-1, 1)
                        handle.write(bytes([byte[0] ^ (1 << rng.randrange(8))]))
            except OSError:
                pass
        time.sleep(0.02)
    """
)


def test_loads_stay_right_while_another_process_corrupts(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, clean = copy_of(template, tmp_path / "cache")
    corrupter = subprocess.Popen([sys.executable, "-c", CORRUPTER, str(root), "150"])
    loaders = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), json.dumps(SMALL)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in loaders:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-3000:]
        result = json.loads(stdout.splitlines()[-1])
        assert result["numbers"] == clean["numbers"]
        assert all(cat == "CacheWarning" for cat, _ in result["warnings"])
    corrupter.wait(timeout=120)
    assert corrupter.returncode == 0
    # Once the corrupter is gone, the next load repairs whatever it left and serves the rest.
    final = child_load(root)
    assert final["numbers"] == clean["numbers"] and final["again"] == "hit"


def test_module_docstring_examples() -> None:
    import doctest

    from cubie_hash.codegen import bytecode, files, lock, manifest, root

    for module in (bytecode, files, lock, manifest, root):
        assert doctest.testmod(module).failed == 0, module.__name__
