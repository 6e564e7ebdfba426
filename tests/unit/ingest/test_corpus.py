"""Reading the corpus (rag.ingest.corpus): seed articles, encodings, bad files, front matter."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import SEED, SHARED, XQUAD

from rag.errors import CorpusError
from rag.ingest.corpus import decode_bytes, read_article, read_corpus, scan_corpus
from rag.types import Article, Skipped

XQUAD_CORPUS = XQUAD / "corpus"


@pytest.fixture(scope="module")
def seed() -> dict[str, Article]:
    articles, skipped = read_corpus(SEED)
    assert skipped == []
    return {a.doc_id: a for a in articles}


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _one(folder: Path, name: str, data: bytes | str) -> Article:
    return read_article(_write(folder, name, data), folder)


def _skip_reason(folder: Path, name: str) -> str:
    articles, skipped = read_corpus(folder)
    assert name not in {a.doc_id for a in articles}
    reasons = {s.path: s.reason for s in skipped}
    assert name in reasons, skipped
    assert name in reasons[name]  # the message names the file
    return reasons[name]


# --------------------------------------------------------------------------- seed articles


def test_seed_ids_sorted_and_hashed(seed: dict[str, Article]) -> None:
    assert list(seed) == sorted(p.name for p in SEED.glob("*.txt"))
    for doc_id, a in seed.items():
        assert a.content_hash == hashlib.sha256((SEED / doc_id).read_bytes()).hexdigest()
        assert a.text == a.text.strip()
        assert "\r" not in a.text and "\ufeff" not in a.text
        assert all(line == line.rstrip() for line in a.text.split("\n"))
        assert "\n\n\n" not in a.text


def test_seed_000_no_metadata(seed: dict[str, Article]) -> None:
    a = seed["000_0bd7be33f238eff5.txt"]
    assert a.title == ('Ein fester Händedruck, eine freundliche Umarmung, ein Platz an einem '
                       'Mini-Tisch: "Hast du einen…')
    assert (a.date, a.url, a.publisher, a.author) == (None, None, None, None)
    assert a.text.startswith("Ein fester Händedruck, eine freundliche Umarmung")
    assert a.text.endswith("dass Lukaschenkos Sicherheitsapparat loyal blieb.")
    # the trailing no-break space of a paragraph is trimmed
    assert "den Rücken zu stärken.\n\nDer Draht zum Westen ist abgerissen\n\n" in a.text


def test_seed_001_url_line(seed: dict[str, Article]) -> None:
    a = seed["001_ed4b800cc64d86f5.txt"]
    assert a.url == ("https://www.zeit.de/politik/ausland/2020-08/"
                     "belarus-russland-beziehung-alexander-lukaschenko-wladimir-putin")
    assert a.publisher == "zeit.de"
    assert a.date == "2020-08"  # from the URL
    assert a.author is None
    assert a.title == ("Fast klang es wie eine direkte Einladung an Wladimir Putin, militärische "
                       "Bruderhilfe zu leisten…")
    assert a.text.startswith("Fast klang es wie eine direkte Einladung an Wladimir Putin")
    assert "http" not in a.text and "zeit.de" not in a.text


def test_seed_002_headline_and_dateline(seed: dict[str, Article]) -> None:
    a = seed["002_b32e619577f15ed7.txt"]
    assert a.title == ("Russland Putin bittet Lukaschenko um Hilfe: Zieht der Kreml jetzt Minsk "
                       "mit in den Krieg?")
    assert a.date == "2022-12-19"
    assert a.author == "Paul Flückiger"
    assert (a.url, a.publisher) == (None, None)
    # headline and lead are content; only the dateline is removed
    first, rest = a.text.split("\n\n", 1)
    assert first == ("Russland Putin bittet Lukaschenko um Hilfe: Zieht der Kreml jetzt Minsk mit "
                     "in den Krieg? Weissrussland ist abhängig von Moskau, in der Ukraine kämpfen "
                     "will Diktator Alexander Lukaschenko allerdings nicht. Was Putin mit dem "
                     "Besuch in Minsk bezwecken will.")
    assert rest.startswith("Tritt als Bittsteller in Minsk auf:")
    assert "Flückiger" not in a.text and "19.12.2022" not in a.text
    assert a.text.endswith("Putin steht damit in Minsk vor einer Quadratur des Kreises.")


def test_seed_003_date_and_byline_line(seed: dict[str, Article]) -> None:
    a = seed["003_13b114440d0760a9.txt"]
    assert a.date == "2021-11"
    assert a.author == "Silke Bigalke"
    assert (a.url, a.publisher) == (None, None)
    assert a.title == ("Zu dieser speziellen Videokonferenz hatte sich Wladimir Putin nicht "
                       "aus dem Kreml oder seiner…")
    assert a.text.startswith("Zu dieser speziellen Videokonferenz hatte sich Wladimir Putin")
    assert "date" not in a.text and "Bigalke" not in a.text


def test_seed_004_date_prefix_on_the_first_body_line(seed: dict[str, Article]) -> None:
    a = seed["004_ab217624b5cd6cf3.txt"]
    assert a.date == "2023-06"
    assert (a.url, a.publisher, a.author) == (None, None, None)
    assert a.text.startswith("Gleich nach der „Dolchstoß-Rede“ des russischen Präsidenten")
    assert "date 2023-06" not in a.text
    assert a.title == ("Gleich nach der „Dolchstoß-Rede“ des russischen Präsidenten Wladimir Putin "
                       "habe der belarussische…")
    assert "\n\nLukaschenko total abhängig von Putin\n\n" in a.text


@pytest.mark.skipif(not XQUAD_CORPUS.is_dir(), reason="shared xquad-de corpus not present")
def test_xquad_titles_are_the_first_line() -> None:
    articles, skipped = read_corpus(XQUAD_CORPUS)
    assert skipped == [] and len(articles) == len(list(XQUAD_CORPUS.glob("*.txt")))
    for a in articles:
        first_line = (XQUAD_CORPUS / a.doc_id).read_text(encoding="utf-8").split("\n", 1)[0]
        assert a.title == first_line.strip()
        assert a.text.startswith(a.title + "\n\n")
        assert (a.date, a.url, a.author) == (None, None, None)
    titles = {a.doc_id: a.title for a in articles}
    assert titles["00_Super_Bowl_50.txt"] == "Super Bowl 50"
    assert titles["08_Sky_United_Kingdom.txt"] == "Sky (United Kingdom)"
    assert titles["18_Fresno_California.txt"] == "Fresno, California"


# --------------------------------------------------------------------------- encodings

GERMAN = "Die Größe der Straße. Paul Flückiger sagt: „Ja“ – das kostet 5 €.\n"


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8", "utf-8-sig", "utf-16", "utf-16-be",
                                      "utf-32"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    data = GERMAN.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    a = _one(tmp_path, "a.txt", data)
    assert a.text == GERMAN.strip()
    assert a.content_hash == hashlib.sha256(data).hexdigest()


def test_latin1_short_words(tmp_path: Path) -> None:
    assert _one(tmp_path, "a.txt", "Größe".encode("latin-1")).text == "Größe"
    assert _one(tmp_path, "b.txt", "Flückiger".encode("latin-1")).text == "Flückiger"
    text = "Café à la carte, très élégant. Numéro deux. Größe."
    assert _one(tmp_path, "c.txt", text.encode("latin-1")).text == text


def test_other_encodings_are_detected() -> None:
    text = "Привет, как дела? Это тестовый текст на русском языке о Лукашенко и Путине."
    assert decode_bytes(text.encode("cp1251")) == text


def test_mostly_utf8_with_a_stray_byte(tmp_path: Path) -> None:
    raw = "Größe, Flückiger, Straße, Äpfel und Öl. ".encode() + b"Caf\xe9 au lait."
    expected = "Größe, Flückiger, Straße, Äpfel und Öl. Caf\ufffd au lait."
    assert _one(tmp_path, "a.txt", raw).text == expected


def test_normalisation(tmp_path: Path) -> None:
    raw = "\ufeffGro\u0308ße  \r\nZwei\u00ad\u200bte Zeile\t\r\n\r\n\r\n\r\nDritte\r\n   \n"
    a = _one(tmp_path, "a.txt", raw)
    assert a.text == "Größe\nZweite Zeile\n\nDritte"


@pytest.mark.parametrize(("line", "read"), [
    # a wiki gallery's link: its size, URL and words ("Ukraine_solidarity_protest") go
    ("Der Protestzug in Bildern 20px [https://commons.wikimedia.org/wiki/Category:"
     "Ukraine_solidarity_protest_Mannheim_2022-03-05 Mehr Bilder]",
     "Der Protestzug in Bildern Mehr Bilder"),
    ("Der [http://www.bundesregierung.de/Gesetze-,4240/.htm Artikel 68 GG] regelt das.",
     "Der Artikel 68 GG regelt das."),
    ("[http://www.example.org/papier.pdf] Die Forderungen der Portale.",
     "Die Forderungen der Portale."),
    ("Laut [Spiegel](https://www.spiegel.de/a \"Titel\") ![Foto](bild.png) war es so.",
     "Laut Spiegel war es so."),
    # brackets that are no links stay
    ("Die Liste [1] und [Anm. 2] bleiben.", "Die Liste [1] und [Anm. 2] bleiben."),
])
def test_link_markup_is_read_as_its_words(tmp_path: Path, line: str, read: str) -> None:
    assert _one(tmp_path, "a.txt", f"Titelzeile\n\n{line}\n".encode()).text.endswith(read)


# --------------------------------------------------------------------------- bad files


def test_empty_and_whitespace_files_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "good.txt", "Ein Satz.")
    _write(tmp_path, "empty.txt", b"")
    _write(tmp_path, "blank.txt", " \n\t\n")
    _write(tmp_path, "bom.txt", b"\xef\xbb\xbf\n")
    for name in ("empty.txt", "blank.txt", "bom.txt"):
        assert "empty" in _skip_reason(tmp_path, name)
    assert [a.doc_id for a in read_corpus(tmp_path)[0]] == ["good.txt"]


def test_binary_files_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _write(tmp_path, "controls.txt", bytes(range(1, 32)) * 20)
    _write(tmp_path, "utf16-no-bom.txt", "Größe".encode("utf-16-le"))
    assert "NUL" in _skip_reason(tmp_path, "image.txt")
    assert "control characters" in _skip_reason(tmp_path, "controls.txt")
    assert "UTF-16" in _skip_reason(tmp_path, "utf16-no-bom.txt")
    with pytest.raises(CorpusError, match="image.txt"):
        read_article(tmp_path / "image.txt", tmp_path)


def test_undetectable_encoding_is_rejected(tmp_path: Path) -> None:
    noise = bytes((i * 37 + 11) % 256 for i in range(3000)).replace(b"\x00", b"\x01")
    _write(tmp_path, "noise.txt", noise)
    reason = _skip_reason(tmp_path, "noise.txt")
    assert "binary" in reason or "encoding" in reason


def test_metadata_only_file_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "url-only.txt", "https://www.zeit.de/politik/2020-08/x\n")
    assert "no article text" in _skip_reason(tmp_path, "url-only.txt")


def test_broken_yaml_front_matter_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "broken.md", "---\ntitle: Putin: Der Plan\ndate: [2022\n---\nText.\n")
    _write(tmp_path, "unclosed.md", "---\ntitle: X\nText ohne Ende.\n")
    _write(tmp_path, "list.md", "---\n- a\n- b\n---\nText.\n")
    _write(tmp_path, "baddate.md", "---\ndate: irgendwann\n---\nText.\n")
    reason = _skip_reason(tmp_path, "broken.md")
    assert "invalid YAML front matter" in reason and "line" in reason
    assert "no closing '---'" in _skip_reason(tmp_path, "unclosed.md")
    assert "key: value" in _skip_reason(tmp_path, "list.md")
    assert "irgendwann" in _skip_reason(tmp_path, "baddate.md")
    skipped = {s.path: s for s in read_corpus(tmp_path)[1]}
    assert skipped["broken.md"].content_hash == hashlib.sha256(
        (tmp_path / "broken.md").read_bytes()).hexdigest()


def test_front_matter_read_by_libyaml_as_by_pure_python() -> None:
    """The C loader (fast starts: every article's front matter is read when the app checks
    the corpus for changes) reads every real front matter exactly as the Python one."""
    import yaml

    from rag.ingest import corpus

    if yaml.__with_libyaml__:
        assert corpus._SAFE_LOADER is yaml.CSafeLoader
    wikinews = sorted((SHARED / "eval" / "wikinews-de" / "corpus").glob("*.md"))
    assert len(wikinews) > 900
    texts = [p.read_text(encoding="utf-8") for p in wikinews]
    texts.append('---\ntitle: "Putin: „Plan“ – Ü"\ndate: 2022-12-19\nauthor: [A, B]\n---\nX.\n')
    for text in texts:
        front = corpus._FRONT_MATTER.match(text)
        assert front is not None
        meta, _ = corpus._split_front_matter(text, "a.md")
        expected = {str(k).lower(): v for k, v in yaml.safe_load(front.group(1)).items()}
        assert meta == expected


def test_directory_named_like_an_article(tmp_path: Path) -> None:
    _write(tmp_path, "x.txt/inner.txt", "Ein Artikel in einem Ordner namens x.txt.")
    _write(tmp_path, "a.txt", "Ein Satz.")
    articles, skipped = read_corpus(tmp_path)
    assert [a.doc_id for a in articles] == ["a.txt", "x.txt/inner.txt"]
    assert skipped == []
    with pytest.raises(CorpusError, match="is a folder"):
        read_article(tmp_path / "x.txt", tmp_path)


def test_vanished_file_and_broken_symlink(tmp_path: Path) -> None:
    _write(tmp_path, "a.txt", "Ein Satz.")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "does-not-exist.txt")
    assert "disappeared" in _skip_reason(tmp_path, "dangling.txt")
    assert "dangling.txt" not in scan_corpus(tmp_path)
    with pytest.raises(CorpusError, match="gone.txt"):
        read_article(tmp_path / "gone.txt", tmp_path)


def test_permission_denied(tmp_path: Path) -> None:
    path = _write(tmp_path, "secret.txt", "Geheim.")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): the file stays readable")
        assert "permission denied" in _skip_reason(tmp_path, "secret.txt")
        assert "secret.txt" not in scan_corpus(tmp_path)
    finally:
        path.chmod(0o644)


def test_unlistable_folder(tmp_path: Path) -> None:
    _write(tmp_path, "a.txt", "Ein Satz.")
    _write(tmp_path, "locked/b.txt", "Noch ein Satz.")
    (tmp_path / "locked").chmod(0)
    try:
        if os.access(tmp_path / "locked", os.R_OK):
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): the folder stays readable")
        articles, skipped = read_corpus(tmp_path)
        assert [a.doc_id for a in articles] == ["a.txt"]
        assert [s.path for s in skipped] == ["locked"]
        assert "cannot be listed" in skipped[0].reason
        assert list(scan_corpus(tmp_path)) == ["a.txt"]
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_undecodable_file_name_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "a.txt", "Ein Satz.")
    try:
        fd = os.open(os.fsencode(tmp_path) + b"/Gr\xf6\xdfe.txt", os.O_WRONLY | os.O_CREAT)
    except OSError:
        pytest.skip("file system does not accept non-UTF-8 names")
    os.write(fd, b"Text.")
    os.close(fd)
    articles, skipped = read_corpus(tmp_path)
    assert [a.doc_id for a in articles] == ["a.txt"]
    assert len(skipped) == 1 and "not valid UTF-8" in skipped[0].reason
    assert list(scan_corpus(tmp_path)) == ["a.txt"]


def test_missing_corpus_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="does not exist"):
        scan_corpus(tmp_path / "nope")
    _write(tmp_path, "file.txt", "x")
    with pytest.raises(CorpusError, match="not a folder"):
        read_corpus(tmp_path / "file.txt")


# --------------------------------------------------------------------------- listing, scan


def test_listing_rules(tmp_path: Path) -> None:
    _write(tmp_path, "b.txt", "B.")
    _write(tmp_path, "a.md", "# A\n\nText.")
    _write(tmp_path, "sub/c.TXT", "C.")
    _write(tmp_path, ".hidden.txt", "H.")
    _write(tmp_path, ".git/d.txt", "D.")
    _write(tmp_path, "notes.rst", "R.")
    _write(tmp_path, "data.json", "{}")
    articles, skipped = read_corpus(tmp_path)
    assert [a.doc_id for a in articles] == ["a.md", "b.txt", "sub/c.TXT"]
    assert skipped == []
    assert articles[0].title == "A"
    assert articles[0].text == "# A\n\nText."


def test_scan_matches_read(tmp_path: Path) -> None:
    shutil.copytree(SEED, tmp_path / "c")
    root = tmp_path / "c"
    _write(root, "empty.txt", b"")
    _write(root, "broken.md", "---\ntitle: [\n---\nText.")
    _write(root, "sub/extra.txt", "Noch ein Artikel.")
    articles, skipped = read_corpus(root)
    expected = {a.doc_id: a.content_hash for a in articles}
    assert scan_corpus(root) == expected
    assert len(expected) == 6 and {s.path for s in skipped} == {"empty.txt", "broken.md"}
    _write(root, "sub/extra.txt", "Geänderter Artikel.")
    scanned = scan_corpus(root)
    assert scanned["sub/extra.txt"] != expected["sub/extra.txt"]
    assert scanned["sub/extra.txt"] == hashlib.sha256(
        (root / "sub/extra.txt").read_bytes()).hexdigest()


def test_scan_does_not_parse_files_an_index_has_read(tmp_path: Path, monkeypatch) -> None:
    """With the hashes an index was built from, unchanged text/Markdown files are not
    parsed again (the app's start on a large archive); changed, new and archive files
    are, and the result equals a full scan."""
    import rag.ingest.corpus as corpus

    _write(tmp_path, "a.md", "# A\n\nText.")
    _write(tmp_path, "b.txt", "B.")
    _write(tmp_path, "empty.txt", b"")
    _write(tmp_path, "x.jsonl", '{"id": 1, "title": "T", "text": "Archiv."}\n')
    known = scan_corpus(tmp_path)
    _write(tmp_path, "b.txt", "B, geändert.")
    _write(tmp_path, "c.txt", "Neu.")
    parsed: list[str] = []
    original = corpus.parse_file

    def counting(raw, doc_id, *args, **kwargs):
        parsed.append(doc_id)
        return original(raw, doc_id, *args, **kwargs)

    monkeypatch.setattr(corpus, "parse_file", counting)
    corpus._VALID.clear()
    fast = scan_corpus(tmp_path, known=known)
    assert sorted(parsed) == ["b.txt", "c.txt", "empty.txt", "x.jsonl"]
    corpus._VALID.clear()
    assert fast == scan_corpus(tmp_path) and "a.md" in fast and "empty.txt" not in fast


# --------------------------------------------------------------------------- metadata


def test_front_matter_overrides_extracted_fields(tmp_path: Path) -> None:
    a = _one(tmp_path, "a.md", (
        "---\n"
        "title: Putin in Minsk\n"
        "date: 2022-12-19\n"
        "url: https://www.nzz.ch/international/putin-in-minsk-ld.1717\n"
        "author: [Paul Flückiger, Silke Bigalke]\n"
        "tags: [ignored]\n"
        "---\n"
        "https://www.zeit.de/politik/2020-08/anderes\n"
        " date 2021-11 Von Silke Bigalke, Moskau\n\n"
        "Der Text beginnt hier.\n"))
    assert a.title == "Putin in Minsk"
    assert a.date == "2022-12-19"
    assert a.url == "https://www.nzz.ch/international/putin-in-minsk-ld.1717"
    assert a.publisher == "nzz.ch"
    assert a.author == "Paul Flückiger, Silke Bigalke"
    assert a.text == "Der Text beginnt hier."
    b = _one(tmp_path, "b.txt", "---\npublisher: Neue Zürcher Zeitung\ndate: '2021-11'\n---\n"
                                "https://www.nzz.ch/x\n\nText.")
    assert (b.publisher, b.date, b.url) == ("Neue Zürcher Zeitung", "2021-11", "https://www.nzz.ch/x")
    c = _one(tmp_path, "c.txt", "---\n---\nNur Text.")
    assert (c.title, c.text) == ("Nur Text.", "Nur Text.")


@pytest.mark.parametrize(("head", "date", "author"), [
    ("Datum: 19.12.2022\nVon Anna Muster und Jan de Vries, Berlin\n", "2022-12-19",
     "Anna Muster und Jan de Vries"),
    ("date 2022-12-05\n", "2022-12-05", None),
    ("Stand: 3. März 2023, 14:35 Uhr\nBy Jane Doe\n", "2023-03-03", "Jane Doe"),
    ("Von Silke Bigalke\n", None, "Silke Bigalke"),
])
def test_header_lines(tmp_path: Path, head: str, date: str | None, author: str | None) -> None:
    a = _one(tmp_path, "a.txt", head + "\nDer Text beginnt hier. Zweiter Satz.\n")
    assert (a.date, a.author) == (date, author)
    assert a.text == "Der Text beginnt hier. Zweiter Satz."


def test_url_at_the_end_and_dated_url(tmp_path: Path) -> None:
    a = _one(tmp_path, "a.txt", "Der Text. Noch ein Satz.\n\nQuelle: https://www.example.com/2022/12/19/story.html\n")
    assert a.url == "https://www.example.com/2022/12/19/story.html"
    assert (a.date, a.publisher) == ("2022-12-19", "example.com")
    assert a.text == "Der Text. Noch ein Satz."


def test_von_in_the_body_is_not_a_byline(tmp_path: Path) -> None:
    text = "Von Anfang an war klar, dass es schwierig wird.\n\nZweiter Absatz."
    a = _one(tmp_path, "a.txt", text)
    assert a.author is None and a.text == text


def test_title_is_shortened_at_a_word_boundary(tmp_path: Path) -> None:
    words = "Wort " * 60
    a = _one(tmp_path, "a.txt", words.strip() + ". Zweiter Satz.")
    assert a.title.endswith("Wort…") and len(a.title) <= 101
    b = _one(tmp_path, "b.txt", "Kurzer Titel\n\nDer Text.")
    assert b.title == "Kurzer Titel" and b.text == "Kurzer Titel\n\nDer Text."


def test_skipped_is_a_record() -> None:
    s = Skipped("a.txt", "a.txt: the file is empty.")
    assert (s.path, s.content_hash) == ("a.txt", None)


def unprivileged_prefix() -> list[str] | None:
    """A command prefix under which permission bits apply (root ignores them), or ``None``.

    As root, ``setpriv`` drops CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH from the bounding set
    (the interpreter under /root stays usable, unlike running as ``nobody``).
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return None
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    probe = Path(f"/tmp/rag-perm-probe-{os.getpid()}")
    probe.write_text("x")
    probe.chmod(0)
    try:
        result = subprocess.run([*prefix, "cat", str(probe)], capture_output=True, timeout=30)
    except OSError:
        return None
    finally:
        probe.unlink()
    return prefix if result.returncode != 0 else None


def test_unreadable_file_is_listed_not_fatal(tmp_path: Path) -> None:
    """A file without read permission (checked with permission bits enforced)."""
    prefix = unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv/CAP_SETPCAP: permission bits cannot be "
                    "enforced, so an unreadable file cannot be made")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Ein lesbarer Artikel.", encoding="utf-8")
    (corpus / "secret.txt").write_text("Geheim.", encoding="utf-8")
    (corpus / "secret.txt").chmod(0)
    code = ("import json, sys; from rag.ingest.corpus import read_corpus, scan_corpus; "
            "a, s = read_corpus(sys.argv[1]); "
            "print(json.dumps([[x.doc_id for x in a], [[x.path, x.reason] for x in s], "
            "sorted(scan_corpus(sys.argv[1]))]))")
    out = subprocess.run([*prefix, sys.executable, "-c", code, str(corpus)], cwd=SEED.parent,
                         capture_output=True, text=True, timeout=120, check=True)
    articles, skipped, scanned = json.loads(out.stdout.strip().splitlines()[-1])
    assert articles == ["a.txt"] == scanned
    assert skipped[0][0] == "secret.txt" and "permission denied" in skipped[0][1]
    assert "chmod" in skipped[0][1]


