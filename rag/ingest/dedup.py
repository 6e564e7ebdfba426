"""Near-duplicate articles: the same agency text in several outlets, an article saved twice.

Each article gets a MinHash signature of its word 3-shingles (datasketch). Two articles
are copies when the estimated share of the *smaller* one's shingles found in the other
(containment, derived from the Jaccard estimate and the two shingle counts) reaches
``dedup_containment``: a shortened wire copy with another headline and some boilerplate
still counts; two outlets' own reports on the same event (shared facts and a quote, few
shared word sequences) do not. Chosen by measurement against Jaccard, SimHash and 5/7-word
shingles (bench/dedup_pairs.py). Candidates come from an LSH Ensemble index (containment
search), so a large corpus is not compared pair by pair.

A group of copies is represented by its earliest article (then the smallest doc id); the
others map to it in :func:`find_duplicates`' result.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..settings import IngestSettings
from ..types import Article

if TYPE_CHECKING:
    from datasketch import MinHash

log = logging.getLogger(__name__)

#: File in an index version folder with the signatures of its articles.
FILE = "minhash.npz"
SHINGLE = 3
_WORD = re.compile(r"\w+")
_SEED = 1
_SCHEME = "affine32"


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    """The article's word ``k``-shingles (lower case)."""
    words = _WORD.findall(text.lower())
    return {" ".join(words[i:i + k]) for i in range(max(1, len(words) - k + 1))}


@dataclass
class Signatures:
    """MinHash signatures of articles, by doc id, with the content hash they belong to."""

    doc_ids: list[str]
    hashes: list[str]
    #: (n, num_perm) uint64 hash values.
    values: np.ndarray
    #: Shingle count of each article.
    sizes: np.ndarray

    def save(self, path: Path) -> None:
        """Write to ``path`` (``.npz``)."""
        with open(path, "wb") as fh:
            np.savez(fh, doc_ids=np.array(self.doc_ids, dtype=object).astype(str),
                     hashes=np.array(self.hashes, dtype=str), values=self.values,
                     sizes=self.sizes)

    @classmethod
    def load(cls, path: Path) -> Signatures | None:
        """Read ``path``; ``None`` when it is missing or unreadable (then they are made anew)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(list(data["doc_ids"]), list(data["hashes"]), data["values"],
                           data["sizes"])
        except (OSError, KeyError, ValueError) as exc:
            log.debug("no usable signatures in %s: %s", path, exc)
            return None


def _minhash(words: set[str], num_perm: int) -> MinHash:
    # datasketch (which imports scipy, ~0.45 s) only where signatures are made: answering
    # a question needs the duplicate groups stored with the index, not this.
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=_SEED, scheme=_SCHEME)
    m.update_batch([w.encode("utf-8") for w in words])
    return m


def signatures(articles: list[Article], opts: IngestSettings,
               previous: Signatures | None = None) -> Signatures:
    """Signatures of ``articles``, reusing ``previous`` ones of unchanged articles."""
    known: dict[tuple[str, str], tuple[np.ndarray, int]] = {}
    if previous is not None and previous.values.shape[1:] == (opts.dedup_num_perm,):
        known = {(d, h): (previous.values[i], int(previous.sizes[i]))
                 for i, (d, h) in enumerate(zip(previous.doc_ids, previous.hashes))}
    values = np.zeros((len(articles), opts.dedup_num_perm), dtype=np.uint64)
    sizes = np.zeros(len(articles), dtype=np.int64)
    for i, a in enumerate(articles):
        hit = known.get((a.doc_id, a.content_hash))
        if hit is None:
            words = shingles(a.text)
            hit = (_minhash(words, opts.dedup_num_perm).hashvalues, len(words))
        values[i], sizes[i] = hit
    return Signatures([a.doc_id for a in articles], [a.content_hash for a in articles],
                      values, sizes)


def containment(sig: Signatures, i: int, j: int) -> float:
    """Estimated share of the smaller article's shingles that occur in the other."""
    jac = float(np.mean(sig.values[i] == sig.values[j]))
    a, b = int(sig.sizes[i]), int(sig.sizes[j])
    inter = jac * (a + b) / (1.0 + jac)
    return min(1.0, inter / max(1, min(a, b)))


