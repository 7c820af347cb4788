"""One profile's systems trained under two settings, compared with paired bootstrap intervals over the dev examples.

The quick profile's bf16 autocast (a speed setting) was checked this way against the same profile in float32:

    .venv/bin/python -m mtdnn_lite reproduce --profile quick --set mixed_precision=no --runs runs/fp32   # B
    .venv/bin/python -m mtdnn_lite reproduce --profile quick                                            # A
    .venv/bin/python benchmarks/compare_settings.py --profile quick --a runs --b runs/fp32 \\
        --label "bf16 − fp32" --out results/quick/bf16_vs_fp32.md

For each system (stage) it writes Δ = A − B per task and on average, with the 95 % paired bootstrap interval
(mtdnn_lite.reporting.intervals.compare with b_roots) and the verdict; one seed each unless several roots are given.
"""

import argparse
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from mtdnn_lite.experiments.profiles import get_profile  # noqa: E402
from mtdnn_lite.reporting.intervals import N_RESAMPLES, Comparison, compare  # noqa: E402
from mtdnn_lite.reporting.results import markdown_table  # noqa: E402


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick", help="the profile whose runs are compared")
    parser.add_argument("--a", nargs="+", type=Path, required=True, help="runs folder(s) of setting A, one per seed")
    parser.add_argument("--b", nargs="+", type=Path, required=True, help="runs folder(s) of setting B, one per seed")
    parser.add_argument("--systems", nargs="+", default=["st", "refine", "student_refine"],
                        help="stages compared (student_refine: MT-DNN-KD)")
    parser.add_argument("--label", default="A − B", help="what Δ is, e.g. 'bf16 − fp32'")
    parser.add_argument("--out", type=Path, help="where to write the Markdown (default: print only)")
    args = parser.parse_args(argv)
    if len(args.a) != len(args.b):
        parser.error("--a and --b need one runs folder per seed each")
    profile = get_profile(args.profile)
    parts = [f"# {args.label} ({profile.name} profile, {len(args.a)} seed(s))\n\n"
             f"Δ = A − B in task score ×100 on the same dev (or dev-proxy) examples; [low, high]: 95 % paired "
             f"bootstrap interval ({N_RESAMPLES} resamples, mtdnn_lite.reporting.intervals). A: {' '.join(map(str, args.a))}; "
             f"B: {' '.join(map(str, args.b))}. Made by `python benchmarks/compare_settings.py "
             f"{shlex.join(sys.argv[1:] if argv is None else argv)}`.\n"]
    for system in args.systems:
        table = compare([root / profile.name for root in args.a], Comparison(args.label, system, system),
                        profile.tasks, b_roots=[root / profile.name for root in args.b])
        shown = pd.DataFrame({"task": table.task, "A": table.a.round(1), "B": table.b.round(1),
                              "Δ": table.delta.round(1),
                              "95 % interval": [f"[{lo:.1f}, {hi:.1f}]" for lo, hi in zip(table.low, table.high)],
                              "verdict": table.verdict})
        tasks = table[table.task != "average"]
        parts.append(f"## {system}\n\nA higher on {int((tasks.delta > 0).sum())} of {len(tasks)} tasks; interval "
                     f"above 0 on {int((tasks.verdict == 'better').sum())}, below 0 on "
                     f"{int((tasks.verdict == 'worse').sum())}.\n\n" + markdown_table(shown) + "\n")
    text = "\n".join(parts)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
