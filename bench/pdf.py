"""Page time of the printed documents (issue 7): render_pdf against bare WeasyPrint on the same HTML.

Real path: disclosure.pdf.render_pdf (〓 check over every string with fontTools cmaps, Django template,
WeasyPrint layout and PDF, page count, SHA-256). Baseline: weasyprint.HTML(string=html).write_pdf() on the
HTML the real path produced. The data carry 外字 (private use) and IVS runs, so the 〓 check has work to do.
Runs alternate real/bare to share the machine's load; medians are printed. Targets: ≤ 250 ms per page,
ratio ≤ 1.3.

    python bench/pdf.py [--repeat 3] [--pages 50] [--from-settings]

--from-settings reads the letterhead from the database (needs migrations); by default the Yamaguchi
sample letterhead is used and no database is touched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")

import django

django.setup()

from weasyprint import HTML  # noqa: E402

from disclosure.pdf import render_html, render_pdf, samples  # noqa: E402
from disclosure.pdf.render import Letterhead, letterhead_on  # noqa: E402
from jukinet.env import BASE_DIR  # noqa: E402


def bare(html: str) -> int:
    document = HTML(string=html, base_url=str(BASE_DIR)).render()
    document.write_pdf()
    return len(document.pages)


def measure(label: str, document: Any, letterhead: Letterhead | None, repeat: int) -> tuple[float, float]:
    html, substituted = render_html(document, letterhead=letterhead)
    real_ms: list[float] = []
    bare_ms: list[float] = []
    pages = 0
    for _ in range(repeat):
        start = time.perf_counter()
        rendered = render_pdf(document, letterhead=letterhead)
        real_ms.append((time.perf_counter() - start) * 1000 / rendered.pages)
        start = time.perf_counter()
        pages = bare(html)
        bare_ms.append((time.perf_counter() - start) * 1000 / pages)
    real, raw = statistics.median(real_ms), statistics.median(bare_ms)
    print(
        f"{label}: {rendered.pages} pages, {len(substituted)} 〓 substitutions | "
        f"render_pdf {real:.1f} ms/page | bare WeasyPrint {raw:.1f} ms/page | ratio {real / raw:.2f}"
    )
    return real, raw


def report_for_pages(target: int, letterhead: Letterhead | None) -> Any:
    """A provision-status report of about `target` pages (rows per page measured, not assumed)."""
    probe = samples.provision_status_report(rows=200, subject_name=samples.IVS_NAME, gaiji_every=25)
    pages = render_pdf(probe, letterhead=letterhead).pages
    rows = max(1, round(200 * target / pages))
    while True:
        report = samples.provision_status_report(rows=rows, subject_name=samples.IVS_NAME, gaiji_every=25)
        if render_pdf(report, letterhead=letterhead).pages >= target:
            return report
        rows += 25


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each path (median is printed)")
    parser.add_argument("--pages", type=int, default=50, help="length of the provision-status report")
    parser.add_argument("--from-settings", action="store_true", help="letterhead from the database settings")
    args = parser.parse_args()

    letterhead = letterhead_on(samples.ISSUED_ON) if args.from_settings else samples.LETTERHEAD
    render_pdf(samples.decision_notice(), letterhead=letterhead)  # warm-up: cmaps, templates, fonts

    sheet = samples.confirmation_sheet(name=samples.GAIJI_NAME + "・" + samples.IVS_NAME)
    results = [measure("確認書", sheet, letterhead, max(args.repeat, 5))]
    results.append(measure("提供状況", report_for_pages(args.pages, letterhead), letterhead, args.repeat))

    worst = max(real for real, _ in results)
    worst_ratio = max(real / raw for real, raw in results)
    verdict = "OK" if worst <= 250 and worst_ratio <= 1.3 else "OVER TARGET"
    print(f"targets: ≤ 250 ms/page (worst {worst:.1f}), ratio ≤ 1.3 (worst {worst_ratio:.2f}): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
