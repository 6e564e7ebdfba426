# ruff: noqa: E501 - the press release text
# Makes bahn_presse.pdf: python tests/unit/ingest/data/make_pdf.py OUT.pdf (Chromium prints it).
"""Make a small 3-page press release PDF with Chromium (print to PDF), then set its info."""

import sys

from playwright.sync_api import sync_playwright
from pypdf import PdfReader, PdfWriter

paras = {
    1: [
        "Die Deutsche Bahn will bis 2030 rund 1.800 Bahnhöfe modernisieren. Das kündigte Infrastrukturvorständin Berit Lenz am Dienstag in Berlin an. Vorgesehen sind barrierefreie Zugänge, neue Wartebereiche und bessere Fahrgastinformation.",
        "Für das Programm stehen nach Angaben des Unternehmens 4,5 Milliarden Euro zur Verfügung. Davon trägt der Bund rund drei Viertel, den Rest übernehmen Länder und Kommunen.",
    ],
    2: [
        "Als erste sollen die Bahnhöfe in Cottbus, Gera und Stendal umgebaut werden. Dort beginnen die Arbeiten im Herbst. Reisende müssen während der Bauzeit mit Umwegen innerhalb der Stationen rechnen, der Zugverkehr soll jedoch weitgehend ungestört bleiben.",
        "Der Fahrgastverband Pro Bahn begrüßte die Pläne. Entscheidend sei aber, dass die Aufzüge nach dem Umbau auch zuverlässig funktionierten, sagte ein Sprecher.",
    ],
    3: [
        "Pressekontakt: Deutsche Bahn AG, Konzernkommunikation, Potsdamer Platz 2, 10785 Berlin.",
        "Die Deutsche Bahn betreibt rund 5.400 Bahnhöfe in Deutschland. Täglich nutzen etwa 20 Millionen Menschen die Stationen.",
    ],
}
body = "<h1>Bahn modernisiert 1.800 Bahnhöfe bis 2030</h1><p class=d>Berlin, 12. März 2024</p>"
for n in (1, 2, 3):
    body += "".join(f"<p>{p}</p>" for p in paras[n])
    if n < 3:
        body += '<div style="break-after: page"></div>'
html = f"""<html><head><meta charset=utf-8><title>Bahn modernisiert 1.800 Bahnhöfe bis 2030</title>
<style>body{{font-family:sans-serif;font-size:12pt}} h1{{font-size:20pt}}</style></head><body>{body}</body></html>"""
out = sys.argv[1]
with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium")
    pg = b.new_page()
    pg.set_content(html)
    pg.pdf(path=out + ".tmp", format="A4")
    b.close()
w = PdfWriter(clone_from=PdfReader(out + ".tmp"))
w.add_metadata(
    {
        "/Title": "Bahn modernisiert 1.800 Bahnhöfe bis 2030",
        "/Author": "Deutsche Bahn AG, Konzernkommunikation",
        "/CreationDate": "D:20240314093000+01'00'",
        "/Subject": "Presseinformation",
    }
)
w.compress_identical_objects()
with open(out, "wb") as f:
    w.write(f)

import os  # noqa: E402

os.remove(out + ".tmp")