# --------------------------------------------------------------------------- line breaks


def _wrapped(text: str, width: int = 72) -> str:
    import textwrap

    return "\n\n".join(textwrap.fill(p, width, break_on_hyphens=False, break_long_words=False)
                       for p in text.split("\n\n"))


@pytest.mark.parametrize("width", [60, 72, 100])
def test_hard_wrapped_seed_articles_read_as_the_originals(seed, width):
    from rag.ingest.corpus import parse_article
    from rag.text.sentences import sentences

    for doc_id, article in seed.items():
        raw = (SEED / doc_id).read_text(encoding="utf-8")
        again = parse_article(_wrapped(raw, width).encode("utf-8"), doc_id)
        assert again.text == article.text, doc_id
        assert (again.title, again.date, again.url, again.author) == (
            article.title, article.date, article.url, article.author), doc_id
        assert sentences(again.text) == sentences(article.text)


def _body(text: str) -> str:
    from rag.ingest.corpus import parse_article

    return parse_article(text.encode("utf-8"), "a.txt").text


def test_a_sentence_broken_over_two_lines_is_joined():
    text = ("Bär wieder in Bayern\n\nDer Bär war vor zwei Wochen in Deutschland und hält "
            "sich seitdem im\ndeutsch-österreichischen Grenzgebiet auf. Er riss Schafe.")
    assert "hält sich seitdem im deutsch-österreichischen Grenzgebiet auf." in _body(text)


