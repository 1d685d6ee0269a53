"""Page time of the printed documents (issue 7): render_pdf against bare WeasyPrint on the same HTML.

Real path: disclosure.pdf.render_pdf (〓 check over every string with fontTools cmaps, Django template,
WeasyPrint layout and PDF, page count, SHA-256). Baseline: weasyprint.HTML(string=html).write_pdf() on the
HTML the real path produced. The data carry 外字 (private use) and IVS runs, so the 〓 check has work to do.
Runs alternate real/bare to share the machine's load; medians and bests (best-of-N, timeit's convention
for a shared machine) are printed with the load average. Targets: ≤ 250 ms per page,
ratio ≤ 1.3.

    python bench/pdf.py [--repeat 3] [--pages 50] [--from-settings]

--from-settings reads the letterhead from the database (needs migrations); by default the Yamaguchi
sample letterhead is used and no database is touched.
"""

from __future__ import annotations

import argparse
import logging
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
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # one line per page otherwise

from weasyprint import HTML  # noqa: E402

from disclosure.pdf import render_html, render_pdf, samples  # noqa: E402
from disclosure.pdf.render import Letterhead, letterhead_on  # noqa: E402
from jukinet.env import BASE_DIR  # noqa: E402


def bare(html: str) -> int:
    document = HTML(string=html, base_url=str(BASE_DIR)).render()
    document.write_pdf()
    return len(document.pages)


def measure(label: str, document: Any, letterhead: Letterhead | None, repeat: int) -> dict[str, float]:
    start = time.perf_counter()
    html, substituted = render_html(document, letterhead=letterhead)
    prepare_ms = (time.perf_counter() - start) * 1000  # 〓 check + template, the part bare WeasyPrint skips
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
    result = {
        "median": statistics.median(real_ms),
        "median_bare": statistics.median(bare_ms),
        "best": min(real_ms),
        "best_bare": min(bare_ms),
    }
    print(
        f"{label}: {rendered.pages} pages, {len(substituted)} 〓 substitutions, {repeat} runs each\n"
        f"  median: render_pdf {result['median']:.1f} ms/page"
        f" | bare WeasyPrint {result['median_bare']:.1f} ms/page"
        f" | ratio {result['median'] / result['median_bare']:.2f}\n"
        f"  best:   render_pdf {result['best']:.1f} ms/page"
        f" | bare WeasyPrint {result['best_bare']:.1f} ms/page"
        f" | ratio {result['best'] / result['best_bare']:.2f}\n"
        f"  〓 check + template: {prepare_ms:.1f} ms per document"
    )
    return result


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
    results = [measure("確認書", sheet, letterhead, max(args.repeat * 5, 15))]  # 1 page: more runs, less noise
    results.append(measure("提供状況", report_for_pages(args.pages, letterhead), letterhead, args.repeat))

    for stat in ("median", "best"):
        worst = max(r[stat] for r in results)
        worst_ratio = max(r[stat] / r[f"{stat}_bare"] for r in results)
        verdict = "OK" if worst <= 250 and worst_ratio <= 1.3 else "OVER TARGET"
        print(f"targets ({stat}): ≤ 250 ms/page (worst {worst:.1f}), ratio ≤ 1.3 (worst {worst_ratio:.2f}): {verdict}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
