"""Render the benchmark results in `benchmarks/results/` as Markdown (and, with --readme, into the README's
`<!-- bench:start -->` ... `<!-- bench:end -->` block). Every number comes from a JSON written by a benchmark run:

    prune_table.json            python benchmarks/prune_table.py --out benchmarks/results/prune_table.json
    eval_<name>_l<limit>.json   restorelcc evaluate --model ... --tasks paper --limit 200 --out ...
    restore_run.json            run.json of `restorelcc restore` (benchmarks/restore_smollm2.sh)
    restore_<method>.json       run.json of `restorelcc restore --method <method>` (benchmarks/baselines_smollm2.sh),
                                beside its eval_<method>_l<limit>.json: the baselines table

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


METHODS = {"lora": "LoRA", "dora": "DoRA", "lofit": "LoFiT", "lcc-training-free": "training-free (b = mean ΔZ)",
           "restorelcc": "RestoreLCC"}


def baselines_md(d: Path) -> list[str]:
    "One row per restore_<method>.json with its eval_<method>_l*.json; the pruned row from eval_pruned + prune_table."
    runs = {m: json.loads((d/f"restore_{m}.json").read_text()) for m in METHODS if (d/f"restore_{m}.json").exists()}
    if not runs: return []
    def ev(name):
        p = sorted(d.glob(f"eval_{name}_l*.json"))
        return json.loads(p[0].read_text()) if p else None
    cfg = next(iter(runs.values()))["config"]
    out = [f"Restoration methods on {next(iter(runs.values()))['pruned']} (SmolLM2-135M, Wanda 50 %), one budget for "
           f"every method: {cfg['max_steps']} optimizer steps of {cfg['batch_size']*cfg['grad_accum']} Alpaca examples "
           f"(max length {cfg['max_length']}), AdamW lr {cfg['lr']}, seed {cfg['seed']}; head methods on "
           f"{cfg['heads']:.0%} of heads; LoRA/DoRA r {cfg['lora_r']} on every linear, unmerged; LoFiT spends the "
           "budget twice (scalings, then biases). Perplexity on 64 × 512 wiki windows; accuracy at limit 200:", "",
           "| method | perplexity | mean acc (7) | trainable params | restore time (s) | linear sparsity after |",
           "|---|---|---|---|---|---|"]
    pruned, pt = ev("pruned"), d/"prune_table.json"
    ppl = next((r["ppl"] for r in json.loads(pt.read_text())["rows"] if r["row"] == "wanda-50%"), None) if pt.exists() else None
    if pruned: out.append(f"| pruned | {ppl:.2f} | {100*pruned['mean_acc']:.2f} | 0 | – | 0.5000 |")
    for m, r in runs.items():
        e, t = ev(m), r["seconds"]
        split = f" (score {t['score']:.0f} + train {t['train']:.0f})" if "train" in t else ""
        acc = f"{e['perplexity']['ppl']:.2f} | {100*e['mean_acc']:.2f}" if e else "– | –"
        sp = e["efficiency"]["linear_sparsity"] if e and "efficiency" in e else r["linear_sparsity_after"]
        out.append(f"| {METHODS[m]} | {acc} | {r['trainable_params']:,} | {t['total']:.0f}{split} | {sp:.4f} |")
    return out + ["", "Restore time is the whole `restore` stage on 2 CPU cores; head scoring read the activation cache "
                  "where one existed. Sparsity is that of the pruned decoder linears as evaluated (LoRA/DoRA adapters are "
                  "kept unmerged beside them).", ""]


def render(d: Path) -> str:
    out = []
    if (d/"prune_table.json").exists(): out += prune_md(json.loads((d/"prune_table.json").read_text()))
    for limit in sorted({int(p.stem.rsplit("_l", 1)[1]) for p in d.glob("eval_*_l*.json")}):
        evals = {p.stem.split("_")[1]: json.loads(p.read_text()) for p in sorted(d.glob(f"eval_*_l{limit}.json"))}
        order = {"dense": 0, "pruned": 1, "restored": 2, **{m: 3 + i for i, m in enumerate(METHODS)}}
        evals = dict(sorted(evals.items(), key=lambda kv: order.get(kv[0], 9)))
        out += [f"Zero-shot accuracy through lm-eval, first {limit} documents per task (acc / acc_norm, %; "
                f"stderr ≈ {100*max(v['acc_stderr'] for e in evals.values() for v in e['tasks'].values()):.1f} points):", ""]
        out += eval_md(evals)
        if len(evals) == 1: out += per_task_md(next(iter(evals.values())))
    out += baselines_md(d)
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
