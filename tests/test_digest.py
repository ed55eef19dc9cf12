"""digest / digest_many agree with hashlib and the blake3 package, and refuse bad input."""

from __future__ import annotations

import array
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import blake3
import cubie_hash
import numpy as np
import pytest
from cubie_hash import (
    ALGORITHMS,
    AlgorithmError,
    BufferLayoutError,
    CubieHashError,
    DigestLengthError,
    InputTypeError,
    digest,
    digest_many,
)
from hypothesis import given
from hypothesis import strategies as st

GOLDEN = json.loads((Path(__file__).parent / "golden" / "digests.json").read_text("utf-8"))


def reference(data: bytes, algorithm: str) -> str:
    if algorithm == "blake3":
        return blake3.blake3(data).hexdigest()
    return hashlib.new(algorithm, data).hexdigest()


def test_algorithms_are_the_documented_five() -> None:
    assert ALGORITHMS == ["md5", "sha256", "blake2b", "blake2s", "blake3"]


@pytest.mark.parametrize("vector", GOLDEN["vectors"], ids=lambda v: v["text"][:20] or "empty")
def test_golden_vectors(vector: dict[str, str]) -> None:
    for algorithm, expected in vector.items():
        if algorithm == "text":
            continue
        assert digest(vector["text"], algorithm, len(expected)) == expected
        assert digest(vector["text"].encode(), algorithm, len(expected)) == expected


@pytest.mark.parametrize("algorithm", ["md5", "sha256", "blake2b", "blake2s", "blake3"])
@pytest.mark.parametrize(
    "size", [0, 1, 63, 64, 65, 1023, 1024, 2047, 2048, 4096, 65537, 1 << 20, 64 << 20]
)
def test_sizes_from_empty_to_64_mib(algorithm: str, size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert digest(data, algorithm) == reference(data, algorithm)


@given(data=st.binary(max_size=4096), algorithm=st.sampled_from(ALGORITHMS))
def test_equals_reference_on_arbitrary_bytes(data: bytes, algorithm: str) -> None:
    assert digest(data, algorithm) == reference(data, algorithm)


@given(text=st.text(max_size=300), algorithm=st.sampled_from(ALGORITHMS))
def test_text_is_hashed_as_utf8(text: str, algorithm: str) -> None:
    assert digest(text, algorithm) == reference(text.encode("utf-8"), algorithm)


@given(
    items=st.lists(st.one_of(st.text(max_size=50), st.binary(max_size=50)), max_size=40),
    algorithm=st.sampled_from(ALGORITHMS),
    length=st.integers(1, 32),
)
def test_digest_many_equals_digest_in_order(
    items: list[str | bytes], algorithm: str, length: int
) -> None:
    assert digest_many(items, algorithm, length) == [digest(x, algorithm, length) for x in items]


def test_digest_many_large_batch_keeps_order() -> None:
    items = [f"tsteps={i}+dt=2_42_imagenette" for i in range(20_000)]
    expected = [hashlib.md5(x.encode()).hexdigest()[:8] for x in items]
    assert digest_many(items, length=8) == expected
    assert digest_many(iter(items), length=8) == expected  # any iterable, not only lists
    assert digest_many((x for x in items[:3]), "blake3") == [
        blake3.blake3(x.encode()).hexdigest() for x in items[:3]
    ]


def test_every_contiguous_buffer_is_accepted_without_copy_semantics() -> None:
    payload = b"The quick brown fox jumps over the lazy dog"
    expected = hashlib.md5(payload).hexdigest()
    arr = np.frombuffer(payload, dtype=np.uint8).copy()
    for obj in (payload, bytearray(payload), memoryview(payload), arr, array.array("B", payload)):
        assert digest(obj) == expected, type(obj)
    wide = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert digest(wide) == hashlib.md5(wide.tobytes()).hexdigest()


def test_strided_buffers_are_refused_not_copied() -> None:
    wide = np.arange(12, dtype=np.float64).reshape(3, 4)
    for strided in (wide[:, ::2], wide.T, memoryview(b"abcdef")[::2]):
        with pytest.raises(BufferLayoutError, match="contiguous"):
            digest(strided)
    assert issubclass(BufferLayoutError, BufferError)


@pytest.mark.parametrize("bad", [3, 1.5, None, ["a"], object()])
def test_non_bytes_input_is_a_typed_error(bad: object) -> None:
    with pytest.raises(InputTypeError, match="expected str or a bytes-like object"):
        digest(bad)  # type: ignore[arg-type]
    assert issubclass(InputTypeError, TypeError)


def test_batch_error_names_the_position() -> None:
    with pytest.raises(InputTypeError, match="item 2: expected str"):
        digest_many(["a", b"b", 3])


def test_unknown_algorithm_lists_the_allowed_ones() -> None:
    with pytest.raises(
        AlgorithmError, match="'?\"?crc32\"?'?.*md5, sha256, blake2b, blake2s, blake3"
    ):
        digest("x", "crc32")  # type: ignore[arg-type]
    with pytest.raises(AlgorithmError):
        digest("x", "MD5")  # type: ignore[arg-type]  # names are exact
    with pytest.raises(AlgorithmError):
        digest_many(["x"], "sha1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("algorithm", "bad"), [("md5", 0), ("md5", -1), ("md5", 33), ("blake3", 65), ("md5", True)]
)
def test_bad_length_names_the_range(algorithm: str, bad: int) -> None:
    with pytest.raises(DigestLengthError, match="from 1 to"):
        digest("x", algorithm, bad)  # type: ignore[arg-type]


def test_bad_length_type() -> None:
    with pytest.raises(DigestLengthError, match="or None, got '8'"):
        digest("x", "md5", "8")  # type: ignore[arg-type]


def test_full_length_per_algorithm() -> None:
    sizes = {"md5": 32, "sha256": 64, "blake2b": 128, "blake2s": 64, "blake3": 64}
    for algorithm, hex_len in sizes.items():
        assert len(digest("x", algorithm)) == hex_len
        assert digest("x", algorithm, hex_len) == digest("x", algorithm)


def test_errors_share_one_base() -> None:
    for name in cubie_hash.errors.__all__:
        cls = getattr(cubie_hash, name)
        assert issubclass(cls, CubieHashError) and issubclass(cls, ValueError)


def test_large_inputs_hash_in_parallel_threads() -> None:
    # The GIL is released for large inputs; several threads hashing at once must still be exact.
    data = [bytes([i]) * (4 << 20) for i in range(4)]
    results: dict[int, str] = {}

    def work(i: int) -> None:
        results[i] = digest(data[i], "blake3")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: blake3.blake3(data[i]).hexdigest() for i in range(4)}


