"""Duplicate detection, measured: which signal tells copies from different articles?

Builds a labelled set of article pairs from the wikinews-de corpus (deterministic seed):
positives are copies of real articles (exact; new headline + agency dateline + web
boilerplate; trimmed to 60-80% with word substitutions; a 40% brief; every 4th sentence
dropped with substitutions), negatives are different real articles (each article's most
similar other article by TF-IDF: same event or topic; the same with one paragraph of the
other inserted, a shared quote; random pairs). Thresholds are chosen on the tuning half
(best F1, midway to the next negative) and reported on the held-back half, beside the
product's own detector (rag.ingest.dedup with the settings' threshold).

    python bench/dedup_pairs.py [--corpus ../shared/eval/wikinews-de/corpus]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash
from sklearn.feature_extraction.text import TfidfVectorizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.ingest.corpus import read_corpus  # noqa: E402
from rag.ingest.dedup import containment, signatures  # noqa: E402
from rag.settings import IngestSettings  # noqa: E402
from rag.types import Article  # noqa: E402

DEFAULT = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared")
                if p.is_dir()), ROOT.parent / "shared") / "eval/wikinews-de/corpus"


def build_pairs(CORPUS: Path) -> list[dict]:
    """Build a duplicate-detection set from wikinews-de: positives (copies with edits) and
    negatives (different real articles, hardest = most similar by TF-IDF)."""

    arts, _ = read_corpus(CORPUS)
    arts = [a for a in arts if len(a.text.split()) >= 120]
    rng = random.Random(13)
    AGENCIES = ["dpa", "AFP", "Reuters", "epd", "KNA", "AP"]
    CITIES = ["Berlin", "Hamburg", "München", "Frankfurt", "Köln", "Wien", "Zürich"]
    FOOTERS = [
        "Mehr zum Thema:\n- {t}: Die Hintergründe\n- Kommentar: Was jetzt zu tun ist",
        "Lesen Sie auch: {t} – die wichtigsten Fragen und Antworten",
        "© dpa-infocom, dpa:{n}-99-{m}/3",
        "Dieser Artikel wurde automatisch aus dem Agenturfeed übernommen.",
        "Haben Sie einen Fehler entdeckt? Schreiben Sie uns an redaktion@example.de",
    ]
    SYN = {
        "sagte": "erklärte",
        "teilte": "gab",
        "mit.": "bekannt.",
        "am Montag": "zu Wochenbeginn",
        "Menschen": "Personen",
        "jedoch": "allerdings",
        "rund": "etwa",
    }

    def body_of(a):
        lines = a.text.split("\n")
        # drop the headline line (first line) if it equals the title
        if lines and lines[0].strip() == a.title.strip():
            lines = lines[1:]
        return "\n".join(lines).strip()

    def variant(a, kind):
        body = body_of(a)
        paras = [p for p in body.split("\n") if p.strip()]
        title = a.title
        if kind == "exact":
            return title, body
        if kind == "boiler":
            new_title = (
                rng.choice(["", "Eilmeldung: ", "Bericht: "])
                + " ".join(title.split()[::-1][:3])
                + " – "
                + title.split()[0]
            )
            lead = f"{rng.choice(CITIES)} ({rng.choice(AGENCIES)}) - "
            paras = [lead + paras[0]] + paras[1:]
            foot = rng.sample(FOOTERS, 2)
            extra = [
                f.format(t=new_title, n=rng.randint(100000, 999999), m=rng.randint(10000, 99999))
                for f in foot
            ]
            return new_title, "\n\n".join(["Cookies akzeptieren | Abo | Login"] + paras + extra)
        if kind == "trim":
            keep = max(1, int(round(len(paras) * rng.uniform(0.6, 0.8))))
            paras = paras[:keep]
            text = "\n\n".join(paras)
            for k, v in SYN.items():
                if rng.random() < 0.6:
                    text = text.replace(k, v)
            return "Agentur: " + title, text
        if kind == "brief":
            keep = max(1, int(round(len(paras) * 0.4)))
            return title.split(":")[-1].strip(), "\n\n".join(paras[:keep])
        if kind == "heavy":
            sents = re.split(r"(?<=[.!?])\s+", " ".join(paras))
            sents = [x for n, x in enumerate(sents) if n % 4 != 3]
            text = " ".join(sents)
            for k, v in SYN.items():
                text = text.replace(k, v)
            words = text.split(" ")
            for n in range(0, len(words), 9):
                words[n] = words[n].lower()
            return "Neu: " + title, " ".join(words)
        raise ValueError(kind)

    pos_src = rng.sample(arts, 150)
    pairs = []
    for i, a in enumerate(pos_src):
        kind = ["exact", "boiler", "trim", "brief", "heavy"][i % 5]
        t, b = variant(a, kind)
        pairs.append(
            {
                "label": 1,
                "kind": kind,
                "a": {"id": a.doc_id, "title": a.title, "text": body_of(a)},
                "b": {"id": a.doc_id + "#" + kind, "title": t, "text": b},
            }
        )
    # negatives: nearest distinct article by TF-IDF cosine (same event / same topic), plus random
    texts = [body_of(a) for a in arts]
    X = TfidfVectorizer(sublinear_tf=True, min_df=2).fit_transform(texts)
    S = (X @ X.T).toarray()
    np.fill_diagonal(S, 0)
    cand = sorted(
        {(min(i, j), max(i, j)) for i in range(len(arts)) for j in [int(S[i].argmax())]},
        key=lambda p: -S[p],
    )
    hard = cand[:150]
    print(
        f"hard negatives tfidf cosine: max {S[hard[0]]:.3f} median {S[hard[75]]:.3f} "
        f"min {S[hard[-1]]:.3f}"
    )
    for i, j in hard[:8]:
        print(
            f"  {S[i, j]:.3f} {arts[i].doc_id} {arts[i].title[:50]!r} | "
            f"{arts[j].doc_id} {arts[j].title[:50]!r}"
        )
    for i, j in hard:
        pairs.append(
            {
                "label": 0,
                "kind": "same-topic",
                "a": {"id": arts[i].doc_id, "title": arts[i].title, "text": texts[i]},
                "b": {"id": arts[j].doc_id, "title": arts[j].title, "text": texts[j]},
            }
        )
    for _ in range(150):
        i, j = rng.sample(range(len(arts)), 2)
        pairs.append(
            {
                "label": 0,
                "kind": "random",
                "a": {"id": arts[i].doc_id, "title": arts[i].title, "text": texts[i]},
                "b": {"id": arts[j].doc_id, "title": arts[j].title, "text": texts[j]},
            }
        )
    # different articles on the same event/topic that share one paragraph (a quote, a fact box)
    for i, j in hard[:100]:
        pa = [p for p in texts[i].split("\n") if p.strip()]
        pb = [p for p in texts[j].split("\n") if p.strip()]
        shared = rng.choice(pa)
        pb.insert(rng.randint(0, len(pb)), shared)
        pairs.append(
            {
                "label": 0,
                "kind": "shared-para",
                "a": {"id": arts[i].doc_id, "title": arts[i].title, "text": texts[i]},
                "b": {"id": arts[j].doc_id + "#q", "title": arts[j].title, "text": "\n".join(pb)},
            }
        )
    rng.shuffle(pairs)
    for n, p in enumerate(pairs):
        p["split"] = "tune" if n % 2 == 0 else "held"
    print(len(pairs), "pairs", sum(p["label"] for p in pairs), "positive")

    return pairs


def measure(pairs: list[dict], vectors: bool = False) -> None:
    WORD = re.compile(r"\w+")

    def shingles(text, k):
        w = WORD.findall(text.lower())
        return {" ".join(w[i : i + k]) for i in range(max(1, len(w) - k + 1))}

    def mh(s, perm=128):
        m = MinHash(num_perm=perm, seed=1)
        m.update_batch([x.encode() for x in s])
        return m

    def simhash(s):
        v = np.zeros(64)
        for x in s:
            h = int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(), "big")
            bits = np.array([(h >> i) & 1 for i in range(64)])
            v += 2 * bits - 1
        return sum(1 << i for i in range(64) if v[i] > 0)

    scores = {}
    t = time.perf_counter()
    for k in (3, 5):
        J, C, JE, CE, SH = [], [], [], [], []
        for p in pairs:
            a, b = shingles(p["a"]["text"], k), shingles(p["b"]["text"], k)
            inter = len(a & b)
            J.append(inter / len(a | b))
            C.append(inter / min(len(a), len(b)))
            ma, mb = mh(a), mh(b)
            je = ma.jaccard(mb)
            JE.append(je)
            ce = je * (len(a) + len(b)) / (1 + je) / min(len(a), len(b))
            CE.append(min(1.0, ce))
            if k == 3:
                SH.append(1 - bin(simhash(a) ^ simhash(b)).count("1") / 64)
        scores[f"jaccard{k}"] = J
        scores[f"containment{k}"] = C
        scores[f"minhash_jaccard{k}"] = JE
        scores[f"minhash_containment{k}"] = CE
        if SH:
            scores["simhash3"] = SH
    print("shingling time %.1fs" % (time.perf_counter() - t))
    y = np.array([p["label"] for p in pairs])
    split = np.array([p["split"] for p in pairs])
    kinds = np.array([p["kind"] for p in pairs])

    def prf(pred, y):
        tp = int((pred & (y == 1)).sum())
        fp = int((pred & (y == 0)).sum())
        fn = int((~pred & (y == 1)).sum())
        return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0

    def report(name, s):
        s = np.array(s)
        tune = split == "tune"
        held = ~tune
        best = max(
            np.unique(s[tune]),
            key=lambda t: (lambda p, r: (2 * p * r / (p + r) if p + r else 0, -t))(
                *prf(s[tune] >= t, y[tune])
            ),
        )
        # the best-F1 threshold on the tuning half, moved midway to the next lower negative
        neg_below = s[tune & (y == 0) & (s < best)]
        thr = (best + neg_below.max()) / 2 if len(neg_below) else best
        pt, rt = prf(s[tune] >= thr, y[tune])
        ph, rh = prf(s[held] >= thr, y[held])
        per_kind = {
            k: round(float((s[held & (kinds == k)] >= thr).mean()), 3)
            for k in (
                "exact",
                "boiler",
                "trim",
                "brief",
                "heavy",
                "same-topic",
                "shared-para",
                "random",
            )
        }
        print(
            f"{name:22s} thr {thr:.3f} tune P {pt:.3f} R {rt:.3f} | held P {ph:.3f} R {rh:.3f}"
            f" | max neg {s[y == 0].max():.3f} min pos {s[y == 1].min():.3f}\n"
            f"    held-back share flagged per kind: {per_kind}"
        )

    if vectors:  # whole-article similarity with the product's embedding model
        from rag.embed import load_embedder
        from rag.settings import Settings

        embedder = load_embedder(Settings.from_env())
        texts = sorted({p[x]["text"] for p in pairs for x in ("a", "b")})
        vecs = dict(zip(texts, embedder.encode_passages(texts)))
        scores["e5_article_cosine"] = [
            float(vecs[p["a"]["text"]] @ vecs[p["b"]["text"]]) for p in pairs
        ]
    for n, s in scores.items():
        report(n, s)

    opts = IngestSettings()
    product = []
    for p in pairs:
        arts = [
            Article("a", "", None, None, None, None, p["a"]["text"], "a"),
            Article("b", "", None, None, None, None, p["b"]["text"], "b"),
        ]
        sig = signatures(arts, opts)
        ok = min(sig.sizes) >= opts.dedup_min_words - 2
        product.append(containment(sig, 0, 1) if ok else 0.0)
    s = np.array(product) >= opts.dedup_containment
    for name, sel in (("tune", split == "tune"), ("held", split == "held")):
        pr, rc = prf(s[sel], y[sel])
        print(
            f"product (rag.ingest.dedup, containment >= {opts.dedup_containment}) {name}: "
            f"P {pr:.3f} R {rc:.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT)
    ap.add_argument("--vectors", action="store_true",
                    help="also whole-article cosine of the embedding model (slow)")
    args = ap.parse_args()
    pairs = build_pairs(args.corpus)
    measure(pairs, args.vectors)


if __name__ == "__main__":
    main()
