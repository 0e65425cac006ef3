"""Evaluation throughput per task: lm-eval's own HFLM, then each of our two changes, then both, side by side.

One process, the same model and the same first `--limit` documents of each of the paper's 7 tasks for every variant.
For each (variant, task): seconds, tokens through the model's forward (padding included, as lm-eval batches them),
tokens/s, and the share of this machine's fp32 matmul ceiling (measured in the same process) that the decoder's
linear layers reach (2·P per forwarded token: the part of the work no change can remove), and whether the
accuracies and per-document log-likelihoods match lm-eval's HFLM.

    python benchmarks/eval_throughput.py [--model smollm2-135m] [--limit 50] [--batch-size 16]
                                         [--out benchmarks/results/eval_throughput.json]

Run it with nothing else on the machine: a contended timing is not a measurement.
"""
import argparse, sys
from pathlib import Path

import torch
from torch import nn
from restorelcc.core import setup_logging
from restorelcc.data import PAPER_TASKS
from restorelcc.evaluate import evaluate
from restorelcc.models import load_model
from restorelcc.geometry import decoder_layers
from restorelcc.kernels import onednn_faster
sys.path.insert(0, str(Path(__file__).parent))
from train_throughput import save_benchmark
from restorelcc.kernels import matmul_gflops, cpu_name

VARIANTS = [("lm-eval HFLM, MKL (today)", dict(trim_logits=False, onednn=False)),
            ("logits only where read", dict(trim_logits=True, onednn=False)),
            ("oneDNN frozen linears", dict(trim_logits=False, onednn=True)),
            ("both: the default", dict(trim_logits=True, onednn=True))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--limit", type=int, default=50, help="documents per task")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", default="benchmarks/results/eval_throughput.json")
    a = ap.parse_args(argv)
    setup_logging()
    model, tok = load_model(a.model)
    lin = sum(m.in_features*m.out_features for m in decoder_layers(model).modules() if isinstance(m, nn.Linear))
    ceiling = dict(mkl_fp32=matmul_gflops("mkl"), onednn_fp32=matmul_gflops("onednn"))
    ceiling["fp32"] = max(ceiling.values())
    print(f"{cpu_name()}, {torch.get_num_threads()} threads: fp32 matmul {ceiling['mkl_fp32']:.0f} GFLOP/s (MKL), "
          f"{ceiling['onednn_fp32']:.0f} (oneDNN)", flush=True)
    evaluate(model, tok, "arc_easy", limit=2)                               # warm-up: task loading, kernels
    rows = []
    for name, kw in VARIANTS:
        print(f"-- {name}", flush=True)
        r = evaluate(model, tok, PAPER_TASKS, limit=a.limit, batch_size=a.batch_size, samples=True, **kw)
        rows.append(dict(name=name, settings=kw, onednn=r["onednn"], seconds=r["seconds"], mean_acc=r["mean_acc"],
                         tasks={t: dict(seconds=v["seconds"], forward_tokens=v["forward_tokens"], tokens_per_s=v["tokens_per_s"],
                                        pct_fp32_ceiling=100*2*lin*v["tokens_per_s"]/1e9/ceiling["fp32"], acc=v["acc"],
                                        loglikelihoods=[x for s in v["samples"] for x in s["loglikelihoods"]])
                                for t, v in r["tasks"].items()}))
    base = rows[0]
    for r in rows:
        r["speedup"] = base["seconds"]/r["seconds"]
        r["same_acc"] = all(r["tasks"][t]["acc"] == base["tasks"][t]["acc"] for t in PAPER_TASKS)
        r["max_loglik_diff"] = max(abs(x - y) for t in PAPER_TASKS
                                   for x, y in zip(r["tasks"][t]["loglikelihoods"], base["tasks"][t]["loglikelihoods"]))
    print(f"\n{a.model}, first {a.limit} documents of each task, lm-eval batch size {a.batch_size}; tokens/s per task "
          "(% of the fp32 ceiling reached by the decoder linears)")
    print(f"{'variant':<28}" + "".join(f"{t[:10]:>15}" for t in PAPER_TASKS) + f"{'total s':>9}{'speed-up':>9}{'same acc':>9}{'max |Δll|':>10}")
    for r in rows:
        print(f"{r['name']:<28}" + "".join(f"{r['tasks'][t]['tokens_per_s']:>8.0f} ({r['tasks'][t]['pct_fp32_ceiling']:>2.0f}%)"
                                           for t in PAPER_TASKS)
              + f"{r['seconds']:>9.0f}{r['speedup']:>8.2f}x{str(r['same_acc']):>9}{r['max_loglik_diff']:>10.1e}")
    for r in rows:
        for t in r["tasks"].values(): t.pop("loglikelihoods")
    res = dict(model=a.model, limit=a.limit, batch_size=a.batch_size, ceiling_gflops=ceiling, onednn_faster=onednn_faster(),
               decoder_linear_params=lin, rows=rows)
    return save_benchmark(res, a.out)


if __name__ == "__main__":
    main()