def test_large_batch_of_mixed_inputs_keeps_order() -> None:
    # str items are borrowed from the batch itself, bytes-like ones through pinned buffers.
    kinds: tuple[Any, ...] = (bytes.decode, bytes, bytearray, memoryview)
    raw = [f"tsteps={i}+dt=2_42".encode() for i in range(12_000)]
    items = [kinds[i % 4](x) for i, x in enumerate(raw)]
    assert digest_many(items) == [hashlib.md5(x).hexdigest() for x in raw]


def test_few_large_inputs_are_hashed_apart() -> None:
    items = [bytes([i]) * (3 << 20) for i in range(3)]
    assert digest_many(items, "sha256") == [hashlib.sha256(x).hexdigest() for x in items]


def test_buffers_of_python_objects_are_refused() -> None:
    # An object-dtype array exports its items' memory addresses: a new digest every run.
    objects = np.array(["a", 1, None], dtype=object)
    with pytest.raises(InputTypeError, match="Python objects or pointers .*memory addresses"):
        digest(objects)
    with pytest.raises(InputTypeError, match="^item 1: .*memory addresses"):
        digest_many([b"x", objects])
    structured = np.zeros(2, dtype=[("label", object), ("x", np.float64)])
    with pytest.raises(InputTypeError, match="memory addresses"):
        digest(structured)
    # Field names are not formats: a field called "O" holding floats is plain numbers.
    named = np.zeros(2, dtype=[("O", np.float64), ("P", np.int32)])
    assert digest(named) == hashlib.md5(named.tobytes()).hexdigest()
    assert (
        digest(np.array([1, 2], dtype=np.uint64))
        == hashlib.md5(b"\1" + 7 * b"\0" + b"\2" + 7 * b"\0").hexdigest()
    )


def test_a_lone_surrogate_is_a_typed_error_naming_the_item() -> None:
    # Once a bare UnicodeEncodeError (digest) and "TypeError: function takes exactly 5
    # arguments (1 given)" (digest_many), which no `except CubieHashError` catches.
    with pytest.raises(InputTypeError, match=r"'\\ud800' at position 1 has no UTF-8"):
        digest("a\ud800")
    with pytest.raises(InputTypeError, match=r"^item 2: .*lone surrogate '\\udcff'"):
        digest_many(["a", b"b", "\udcff"])
    items: list[object] = ["x" * 10] * 5_000
    items[3_210] = "\ud800"  # inside a parallel batch
    with pytest.raises(InputTypeError, match=r"^item 3210: "):
        digest_many(items)
    assert (
        digest("\ud800".encode("utf-8", "surrogatepass"))
        == hashlib.md5(b"\xed\xa0\x80").hexdigest()
    )
