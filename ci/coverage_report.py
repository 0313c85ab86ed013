#!/usr/bin/env python3
"""Summarises an `llvm-cov export` of the numerics (called by ci/coverage.sh).

Prints a per-file table (regions / lines / branches) to stdout and writes the
Markdown report: the table by spec section, every branch outcome the corpus
never takes (file:line, the condition, which outcome) and every function it
never runs, each with the explanation from ci/coverage-notes.tsv (why it is
unreachable by a valid input, or which case reaches it).
"""

import argparse
import json
import os
import re
import sys

# Spec section of each file of the §1–§7 code (order = report order).
SECTIONS = [
    ("src/numerics/mod.rs", "§1", "clamp_i8, argmax"),
    ("src/numerics/rounding.rs", "§1", "rounding shifts and divisions, isqrt"),
    ("src/tables.rs", "§2", "exp2 / RoPE table formulas, stored-table check"),
    ("src/numerics/exp.rs", "§3 §6", "exp(d; coef), ATTN_COEF_Q24"),
    ("src/model/layers.rs", "§5", "requantize, linear, RMSNorm, ReGLU, RoPE (reference)"),
    ("src/model/attention.rs", "§5", "score, online softmax, attention step (reference)"),
    ("src/model/batch_attention.rs", "§5", "attention softmax, segment form (prefill / lockstep)"),
    ("src/model/kernels/elementwise.rs", "§5 §6", "branch-free requantize, RMSNorm, ReGLU, RoPE, scores, exp"),
    ("src/model/kernels/mod.rs", "§5", "Linear: kernel choice, gemm"),
    ("src/model/kernels/packed.rs", "§5", "Linear: packed weights"),
    ("src/model/kernels/scalar.rs", "§5", "Linear: scalar kernel"),
    ("src/model/kernels/avx2.rs", "§5", "Linear: AVX2 kernel"),
    ("src/model/kernels/avx512.rs", "§5", "Linear: AVX-512 VNNI kernel"),
    ("src/model/kernels/values.rs", "§5", "attention: value cache, portable weighted sum"),
    ("src/model/kernels/attention_avx512.rs", "§5", "attention: fused AVX-512 VNNI softmax and value sum"),
    ("src/model/kernels/exps.rs", "§5 §6", "exp over slices: portable and AVX-512 register lookup"),
    ("src/model/forward.rs", "§6", "one-token forward pass (reference)"),
    ("src/model/batch.rs", "§6", "batched forward pass (prefill / lockstep)"),
    ("src/freq_table.rs", "§6", "frequency table"),
    ("src/coder/mod.rs", "§7", "table checks, interval update"),
    ("src/coder/encoder.rs", "§7", "encoder, finish"),
    ("src/coder/decoder.rs", "§7", "decoder"),
    ("src/coder/bit_io.rs", "§7", "MSB-first bit packing"),
]


def esc(cell):
    """A markdown table cell's `|` escaped."""
    return cell.replace("|", "\\|")


def section_table(md, title, header, rows):
    """Appends a `## title` section: a table of `rows` (lists of markdown
    cells) under `header`, or "None." when there are none."""
    md.append(f"\n## {title}\n")
    if not rows:
        md.append("None.")
        return
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "---|" * len(header))
    for cells in rows:
        md.append("| " + " | ".join(cells) + " |")


def rel(path):
    i = path.rfind("/src/")
    return path[i + 1:] if i >= 0 else path


def load_notes(path):
    """file \t substring of the source line \t outcome(true|false|both|fn|*) \t reason"""
    notes = []
    if not os.path.exists(path):
        return notes
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 4:
                sys.exit(f"{path}:{n}: expected 4 tab-separated fields, got {len(parts)}")
            notes.append({"file": parts[0], "text": parts[1], "outcome": parts[2], "reason": parts[3], "used": False})
    return notes


def explain(notes, file, src_line, outcome):
    for note in notes:
        if note["file"] == file and note["text"] in src_line and note["outcome"] in (outcome, "*"):
            note["used"] = True
            return note["reason"]
    return "**not yet explained** (add a line to ci/coverage-notes.tsv, or a case that reaches it)"


def pct(covered, count):
    return "-" if count == 0 else f"{100.0 * covered / count:.2f}%"


