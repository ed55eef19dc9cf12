"""Build one bundled system with CuBIE in this process and report what its cache did.

``python tests/cubie_child.py MODE SYSTEM FORM`` — MODE ``front`` (cubie_hash's canonical
front door) or ``stock`` (CuBIE's own ``create_ODE_system``), SYSTEM a name from
``cubie_hash.ode.examples.EXAMPLES``, FORM ``text``, ``shuffled`` or ``importer``.  Run with
``NUMBA_ENABLE_CUDASIM=1`` and ``CUBIE_CACHE_DIR`` set; prints one JSON line.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from typing import Any

import ode_importer
from cubie_hash.ode.examples import EXAMPLES


def lines(kw: dict[str, Any]) -> list[str]:
    text = kw["dxdt"] if isinstance(kw["dxdt"], str) else "\n".join(kw["dxdt"])
    return [line for line in text.splitlines() if line.strip()]


def dxdt(kw: dict[str, Any], form: str) -> Any:
    text = lines(kw)
    if form == "text":
        return "\n".join(text)
    if form == "shuffled":  # a fixed shuffle: reversed, with extra spaces
        return "\n".join("  " + line.replace("=", " =  ") for line in reversed(text))
    if form == "importer":
        return ode_importer.unevaluated_pairs("\n".join(text))
    raise SystemExit(f"unknown form {form}")


def main(mode: str, system: str, form: str) -> None:
    kw = EXAMPLES[system]()
    declared = {
        "states": kw["states"],
        "observables": kw.get("observables"),
        "drivers": kw.get("drivers"),
    }
    start = time.perf_counter()
    if mode == "front":
        from cubie_hash.integrations.cubie import create_ODE_system

        ode = create_ODE_system(
            dxdt(kw, form),
            parameters=kw.get("parameters"),
            constants=kw.get("constants"),
            **declared,
        )
    else:
        from cubie import create_ODE_system

        parameters = kw.get("parameters") or {}
        if not isinstance(parameters, dict):
            parameters = dict.fromkeys(parameters, 0.0)
        ode = create_ODE_system(
            dxdt(kw, form), parameters={**parameters, **kw.get("constants", {})}, **declared
        )
    created = time.perf_counter()
    cached = ode.gen_file.function_is_cached("dxdt_factory")
    ode.dxdt_fn  # noqa: B018 - the property generates (or loads) and compiles the source
    built = time.perf_counter()
    path = ode.gen_file.file_path
    data = path.read_bytes()
    print(
        json.dumps(
            {
                "name": ode.name,
                "file": str(path),
                "cached_before": cached,
                "sha256": hashlib.sha256(data).hexdigest(),
                "mtime_ns": path.stat().st_mtime_ns,
                "cubie_fn_hash": ode.fn_hash,
                "create_s": created - start,
                "build_s": built - created,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
