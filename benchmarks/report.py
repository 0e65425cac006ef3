"""Render the benchmark results in `benchmarks/results/` as Markdown into the generated blocks of README files:
`<!-- bench:start -->` ... `<!-- bench:end -->` (every table below; benchmarks/README.md) and `<!-- demo:start -->` ...
`<!-- demo:end -->` (the demo's last screen; README.md). Every number comes from a JSON written by a run:

    demo.json                   runs/demo/demo.json of `make demo` (restorelcc demo), copied here

    prune_table.json            python benchmarks/prune_table.py --out benchmarks/results/prune_table.json
    eval_<name>_l<limit>.json   restorelcc evaluate --model ... --tasks paper --limit 200 --out ...
    restore_run.json            run.json of `restorelcc restore` (benchmarks/restore_smollm2.sh)
    restore_<method>.json       run.json of `restorelcc restore --method <method>` (benchmarks/baselines_smollm2.sh),
                                beside its eval_<method>_l<limit>.json: the baselines table

    train_throughput.json       python benchmarks/train_throughput.py [--methods]; an earlier run kept as
    train_throughput_<cpu>.json (another CPU's run, renamed) is rendered too, each with its machine
    lora_dropout_cost.json      python benchmarks/lora_dropout_cost.py
    eval_throughput.json        python benchmarks/eval_throughput.py

    python benchmarks/report.py --readme README.md --readme benchmarks/README.md     [--check: exit 1 if a block is stale]
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


# (label, run.json copy, task evaluation, perplexity-only evaluation): the rows of the baselines table
BASELINES = [("LoRA", "restore_lora.json", "eval_lora_l200.json", None),
             ("DoRA", "restore_dora.json", "eval_dora_l200.json", None),
             ("LoFiT", "restore_lofit.json", "eval_lofit_l200.json", None),
             ("training-free (b = mean ΔZ)", "restore_lcc-training-free.json", "eval_lcc-training-free_l200.json", None),
             ("RestoreLCC", "restore_run.json", "eval_restored_l200.json", "ppl_restored.json")]


def _load(d: Path, name):
    return json.loads((d/name).read_text()) if name and (d/name).exists() else None


def _no_boolq(e: dict) -> str:
    "Mean acc over the paper's tasks except BoolQ, whose acc swings with a yes/no bias ('yes' is 63.5 % of the first 200)."
    accs = [e["tasks"][t]["acc"] for t in e["mean_acc_tasks"] if t != "boolq"]
    return f"{100*sum(accs)/len(accs):.2f}"


def baselines_md(d: Path) -> list[str]:
    "The restoration-methods table: one row per BASELINES entry whose run.json copy exists, after the pruned row."
    rows = [(label, run, _load(d, e), _load(d, p)) for label, r, e, p in BASELINES if (run := _load(d, r))]
    if not rows: return []
    cfg = rows[0][1]["config"]
    out = [f"Restoration methods on {rows[0][1]['pruned']} (SmolLM2-135M, Wanda 50 %), one budget for every method: "
           f"{cfg['max_steps']} optimizer steps of {cfg['batch_size']*cfg['grad_accum']} Alpaca examples (max length "
           f"{cfg['max_length']}), AdamW lr {cfg['lr']}, seed {cfg['seed']}; head methods on {cfg['heads']:.0%} of heads; "
           f"LoRA/DoRA r {cfg['lora_r']} on every linear, unmerged; LoFiT spends the budget twice (scalings, then "
           "biases). Perplexity on 64 × 512 wiki windows; accuracy at limit 200 (stderr ≈ 3.5 points per task):", "",
           "| method | perplexity | mean acc (7) | mean acc without BoolQ (6) | trainable params | restore time (s) | "
           "linear sparsity after |", "|---|---|---|---|---|---|---|"]
    pruned, pt = _load(d, "eval_pruned_l200.json"), _load(d, "prune_table.json")
    ppl = next((r["ppl"] for r in pt["rows"] if r["row"] == "wanda-50%"), None) if pt else None
    dense = _load(d, "eval_dense_l200.json")
    dppl = next((r["ppl"] for r in pt["rows"] if r["row"] == "dense"), None) if pt else None
    if dense and dppl: out.append(f"| dense (reference) | {dppl:.2f} | {100*dense['mean_acc']:.2f} | {_no_boolq(dense)} | – | – | 0 |")
    if pruned and ppl: out.append(f"| pruned | {ppl:.2f} | {100*pruned['mean_acc']:.2f} | {_no_boolq(pruned)} | 0 | – | 0.5000 |")
    for label, r, e, p in rows:
        t = r["seconds"]
        split = f" (score {t['score']:.0f} + train {t['train']:.0f})" if "train" in t else ""
        ev_ppl = (e or {}).get("perplexity") or (p or {}).get("perplexity")
        eff = (e or {}).get("efficiency") or (p or {}).get("efficiency")
        acc = f"{100*e['mean_acc']:.2f} | {_no_boolq(e)}" if e else "– | –"
        sp = eff["linear_sparsity"] if eff else r["linear_sparsity_after"]
        ppl_s = f"{ev_ppl['ppl']:.2f}" if ev_ppl else "–"
        out.append(f"| {label} | {ppl_s} | {acc} | {r['trainable_params']:,} | {t['total']:.0f}{split} | {sp:.4f} |")
    return out + ["", "Restore time is the whole `restore` stage on 2 CPU cores (the first RestoreLCC run shared the "
                  "machine with other jobs); head scoring read the activation cache where one existed. Sparsity is that "
                  "of the pruned decoder linears as evaluated (LoRA/DoRA adapters are kept unmerged beside them). BoolQ's acc "
                  "moves with a yes/no bias ('yes' is 63.5 % of its first 200 documents, so always-yes scores 63.5), "
                  "hence the column without it.", ""]


def _machine(r: dict) -> str:
    c = r["ceiling_gflops"]
    return (f"{r['machine']['cpu']}, {r['machine']['threads']} threads, torch {r['machine']['torch']}; fp32 matmul ceiling "
            f"measured in the same run: {c['mkl_fp32']:.0f} GFLOP/s through PyTorch's default (MKL), "
            f"{c['onednn_fp32']:.0f} through oneDNN")


def train_throughput_md(r: dict) -> list[str]:
    "The training-speed table of benchmarks/train_throughput.py."
    out = [f"Restoration training speed (`{r['command']}`, {r['date']}): {r['model']}, {r['heads']} of {r['n_heads_total']} "
           f"heads, the first {r['n_examples']} Alpaca examples (max length {r['max_length']}), {r['steps']} optimizer steps "
           f"of 8 examples per variant, the same steps for every variant, the first untimed. {_machine(r)}. "
           f"% of ceiling: useful FLOPs ({r['useful_gflop_per_real_token']:.3f} GFLOP per real token: forward plus "
           "activation backward) per second over the faster fp32 kernel's rate.", "",
           "| variant | s / step | real tokens/s | padded tokens/s | % of fp32 ceiling | speed-up | peak RSS (MB) | max |Δ loss| vs today |",
           "|---|---|---|---|---|---|---|---|"]
    route = lambda x: "" if "oneDNN" in x["name"] else f" [oneDNN route {'on' if x['settings'].get('onednn') else 'off'}]"
    out += [f"| {x['name']}{route(x)} | {x['seconds_per_step']:.2f} | {x['real_tokens_per_s']:.0f} | {x['padded_tokens_per_s']:.0f} | "
            f"{x['pct_fp32_ceiling']:.1f} | {x['speedup']:.2f}× | {x['peak_rss_mb']:.0f} | {x['max_loss_diff']:.1e} |" for x in r["rows"]]
    return out + [""] + methods_md(r)


def methods_md(r: dict) -> list[str]:
    "Every restoration method's training speed at its experiments' recipe (`--methods`), oneDNN route off and on."
    if not r.get("methods"): return []
    fused = ", fused with the cross-entropy" if any(x["settings"].get("fused_head") for x in r["rows"]) else ""
    out = [f"Every method at the recipe the experiments train it with, on the default path (2 × 4 length-grouped "
           f"micro-batches, lm_head at the labelled positions{fused}), the same {r['steps'] - 1} timed steps for every row, "
           "oneDNN route off and on (oneDNN faster on this CPU by the package's own test: "
           f"{'yes' if r.get('onednn_faster') else 'no'}). % of ceiling counts the model's useful FLOPs (forward plus "
           "activation backward down to the lowest trained layer), not an adapter's own or DoRA's second product "
           "with the frozen weight.", "",
           "| method | oneDNN route | s / step | real tokens/s | % of fp32 ceiling | × RestoreLCC (same route) | max |Δ loss| route on vs off |",
           "|---|---|---|---|---|---|---|"]
    out += [f"| {x['method']} | {'on' if x['onednn'] else 'off'} | {x['seconds_per_step']:.2f} | {x['real_tokens_per_s']:.0f} | "
            f"{x['pct_fp32_ceiling']:.1f} | {x['vs_restorelcc']:.2f}× | {x['max_loss_diff_onednn']:.1e} |" for x in r["methods"]]
    if r.get("dora_norm"):
        d = r["dora_norm"]; t = d["seconds_per_step"]
        out += ["", f"DoRA's column norm (`--dora-norm`): {t['per forward (peft)']:.2f} s/step computed at every forward "
                f"(peft) against {t['per step']:.2f} once a step (`lora_model`'s default), best of {d['reps']} alternating runs: "
                f"{d['speedup']:.2f}×; the losses {'identical' if d['losses_equal'] else 'DIFFER'}."]
    prof = [x for x in r["methods"] if x.get("top_ops")]
    if prof:
        out += ["", "Where a step's time goes (`--profile`: one more step of each method under torch.profiler, on the route "
                "this CPU takes by default; each operator's self CPU time as a share of the step's, the top eight):", ""]
        out += [f"- {x['method']}: " + ", ".join(f"`{o['op']}` {o['pct']:.0f} %" for o in x["top_ops"][:8]) for x in prof]
    return out + [""]


def eval_throughput_md(r: dict) -> list[str]:
    "The evaluation-speed table of benchmarks/eval_throughput.py."
    tasks = list(r["rows"][0]["tasks"])
    out = [f"Evaluation speed (`{r['command']}`, {r['date']}): {r['model']}, the first {r['limit']} documents of each task, "
           f"lm-eval batch size {r['batch_size']}. {_machine(r)}. Forward tokens/s per task (padding included, as lm-eval "
           "batches) and, in brackets, the % of the fp32 ceiling that the decoder's linear layers reach.", "",
           "| variant | " + " | ".join(tasks) + " | total (s) | speed-up | same accuracies | max |Δ log-lik| |",
           "|---" * (len(tasks) + 5) + "|"]
    out += [f"| {x['name']} | " + " | ".join(f"{x['tasks'][t]['tokens_per_s']:.0f} ({x['tasks'][t]['pct_fp32_ceiling']:.0f} %)"
                                            for t in tasks)
            + f" | {x['seconds']:.0f} | {x['speedup']:.2f}× | {'yes' if x['same_acc'] else 'no'} | {x['max_loglik_diff']:.1e} |"
            for x in r["rows"]]
    return out + [""]


def determinism_md(d: Path) -> list[str]:
    """Whether a pruning reproduces: under other matmul kernels and thread counts on one CPU
    (benchmarks/prune_determinism.py), and re-made on another CPU, evaluated against the committed pruned row
    (benchmarks/pruning_across_cpus.py)."""
    out = []
    for p in sorted(d.glob("prune_determinism*.json")):
        r = json.loads(p.read_text()); m = r["machine"]
        out += [f"The same pruning under other matmul kernels and thread counts (`python benchmarks/prune_determinism.py`, "
                f"{p.name}): {r['model']}, {r['method']} {r['pattern'] or r['sparsity']}, {r['n_calib']} × {r['seqlen']} "
                f"calibration windows; {m['cpu']}, torch {m['torch']} on its {m.get('capability', '?')} code path"
                + ("; code paths pinned: " + ", ".join(f"{k}={v}" for k, v in r["code_paths"].items()) if r.get("code_paths") else "")
                + ".", "",
                "| calibration | kernel | threads | mask hash | weights hash | seconds |", "|---|---|---|---|---|---|"]
        out += [f"| {x['calib_dtype']} | {x['kernel']} | {x['threads']} | {x['mask_hash']} | {x['weights_hash']} | {x['seconds']:.0f} |"
                for x in r["runs"]] + [""]
    f = d/"pruning_across_cpus.json"
    if f.exists():
        ci = lambda x, s=1: f"{s*x['diff']:+.2f} [{s*x['lo']:+.2f}, {s*x['hi']:+.2f}]"
        out += ["The paper profile's pruning re-made on another CPU and evaluated as the committed pruned row was "
                "(`python benchmarks/pruning_across_cpus.py --regime R`): this CPU's row − the committed row, paired "
                "bootstrap over the same 64 perplexity windows and task documents, 95 %.", "",
                "| regime | calibration | this CPU | its weights | committed row's CPU, weights | ppl here / committed, Δ | "
                "mean acc Δ (points) | documents with the same outcome | largest Δ log-likelihood |", "|---|---|---|---|---|---|---|---|---|"]
        out += [f"| {x['regime']} | {x['calib_dtype']} | {x['machine']['cpu']} (torch's {x['machine'].get('capability', '?')} code path) | "
                f"{x['here']['start_weights']} | {x['committed_cpu']}, {x['committed_start_weights']} | {x['ppl'][0]:.4f} / "
                f"{x['ppl'][1]:.4f}, {ci(x['ppl_diff'])} | {ci(x['acc_diff'], 100)} | {x['docs_same_outcome']} of {x['docs']} | "
                f"{x['max_choice_loglik_diff']:.2g} |" for x in json.loads(f.read_text())] + [""]
    return out


def lora_dropout_md(r: dict) -> list[str]:
    "How much of LoRA's step its dropout is (benchmarks/lora_dropout_cost.py)."
    return [f"LoRA's dropout (`{r['command']}`, {r['date']}; {_machine(r)}): {r['steps'] - 1} timed steps per run, "
            f"best of {r['reps']} alternating runs, the default path with the oneDNN route off: "
            + "; ".join(f"{k} {v:.2f} s/step ({r['vs_restorelcc'][k]:.2f}× RestoreLCC)" for k, v in r["best"].items())
            + ". The recipe's dropout draws a mask for the input of every wrapped linear in every micro-batch.", ""]


def render(d: Path) -> str:
    out = []
    for p in sorted(d.glob("train_throughput*.json")):      # train_throughput.json first, then earlier CPUs' runs
        out += train_throughput_md(json.loads(p.read_text()))
    if (d/"lora_dropout_cost.json").exists(): out += lora_dropout_md(json.loads((d/"lora_dropout_cost.json").read_text()))
    if (d/"eval_throughput.json").exists(): out += eval_throughput_md(json.loads((d/"eval_throughput.json").read_text()))
    if (d/"prune_table.json").exists(): out += prune_md(json.loads((d/"prune_table.json").read_text()))
    for limit in sorted({int(p.stem.rsplit("_l", 1)[1]) for p in d.glob("eval_*_l*.json")}):
        evals = {p.stem.split("_")[1]: json.loads(p.read_text()) for p in sorted(d.glob(f"eval_*_l{limit}.json"))}
        order = {"dense": 0, "pruned": 1, "restored": 2, "lora": 3, "dora": 4, "lofit": 5, "lcc-training-free": 6}
        evals = dict(sorted(evals.items(), key=lambda kv: order.get(kv[0], 9)))
        out += [f"Zero-shot accuracy through lm-eval, first {limit} documents per task (acc / acc_norm, %; "
                f"stderr ≈ {100*max(v['acc_stderr'] for e in evals.values() for v in e['tasks'].values()):.1f} points):", ""]
        out += eval_md(evals)
        if len(evals) == 1: out += per_task_md(next(iter(evals.values())))
    out += baselines_md(d) + determinism_md(d)
    return "\n".join(out)


def demo_md(d: Path) -> str:
    "The demo's last screen as `make demo` printed it, rendered from demo.json by the demo's own formatter."
    from restorelcc.pipeline import format_comparison
    r = json.loads((d/"demo.json").read_text()); m = r["machine"]; t = r["seconds"]
    rates = ", ".join(f"{k.split('_')[0].replace('mkl', 'MKL').replace('onednn', 'oneDNN')} {v:.0f}" for k, v in m.get("matmul_gflops", {}).items())
    return (f"`make demo` on {r['date']} ({m['cpu']}, {m['threads']} threads, torch {m['torch']}; fp32 matmul GFLOP/s measured in "
            f"the same run: {rates}): {t['total']/60:.1f} min in all, of which prune + restore {t['prune_restore']:.0f} s and "
            f"evaluating the three models {t['total'] - t['prune_restore']:.0f} s, from a warm model cache. Its last screen:\n\n"
            "```\n" + format_comparison(r) + "\n```")


BLOCKS = {"bench": render, "demo": demo_md}   # <!-- name:start --> ... <!-- name:end --> -> what fills it


def fill(text: str, d: Path) -> str:
    "`text` with every generated block it holds rendered anew from the JSONs in `d`."
    for name, f in BLOCKS.items():
        s, e = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if s in text and e in text: text = text[:text.index(s) + len(s)] + "\n" + f(d) + "\n" + text[text.index(e):]
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(Path(__file__).parent/"results"))
    ap.add_argument("--readme", action="append", default=[], help="a file whose generated blocks are filled (repeatable)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when a block differs from its JSONs")
    a = ap.parse_args(argv)
    stale = []
    for p in map(Path, a.readme):
        text = p.read_text()
        assert any(f"<!-- {n}:start -->" in text and f"<!-- {n}:end -->" in text for n in BLOCKS), \
            f"{p} has no generated block ({', '.join(f'<!-- {n}:start --> ... <!-- {n}:end -->' for n in BLOCKS)})"
        new = fill(text, Path(a.dir))
        if new != text:
            stale.append(str(p))
            if not a.check: p.write_text(new)
    if a.check: print("stale: " + ", ".join(stale) if stale else "up to date"); return 1 if stale else 0
    if not a.readme: print(render(Path(a.dir)))


if __name__ == "__main__":
    raise SystemExit(main())
