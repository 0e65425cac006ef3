"""How much of a LoRA step (LLM-Pruner recipe) is its dropout: RestoreLCC, LoRA with the recipe's dropout 0.05, and LoRA
without dropout, alternating `--reps` times in one process, the same steps and settings (the default path, oneDNN route
off); seconds per optimizer step, the best of the repetitions, and each as a multiple of RestoreLCC's.

    python benchmarks/lora_dropout_cost.py [--steps 4] [--reps 2] [--out benchmarks/results/lora_dropout_cost.json]

Run it with nothing else on the machine: a contended timing is not a measurement.
"""
import argparse, sys
from pathlib import Path

import torch
sys.path.insert(0, str(Path(__file__).parent))
from train_throughput import save_benchmark, setup, alternate, method_kw
from restorelcc.core import setup_logging
from restorelcc.train import train
from restorelcc.baselines import lora_model
from restorelcc.kernels import matmul_gflops, cpu_name
from restorelcc.compensation import Compensation, attach


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=128, help="Alpaca training examples (train split, first n)")
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps of 8 examples per run (the first untimed)")
    ap.add_argument("--reps", type=int, default=2, help="alternating repetitions of the three runs")
    ap.add_argument("--out", default="benchmarks/results/lora_dropout_cost.json")
    a = ap.parse_args(argv)
    setup_logging()
    model, g, heads, V, ds = setup(a.model, a.n, 500)
    rates = dict(mkl_fp32=matmul_gflops("mkl"), onednn_fp32=matmul_gflops("onednn"))
    print(f"{cpu_name()}, {torch.get_num_threads()} threads: fp32 matmul {rates['mkl_fp32']:.0f} GFLOP/s (MKL), "
          f"{rates['onednn_fp32']:.0f} (oneDNN)", flush=True)
    kw = method_kw(a.steps, False)
    def restorelcc():
        c = Compensation(heads, V, seed=0)
        with attach(model, c): return train(model, ds, params=c.parameters(), lr=1e-3, **kw)
    def lora(dropout: float):
        pm = lora_model(model, 8, 16, dropout, seed=0)
        try: return train(pm, ds, lr=1e-4, **kw)
        finally: pm.unload()
    out = alternate({"RestoreLCC": restorelcc, "LoRA, dropout 0.05 (the recipe)": lambda: lora(0.05),
                     "LoRA, dropout 0": lambda: lora(0.0)}, a.reps)
    runs = {k: [t for t, _ in v] for k, v in out.items()}
    best = {k: min(v) for k, v in runs.items()}
    print("\n".join(f"{k:<34}{v:>7.2f} s/step{v/best['RestoreLCC']:>7.2f}x RestoreLCC" for k, v in best.items()))
    return save_benchmark(dict(model=a.model, steps=a.steps, reps=a.reps, ceiling_gflops=rates, seconds_per_step=runs,
                               best=best, vs_restorelcc={k: v/best["RestoreLCC"] for k, v in best.items()}), a.out)


if __name__ == "__main__":
    main()