def cell(s, key):
    c = s[key]
    return f"{c['covered']}/{c['count']}", pct(c["covered"], c["count"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", required=True)
    ap.add_argument("--notes", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--suites", default="")
    ap.add_argument("--kernels", default="")
    ap.add_argument("--kernel-suites", default="")
    a = ap.parse_args()

    data = json.load(open(a.export))["data"][0]
    by_file = {rel(f["filename"]): f for f in data["files"]}
    order = [p for p, _, _ in SECTIONS]
    missing = [p for p in order if p not in by_file]
    extra = sorted(set(by_file) - set(order))
    if extra:
        sys.exit(f"coverage_report.py: no spec section for {extra}: add them to SECTIONS")
    sources = {p: open(p, encoding="utf-8").read().split("\n") for p in order if os.path.exists(p)}
    notes = load_notes(a.notes)

    totals = {k: {"covered": 0, "count": 0} for k in ("regions", "lines", "branches", "functions")}
    rows = []
    for p, sec, what in SECTIONS:
        if p not in by_file:
            continue
        s = by_file[p]["summary"]
        for k in totals:
            totals[k]["covered"] += s[k]["covered"]
            totals[k]["count"] += s[k]["count"]
        rows.append((sec, p, what, s))

    # Branch outcomes never taken (branch regions of the file and of macro expansions in it).
    uncovered = []
    for p in order:
        f = by_file.get(p)
        if not f:
            continue
        seen = set()
        brs = list(f["branches"]) + [b for e in f.get("expansions", []) for b in e["branches"]]
        for b in brs:
            l0, c0, l1, c1, t, fl = b[0], b[1], b[2], b[3], b[4], b[5]
            if (l0, c0, l1, c1) in seen:
                continue
            seen.add((l0, c0, l1, c1))
            if t and fl:
                continue
            outcome = "both" if not t and not fl else ("true" if not t else "false")
            line = sources[p][l0 - 1]
            cond = line[c0 - 1:c1 - 1] if l0 == l1 else line[c0 - 1:].rstrip() + " …"
            uncovered.append((p, l0, c0, cond.strip(), outcome, line.strip(), explain(notes, p, line, outcome)))

    # Functions never run.
    dead = []
    for fn in data["functions"]:
        if fn["count"] != 0 or not fn["filenames"]:
            continue
        p = rel(fn["filenames"][0])
        if p not in sources:
            continue
        l0 = fn["regions"][0][0]
        sig = sources[p][l0 - 1].strip()
        for back in range(0, 4):  # the signature may start a few lines above the body's first region
            cand = sources[p][l0 - 1 - back].strip()
            if re.search(r"\bfn\b|\|.*\|", cand):
                sig = cand
                break
        dead.append((p, l0, sig, explain(notes, p, sig, "fn")))
    dead.sort(key=lambda d: (order.index(d[0]), d[1]))
    dead = [d for i, d in enumerate(dead) if i == 0 or d[:2] != dead[i - 1][:2]]

    # stdout: the table.
    w = max(len(p) for p in order) + 2
    print(f"{'file':<{w}}{'sec':<7}{'regions':>19}{'lines':>19}{'branches':>19}")
    for sec, p, _, s in rows:
        r, l, b = (f"{x[0]:>10} {x[1]:>8}" for x in (cell(s, "regions"), cell(s, "lines"), cell(s, "branches")))
        print(f"{p:<{w}}{sec:<7}{r}{l}{b}")
    r, l, b = (f"{x[0]:>10} {x[1]:>8}" for x in (cell(totals, "regions"), cell(totals, "lines"), cell(totals, "branches")))
    print(f"{'TOTAL':<{w}}{'':<7}{r}{l}{b}")
    unexplained = sum(1 for u in uncovered if u[6].startswith("**")) + sum(1 for d in dead if d[3].startswith("**"))
    print(f"{len(uncovered)} branch outcomes never taken, {len(dead)} functions never run; {unexplained} not explained")

    # Markdown.
    md = []
    md.append("# Branch coverage of the numerics (spec §1–§7) by the golden corpus\n")
    md.append("Written by `ci/coverage.sh` (do not edit; explanations live in `ci/coverage-notes.tsv`).")
    md.append("LLVM source-based coverage (`-C instrument-coverage -Z coverage-options=branch`, nightly) of")
    md.append("`czip-conformance run --impl rust` over the suites below; only the §1–§7 code is counted.\n")
    md.append(f"- suites: {' '.join('`' + s + '`' for s in a.suites.split())}")
    md.append("- matrix kernel: the engine's default (the fastest this CPU runs); "
              + f"{' '.join('`' + s + '`' for s in a.kernel_suites.split())} again with each kernel forced "
              + f"(`run --kernel`): {', '.join('`' + k + '`' for k in a.kernels.split()) or 'none'}")
    md.append("- a *branch* is one outcome (true or false) of a condition of `if`, `while`, `&&`, `||`, `assert!`;")
    md.append("  `match` arms and `?` are regions, not branches.\n")
    md.append("## Per file\n")
    md.append("| § | file | what | regions | | lines | | branches | |")
    md.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for sec, p, what, s in rows:
        r, l, b = cell(s, "regions"), cell(s, "lines"), cell(s, "branches")
        md.append(f"| {sec} | `{p}` | {what} | {r[0]} | {r[1]} | {l[0]} | {l[1]} | {b[0]} | {b[1]} |")
    r, l, b = cell(totals, "regions"), cell(totals, "lines"), cell(totals, "branches")
    md.append(f"| | **total** | | {r[0]} | {r[1]} | {l[0]} | {l[1]} | {b[0]} | {b[1]} |")
    if missing:
        md.append(f"\nNot in the profile (never compiled into czip-conformance): {', '.join(missing)}")
    section_table(md, "Branch outcomes the corpus never takes", ["where", "condition", "never", "why"],
                  [[f"`{p}:{l0}:{c0}`", f"`{esc(cond)}`", outcome, esc(why)] for p, l0, c0, cond, outcome, _, why in uncovered])
    section_table(md, "Functions the corpus never runs", ["where", "function", "why"],
                  [[f"`{p}:{l0}`", f"`{esc(sig.rstrip('{ '))}`", esc(why)] for p, l0, sig, why in dead])
    stale = [n for n in notes if not n["used"]]
    if stale:
        md.append("\n## Notes that matched nothing (branches now covered, or moved)\n")
        for n in stale:
            md.append(f"- `{n['file']}` `{n['text']}` ({n['outcome']})")
    with open(a.md, "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