#: Up to this many articles every pair is compared (vectorised); above, an LSH Ensemble
#: index proposes the candidates.
EXACT_LIMIT = 5000


def _candidates(sig: Signatures, eligible: list[int], opts: IngestSettings
                ) -> list[tuple[int, int]]:
    """Pairs (i, j) worth checking: all pairs whose estimated containment can reach the
    threshold (small corpora), else the LSH Ensemble's candidates."""
    idx = np.asarray(eligible)
    if len(idx) <= EXACT_LIMIT:
        values, sizes = sig.values[idx], sig.sizes[idx].astype(np.float64)
        out = []
        for start in range(0, len(idx), 64):
            block = values[start:start + 64]
            jac = (block[:, None, :] == values[None, :, :]).mean(axis=2)
            a = sizes[start:start + 64, None]
            inter = jac * (a + sizes[None, :]) / (1.0 + jac)
            cont = inter / np.maximum(1.0, np.minimum(a, sizes[None, :]))
            rows, cols = np.nonzero(cont >= opts.dedup_containment)
            out += [(int(idx[start + r]), int(idx[c])) for r, c in zip(rows, cols)
                    if start + r < c]
        return out
    from datasketch import MinHash, MinHashLSHEnsemble

    mh = {i: MinHash(num_perm=sig.values.shape[1], seed=_SEED, hashvalues=sig.values[i],
                     scheme=_SCHEME) for i in eligible}
    lsh = MinHashLSHEnsemble(threshold=opts.dedup_containment * 0.9,
                             num_perm=sig.values.shape[1], num_part=16)
    lsh.index((i, mh[i], int(sig.sizes[i])) for i in eligible)
    return sorted({(min(i, j), max(i, j)) for i in eligible
                   for j in lsh.query(mh[i], int(sig.sizes[i])) if i != j})


def find_duplicates(sig: Signatures, dates: dict[str, str | None],
                    opts: IngestSettings) -> dict[str, str]:
    """``doc_id -> representative doc_id`` for every article that is a copy of another."""
    n = len(sig.doc_ids)
    min_size = max(1, opts.dedup_min_words - SHINGLE + 1)
    eligible = [i for i in range(n) if sig.sizes[i] >= min_size]
    if len(eligible) < 2:
        return {}
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in _candidates(sig, eligible, opts):
        if containment(sig, i, j) >= opts.dedup_containment:
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in eligible:
        groups.setdefault(root(i), []).append(i)
    out: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        ids = sorted((sig.doc_ids[i] for i in members),
                     key=lambda d: (dates.get(d) or "9999", d))
        out.update({d: ids[0] for d in ids[1:]})
    if out:
        log.info("%d article(s) are copies of others (%d groups)", len(out),
                 len(set(out.values())))
    return out


def groups(duplicates: dict[str, str]) -> dict[str, list[str]]:
    """Representative -> all members of its group (itself first), from
    :func:`find_duplicates`' result; articles without copies are not listed."""
    out: dict[str, list[str]] = {}
    for member, rep in sorted(duplicates.items()):
        out.setdefault(rep, [rep]).append(member)
    return out


def collapse(hits: list, duplicates: dict[str, str], k: int) -> list:
    """The first ``k`` of ``hits`` (ranked :class:`~rag.types.Hit`) without passages of
    copies of an article already among them: each group of copies is shown once, by its
    best-ranked member."""
    if not duplicates:
        return hits[:k]
    shown: dict[str, str] = {}  # group -> the member shown
    out = []
    for h in hits:
        group = duplicates.get(h.doc_id, h.doc_id)
        if shown.setdefault(group, h.doc_id) != h.doc_id:
            continue
        out.append(h)
        if len(out) == k:
            break
    return out


def copies_of(doc_id: str, duplicates: dict[str, str]) -> list[str]:
    """The other members of ``doc_id``'s group of copies (in doc id order)."""
    group = duplicates.get(doc_id, doc_id)
    members = {d for d, rep in duplicates.items() if rep == group} | {group}
    return sorted(members - {doc_id})
