"""Render the benchmark results in `benchmarks/results/` as Markdown (and, with --readme, into the README's
`<!-- bench:start -->` ... `<!-- bench:end -->` block). Every number comes from a JSON written by a benchmark run:

    prune_table.json            python benchmarks/prune_table.py --out benchmarks/results/prune_table.json
    eval_<name>_l<limit>.json   restorelcc evaluate --model ... --tasks paper --limit 200 --out ...
    restore_run.json            run.json of `restorelcc restore` (benchmarks/restore_smollm2.sh)

    python benchmarks/report.py [--dir benchmarks/results] [--readme README.md]
"""
import argparse, json
from pathlib import Path

TASKS = ["boolq", "rte", "hellaswag", "winogrande", "arc_easy", "arc_challenge", "openbookqa", "piqa"]


def prune_md(t: dict) -> list[str]:
    out = [f"Pruning ({t['model']}; calibration {t['n_calib']} × {t['seqlen']} packaged c4 windows, seed {t['seed']}; "
           f"perplexity on {t['ppl_windows']} × {t['seqlen']} held-out wiki windows):", "",
           "| row | perplexity | achieved sparsity | parameters | non-zero | prune time (s) |", "|---|---|---|---|---|---|"]
    out += [f"| {r['row']} | {r['ppl']:.2f} | {r['achieved']:.4f} | {r['params']:,} | {r['nonzero']:,} | "
            f"{r['prune_seconds']:.0f} |" for r in t["rows"]]
    return out + [""]


def eval_md(evals: dict[str, dict]) -> list[str]:
    tasks = [t for t in TASKS if any(t in e["tasks"] for e in evals.values())]
    out = ["| model | " + " | ".join(tasks) + " | mean acc (7) | time (s) |", "|---" * (len(tasks) + 3) + "|"]
    for name, e in evals.items():
        cells = [f"{100*e['tasks'][t]['acc']:.1f} / {100*e['tasks'][t]['acc_norm']:.1f}" if t in e["tasks"] else "–"
                 for t in tasks]
        mean = f"{100*e['mean_acc']:.2f}" if e.get("mean_acc") is not None else "–"
        out.append(f"| {name} | " + " | ".join(cells) + f" | {mean} | {e['total_seconds']:.0f} |")
    return out + [""]


def per_task_md(e: dict) -> list[str]:
    out = ["| task | split | docs | acc | acc_norm | time (s) | tokens/s |", "|---|---|---|---|---|---|---|"]
    for t in TASKS:
        if t not in e["tasks"]: continue
        v = e["tasks"][t]
        out.append(f"| {t} | {v['split']} | {v['docs']} of {v['docs_total']} | {100*v['acc']:.1f} ± {100*v['acc_stderr']:.1f} "
                   f"| {100*v['acc_norm']:.1f} ± {100*v['acc_norm_stderr']:.1f} | {v['seconds']:.0f} | {v['tokens_per_s']:.0f} |")
    return out + [""]


def render(d: Path) -> str:
    out = []
    if (d/"prune_table.json").exists(): out += prune_md(json.loads((d/"prune_table.json").read_text()))
    for limit in sorted({int(p.stem.rsplit("_l", 1)[1]) for p in d.glob("eval_*_l*.json")}):
        evals = {p.stem.split("_")[1]: json.loads(p.read_text()) for p in sorted(d.glob(f"eval_*_l{limit}.json"))}
        order = {"dense": 0, "pruned": 1, "restored": 2}
        evals = dict(sorted(evals.items(), key=lambda kv: order.get(kv[0], 9)))
        out += [f"Zero-shot accuracy through lm-eval, first {limit} documents per task (acc / acc_norm, %; "
                f"stderr ≈ {100*max(v['acc_stderr'] for e in evals.values() for v in e['tasks'].values()):.1f} points):", ""]
        out += eval_md(evals)
        if len(evals) == 1: out += per_task_md(next(iter(evals.values())))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(Path(__file__).parent/"results"))
    ap.add_argument("--readme", default=None)
    a = ap.parse_args(argv)
    md = render(Path(a.dir))
    if a.readme:
        p = Path(a.readme); text = p.read_text(); s, e = "<!-- bench:start -->", "<!-- bench:end -->"
        assert s in text and e in text, f"{p} has no {s} ... {e} block"
        p.write_text(text[:text.index(s) + len(s)] + "\n" + md + "\n" + text[text.index(e):])
    print(md)


if __name__ == "__main__":
    main()