def test_a_wrapped_paragraph_under_its_headline_becomes_one_line():
    text = ("Neue Brücke in Linz eröffnet\n"
            "Die neue Brücke über die Donau wurde am Montag nach drei Jahren Bauzeit\n"
            "für den Verkehr freigegeben. Sie kostete 40 Millionen Euro und ersetzt die\n"
            "alte Eisenbahnbrücke aus dem Jahr 1900, die 2016 abgerissen wurde.")
    lines = _body(text).split("\n")
    assert lines[0] == "Neue Brücke in Linz eröffnet"
    assert lines[1].startswith("Die neue Brücke") and lines[1].endswith("abgerissen wurde.")
    assert "Bauzeit für den Verkehr" in lines[1] and "ersetzt die alte" in lines[1]


def test_hyphens_at_line_ends():
    text = ("Die Regierung hat am Montag das neue Gesetz zur Stärkung der PCR-\n"
            "Test-Kapazitäten beschlossen, das für Nord- und Süddeutschland und für Nord-\n"
            "und Ostsee gleichermaßen gilt, wie der Sprecher mitteilte.")
    body = _body(text)
    assert "der PCR-Test-Kapazitäten beschlossen" in body
    assert "für Nord- und Ostsee" in body


@pytest.mark.parametrize("block", [
    "Die Ergebnisse:\n- Hertha BSC Berlin gegen Kaiserslautern 3:0\n- Leverkusen gegen "
    "Dortmund 2:1\n- Bremen gegen Hamburg 1:1",
    "Anschrift der Redaktion\nMusterstraße 12\n10115 Berlin\nTelefon 030 1234567",
    "Erster Absatz als eine lange Zeile, wie Nachrichtenseiten ihn speichern, mit Punkt.\n"
    "Zweiter Absatz, ebenfalls eine Zeile, ebenfalls mit einem Punkt am Ende.",
])
def test_lists_addresses_and_one_paragraph_per_line_stay_as_they_are(block):
    text = "Eine Überschrift\n\n" + block
    assert _body(text).endswith(block)
