"""Benchmark: rendering letters (issue 7): per letter against a minimal one-page ReportLab document, and a
1,000-letter batch with the process's memory sampled as it goes.

    python bench/bench_letters.py [--letters 1000] [--repeat 30] [--json]

Measures, in one run, on one core:
  baseline        a minimal one-page ReportLab document: one paragraph in an embedded TrueType font (Noto Sans)
  member letter   compose + lint + render of the member's denial notice (letter, "Your Rights", Nondiscrimination
                  Notice and the taglines in 18 languages and 11 fonts, shaped by HarfBuzz): 7 pages
  provider letter the same for the provider's version (2 pages)
  batch           --letters letters of every kind, recipient and language, one after another, as a coordinator's
                  morning would render them; resident memory (RSS) sampled every 100 letters
Per-letter figures: the best mean of --repeat passes, and the median.
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab.lib.pagesizes import LETTER  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.platypus import Paragraph, SimpleDocTemplate  # noqa: E402

from app.domain.letters import lint  # noqa: E402
from app.letters import compose, fonts, render, samples, templates  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def baseline() -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=LETTER, invariant=1)
    doc.build([Paragraph("Notice of Action. We denied your request.",
                         ParagraphStyle("p", fontName=fonts.BODY, fontSize=11))])
    return out.getvalue()


def one_letter(kind: str, recipient: str, language: str, lob: str = "medi-cal") -> bytes:
    facts = samples.sample_facts(kind, language, lob)
    content = compose.build(facts, kind=kind, recipient=recipient, language=language, notice_date=samples.NOTICE_DATE)
    result = lint(content)
    assert not result.blocked, result.problems
    return render.render(content, templates.plan_profile())


def timed(work, repeat: int, inner: int) -> tuple[float, float, float]:
    """(best mean wall, median wall, best mean CPU) in milliseconds over `repeat` passes of `inner` calls. CPU
    time (this process only) is what to compare on a machine shared with other work."""
    means, singles, cpu = [], [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(inner):
            t0 = time.perf_counter()
            work()
            singles.append(time.perf_counter() - t0)
        means.append((time.perf_counter() - start) / inner)
        cpu.append((time.process_time() - cpu_start) / inner)
    return min(means) * 1000, statistics.median(singles) * 1000, min(cpu) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    fonts.register()
    one_letter("denial-medical-necessity", "member", "en")  # warm: fonts parsed, templates read, HarfBuzz faces
    baseline()
    results = {"python": platform.python_version(), "machine": platform.processor() or platform.machine()}
    results["baseline_ms"], results["baseline_median_ms"], results["baseline_cpu_ms"] = timed(baseline, args.repeat, 5)
    results["member_ms"], results["member_median_ms"], results["member_cpu_ms"] = timed(
        lambda: one_letter("denial-medical-necessity", "member", "en"), args.repeat, 3)
    results["provider_ms"], results["provider_median_ms"], results["provider_cpu_ms"] = timed(
        lambda: one_letter("denial-medical-necessity", "provider", "en"), args.repeat, 3)
    results["member_es_ms"], _, results["member_es_cpu_ms"] = timed(
        lambda: one_letter("modification", "member", "es"), max(5, args.repeat // 3), 3)
    mix = samples.sample_letters()
    gc.collect()
    memory = [(0, round(rss_mib(), 1))]
    start, cpu_start = time.perf_counter(), time.process_time()
    total_pages = 0
    for n in range(1, args.letters + 1):
        lob, kind, recipient, language = mix[n % len(mix)]
        pdf = one_letter(kind, recipient, language, lob)
        total_pages += len(re.findall(rb"/Type /Page\b", pdf))
        if n % 100 == 0:
            memory.append((n, round(rss_mib(), 1)))
    results["batch_letters"] = args.letters
    results["batch_s"] = time.perf_counter() - start
    results["batch_cpu_s"] = time.process_time() - cpu_start
    results["batch_pages"] = total_pages
    results["batch_per_letter_ms"] = results["batch_s"] * 1000 / args.letters
    results["batch_rss_mib"] = memory
    results["member_ratio"] = results["member_cpu_ms"] / results["baseline_cpu_ms"]
    results["provider_ratio"] = results["provider_cpu_ms"] / results["baseline_cpu_ms"]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("                                 wall ms  median   CPU ms  CPU ratio to baseline")
    for label, key in (("baseline one-page document", "baseline"), ("member denial letter (7 pages)", "member"),
                       ("provider denial letter (2 pp)", "provider")):
        ratio = results[f"{key}_cpu_ms"] / results["baseline_cpu_ms"]
        print(f"{label:<32} {results[f'{key}_ms']:7.2f} {results[f'{key}_median_ms']:7.2f} "
              f"{results[f'{key}_cpu_ms']:8.2f}  {ratio:5.1f}x")
    print(f"{'Spanish modification (member)':<32} {results['member_es_ms']:7.2f}         "
          f"{results['member_es_cpu_ms']:8.2f}")
    print(f"batch of {args.letters} letters (all kinds)  {results['batch_s']:.1f} s wall, "
          f"{results['batch_cpu_s']:.1f} s CPU, {results['batch_per_letter_ms']:.1f} ms per letter, "
          f"{results['batch_pages']} pages")
    print("RSS MiB by letters rendered     " + ", ".join(f"{n}: {mib}" for n, mib in memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
