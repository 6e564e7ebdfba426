"""Near-duplicates: wire copies grouped, different reports on the same event kept apart."""

from __future__ import annotations

from rag.ingest.dedup import (
    Signatures,
    collapse,
    copies_of,
    find_duplicates,
    signatures,
)
from rag.settings import IngestSettings
from rag.types import Article, Hit

WIRE = (
    "Die Stadtwerke Rostock senken zum 1. Januar den Arbeitspreis für Erdgas von 18,9 auf "
    "14,2 Cent pro Kilowattstunde. Das teilte das kommunale Unternehmen am Montag mit. Grund "
    "seien die deutlich gefallenen Großhandelspreise seit dem Spätsommer, sagte "
    "Geschäftsführer Oliver Brünnich.\n\nBetroffen sind rund 38.000 Haushalte in der "
    "Grundversorgung. Die Preissenkung werde automatisch wirksam, Kundinnen und Kunden "
    "müssten nichts unternehmen. Zusammen mit der Gaspreisbremse des Bundes sinke die "
    "Belastung spürbar.\n\nDie Verbraucherzentrale begrüßte den Schritt, mahnte aber weitere "
    "Senkungen an. Die Preise lägen noch immer fast doppelt so hoch wie vor zwei Jahren."
)
#: The same event, written by another newsroom: shared facts and numbers, own wording.
OWN_REPORT = (
    "Gute Nachricht für Gaskunden in Rostock: Ab Januar zahlen sie weniger. Statt 18,9 Cent "
    "werden künftig 14,2 Cent je Kilowattstunde fällig, wie der Versorger mitteilte. Rund "
    "38.000 Haushalte profitieren. Geschäftsführer Oliver Brünnich verwies auf gesunkene "
    "Einkaufspreise an den Börsen. Verbraucherschützer sehen dennoch keinen Grund zur "
    "Entwarnung: Im Vergleich zu 2020 sei Gas weiterhin sehr teuer, heißt es dort."
)


def _article(doc_id, text, date=None, title="t"):
    return Article(doc_id, title, date, None, None, None, text, f"h-{doc_id}-{hash(text)}")


def _corpus():
    return [
        _article("nordspiegel.md", WIRE, "2022-12-19"),
        # a copy with another headline, agency dateline and web boilerplate
        _article("ostsee.md", "Cookies akzeptieren | Abo\n\nRostock (dpa) - " + WIRE
                 + "\n\nMehr zum Thema: Energiepreise\n\n© dpa-infocom", "2022-12-20",
                 "Gas wird billiger"),
        # a shortened copy (the first two paragraphs)
        _article("kurz.md", "\n\n".join(WIRE.split("\n\n")[:2]), "2022-12-19"),
        _article("eigener-bericht.md", OWN_REPORT, "2022-12-19"),
        _article("anderes.md", "Der Pegel der Mosel in Trier ist in der Nacht auf Freitag auf "
                 "8,40 Meter gestiegen. Die Stadt rechnet damit, dass der Scheitel am "
                 "Samstagabend bei etwa 8,90 Metern erreicht wird. " * 2, "2024-01-05"),
    ]


def test_copies_grouped_under_the_earliest_and_own_reports_kept_apart():
    opts = IngestSettings()
    arts = _corpus()
    dupes = find_duplicates(signatures(arts, opts), {a.doc_id: a.date for a in arts}, opts)
    assert dupes == {"ostsee.md": "kurz.md", "nordspiegel.md": "kurz.md"} or dupes == {
        "ostsee.md": "nordspiegel.md", "kurz.md": "nordspiegel.md"}
    assert "eigener-bericht.md" not in dupes and "anderes.md" not in dupes
    assert copies_of("ostsee.md", dupes) == sorted({"kurz.md", "nordspiegel.md"})


def test_short_texts_are_never_grouped():
    opts = IngestSettings()
    arts = [_article("a.md", "Kurze Meldung über das Wetter."),
            _article("b.md", "Kurze Meldung über das Wetter.")]
    assert find_duplicates(signatures(arts, opts), {}, opts) == {}


def test_signatures_reused_and_saved(tmp_path):
    opts = IngestSettings()
    arts = _corpus()
    sig = signatures(arts, opts)
    sig.save(tmp_path / "m.npz")
    back = Signatures.load(tmp_path / "m.npz")
    assert back.doc_ids == sig.doc_ids and (back.values == sig.values).all()
    again = signatures(arts, opts, back)
    assert (again.values == sig.values).all()
    assert Signatures.load(tmp_path / "fehlt.npz") is None


def test_collapse_shows_each_group_once():
    hits = [Hit(i, i, d, 1.0 - i / 10, 0, 0) for i, d in enumerate(
        ["ostsee.md", "ostsee.md", "nordspiegel.md", "anderes.md", "kurz.md", "x.md"])]
    dupes = {"ostsee.md": "nordspiegel.md", "kurz.md": "nordspiegel.md"}
    kept = collapse(hits, dupes, 3)
    assert [h.doc_id for h in kept] == ["ostsee.md", "ostsee.md", "anderes.md"]
    assert [h.doc_id for h in collapse(hits, {}, 2)] == ["ostsee.md", "ostsee.md"]


def test_answering_does_not_import_datasketch() -> None:
    """datasketch (and the scipy it imports, ~0.45 s) loads only where signatures are made,
    not on the question path (`rag ask`, the app's start)."""
    import subprocess
    import sys

    code = ("import sys, rag.pipeline, rag.ingest.dedup; "
            "print(sorted(m for m in ('datasketch', 'scipy.integrate') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
