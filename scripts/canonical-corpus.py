"""A differential check of the text front end: canonical encodings of a fixed corpus.

Records, for every text of a fixed corpus, its canonical encoding (hex) or the refusal it
gets, so that two builds can be compared byte for byte after a change that must not move
any hash (a speed-up, a refactor):

    .venv/bin/python scripts/canonical-corpus.py before.json 5000   # on the old build
    .venv/bin/python scripts/canonical-corpus.py after.json 5000    # on the new build
    .venv/bin/python scripts/canonical-corpus.py --diff before.json after.json

Run from the repository root.  The corpus: every right-hand side of the bundled example
models, texts drawn from the hypothesis grammar of tests/test_ode_text.py with
derandomize=True (the same texts on every run of one version of this script and of that
grammar: compare dumps made by the same version), and hand-picked corners; about 5,750 texts
for 5000 draws.
"""

import json
import sys
from pathlib import Path


def corpus(n_generated: int) -> list[str]:
    from cubie_hash.ode import examples

    texts: list[str] = []
    for name in dir(examples):
        fn = getattr(examples, name)
        if callable(fn) and not name.startswith("_"):
            try:
                kw = fn() if name != "generated" else fn(340)
            except TypeError:
                continue
            if isinstance(kw, dict) and isinstance(kw.get("dxdt"), str):
                for line in kw["dxdt"].splitlines():
                    if "=" in line and not line.strip().startswith("#"):
                        texts.append(line.split("=", 1)[1].split("#")[0].strip())
    sys.path.insert(0, str(Path.cwd() / "tests"))
    import test_ode_text as t
    from hypothesis import HealthCheck, given, settings

    drawn: list[str] = []

    @settings(
        max_examples=n_generated,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(t.expression(), t.plain_arith(4))
    def collect(a: str, b: str) -> None:
        drawn.append(a)
        drawn.append(b)

    collect()
    corners = [
        "-x",
        "x - x",
        "2*x - 2*x",
        "0.3 + x - 0.3",
        "x**2*x**-2",
        "(a+b)*(2*a+2*b)**-1",
        "0.001*(-a - b)/C*x",
        "1/3 + 1/6",
        "10**10**2",
        "6.022*10**23*x",
        "1e400*x",
        "exp(-4.0 - 0.1*V)",
        "Min(x, Min(y, x))",
        "a if x > 1 else b",
        "Piecewise((a, x < 1), (b, True))",
        "x ^ 2",
        "x // 3",
        "x % 2",
        "-(-(-x))",
        "2**-1",
        "(-1)**(1/2)",
        "0.1 ** -x",
        "1_000.5e-3",
        "x*((1.1**64)**64)**64",
    ]
    return texts + drawn + corners


def dump(out: str, n: int) -> None:
    from cubie_hash import _core

    res = {}
    for text in corpus(n):
        try:
            res[text] = _core.ode_encode_text(text).hex()
        except Exception as err:  # noqa: BLE001
            res[text] = f"!{type(err).__name__}: {err}"
    Path(out).write_text(json.dumps(res, sort_keys=True))
    print(len(res), "texts")


def diff(a: str, b: str) -> int:
    da, db = json.loads(Path(a).read_text()), json.loads(Path(b).read_text())
    bad = [k for k in da if k in db and da[k] != db[k]]
    print(f"{len(da)} vs {len(db)} texts, {len(set(da) & set(db))} shared, {len(bad)} differ")
    for k in bad[:20]:
        print(repr(k), "\n  A:", da[k][:200], "\n  B:", db[k][:200])
    return 1 if bad or set(da) != set(db) else 0


if __name__ == "__main__":
    if sys.argv[1] == "--diff":
        sys.exit(diff(sys.argv[2], sys.argv[3]))
    dump(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4000)
