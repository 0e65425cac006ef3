"""Restoration-training throughput: today's loop, each speed change alone, and all of them together, side by side.

One process, the same Alpaca examples and the same optimizer steps for every variant (each variant trains a fresh
compensation of the same heads from the same seed with `restorelcc.train.train`). For each variant: seconds per
optimizer step, real (unpadded) and padded tokens/s, the share of this machine's fp32 matmul ceiling (measured in
the same process) that the useful FLOPs reach, peak RSS, and the first step losses next to today's loop.

    python benchmarks/train_throughput.py [--model smollm2-135m] [--n 128] [--steps 10] [--compile] [--bf16]
                                          [--variants 0 6 7] [--methods] [--out benchmarks/results/train_throughput.json]

`--methods` adds one row per restoration method at the recipe the experiments train it with (RestoreLCC, b-only,
LoRA at LLM-Pruner's recipe, DoRA at LoRA's recipe, LoFiT's step 1 and step 2), each with the oneDNN route off and
on, the same steps for every row: seconds per step and its ratio to RestoreLCC's under the same route.

Useful FLOPs per step: the forward pass over the real tokens (decoder linears 2·P per token, attention
2·H·d·T(T+1) per layer per example, the lm_head 2·V·d per labelled token), plus the activation backward from the
first compensated layer up (the same linears and lm_head again, attention twice); frozen weights need no weight
gradient. The ceiling is the faster of PyTorch's default fp32 matmul (MKL) and oneDNN's, at 2048³. Run it with
nothing else on the machine: a contended timing is not a measurement.
"""
import argparse, re, statistics, sys, time
from pathlib import Path

import torch
from torch import nn
from restorelcc.core import setup_logging, write_json
from restorelcc.data import load_alpaca, alpaca_pair
from restorelcc.models import load_model
from restorelcc.geometry import HeadGeometry, decoder_layers
from restorelcc.kernels import onednn_faster, onednn_grad_faster, matmul_gflops, machine_info, cpu_name
from restorelcc.compensation import Compensation, attach
from restorelcc.pipeline import RestoreConfig
from restorelcc.train import completion_dataset, train, padding_ratio, StepBatchSampler

TODAY = dict(batch_size=2, grad_accum=4, group_by_length=False, head_at_labels=False, fused_head=False, onednn=False)
DEFAULT = dict(group_by_length=True, head_at_labels=True, fused_head=True)      # train()'s defaults: the default path
VARIANTS = [  # (name, train() settings): today's loop, each change alone, then together
    ("today's loop (2 x 4, random pairs, full logits, MKL)", {}),
    ("length-grouped micro-batches", dict(group_by_length=True)),
    ("lm_head only at labelled positions", dict(head_at_labels=True)),
    ("oneDNN frozen linears", dict(onednn=True)),
    ("micro-batch 1 x 8 (no padding)", dict(batch_size=1, grad_accum=8)),
    ("all, at 1 x 8", dict(batch_size=1, grad_accum=8, group_by_length=True, head_at_labels=True, fused_head=True, onednn=True)),
    ("round 1: all but the fused head, oneDNN route on", dict(group_by_length=True, head_at_labels=True, onednn=True)),
    ("round 1: all but the fused head, oneDNN route off", dict(group_by_length=True, head_at_labels=True, onednn=False)),
    ("fused lm_head + cross-entropy", dict(head_at_labels=True, fused_head=True)),
    ("all, 2 x 4, oneDNN route on: the default where onednn_faster()", dict(DEFAULT, onednn=True)),
    ("all, 2 x 4, oneDNN route off: the default elsewhere", dict(DEFAULT, onednn=False)),
]


def useful_flops(model, ds, step_indices, first_layer: int) -> tuple[float, int]:
    "(useful FLOPs, real tokens) of the steps' examples: forward + activation backward from `first_layer` up."
    g = HeadGeometry.from_model(model)
    lin = sum(m.in_features*m.out_features for m in decoder_layers(model).modules() if isinstance(m, nn.Linear))
    head = model.get_output_embeddings().weight.numel()
    above = (g.n_layers - first_layer)/g.n_layers
    flops, real = 0.0, 0
    for i in step_indices:
        e = ds[i]; T = len(e["input_ids"]); N = int((e["labels"][1:] != -100).sum())
        attn = 2*g.n_heads*g.head_dim*T*(T + 1)                        # QKᵀ and AV, causal, one layer
        fwd = 2*lin*T + g.n_layers*attn + 2*head*N
        bwd = above*(2*lin*T + 2*g.n_layers*attn) + 2*head*N
        flops += fwd + bwd; real += T
    return flops, real


def padded_tokens(lengths, order, batch_size: int, group_by_length: bool) -> int:
    "Tokens the steps of `order` (8 examples each) carry once right-padded in micro-batches of `batch_size`."
    total = 0
    for s in range(0, len(order), 8):
        step = sorted(order[s:s + 8], key=lambda i: -lengths[i]) if group_by_length else order[s:s + 8]
        total += sum(max(lengths[i] for i in step[j:j + batch_size])*len(step[j:j + batch_size]) for j in range(0, 8, batch_size))
    return total


def peak_rss_reset():
    try: Path("/proc/self/clear_refs").write_text("5")
    except OSError: pass


def peak_rss_mb() -> float | None:
    m = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()) if Path("/proc/self/status").exists() else None
    return int(m.group(1))/1024 if m else None


def save_benchmark(res: dict, out) -> dict:
    "`res` with the machine, the command line and the date, written to `out` (JSON)."
    res = dict(res, machine=machine_info(rates=False),
               command=" ".join(["python"] + sys.argv), date=time.strftime("%Y-%m-%d %H:%M"))
    write_json(out, res)
    print(f"wrote {out}")
    return res


def run_variant(model, ds, heads, V, settings: dict, steps: int, compile_model: bool = False) -> dict:
    c = Compensation(heads, V, seed=0)
    kw = {**TODAY, **settings}
    peak_rss_reset()
    t0 = time.time()
    fm = torch.compile(model, dynamic=True) if compile_model else model
    with attach(model, c):
        log = train(fm, ds, params=c.parameters(), lr=1e-3, max_steps=steps, seed=0, log_every=10**9, **kw)
    wall = time.time() - t0
    timed = log["step_seconds"][1:] if steps > 1 else log["step_seconds"]    # the first step warms caches (and compiles)
    return dict(settings=kw, seconds_per_step=statistics.mean(timed), first_step_seconds=log["step_seconds"][0],
                wall_seconds=wall, losses=log["losses"], real_tokens=log["real_tokens"], padded_tokens=log["padded_tokens"],
                onednn=log["onednn"], peak_rss_mb=peak_rss_mb())


def method_kw(steps: int, onednn: bool) -> dict:
    "train() keywords of a method run: the default 2 x 4 path, `steps` steps, seed 0, no logging."
    return dict(TODAY, **DEFAULT, onednn=onednn, max_steps=steps, seed=0, log_every=10**9)


def setup(name: str, n: int, max_length: int, heads: float = RestoreConfig.heads):
    "(model frozen, geometry, seeded random heads, orthonormal V per head, the first `n` Alpaca examples as completion data)."
    model, tok = load_model(name); model.requires_grad_(False)
    g = HeadGeometry.from_model(model)
    k = max(1, round(heads*g.n_total))
    hs = sorted(g.head_of(i) for i in torch.randperm(g.n_total, generator=torch.Generator().manual_seed(0))[:k].tolist())
    V = torch.linalg.qr(torch.randn(k, g.head_dim, g.head_dim, generator=torch.Generator().manual_seed(0)))[0]
    return model, g, hs, V, completion_dataset(tok, [alpaca_pair(r) for r in load_alpaca("train", n=n)], max_length)


def alternate(runs: dict, reps: int) -> dict:
    "Each of `runs` (name -> a function returning train()'s log) `reps` times, alternating: name -> [(s/step after the first, losses)]."
    out = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            log = run()
            out[name].append((statistics.mean(log["step_seconds"][1:]), log["losses"]))
            print(f"   {name}: {out[name][-1][0]:.2f} s/step", flush=True)
    return out


def top_ops(prof, steps: int, n: int = 12) -> list[dict]:
    "The `n` operators with the most self CPU time in a torch.profiler run of `steps` steps: ms per step and share of the total."
    ev = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in ev)
    return [dict(op=e.key, ms_per_step=e.self_cpu_time_total/1e3/steps, pct=100*e.self_cpu_time_total/total, calls=e.count//steps)
            for e in ev[:n]]


def run_method(model, ds, g, heads, V, method: str, steps: int, onednn: bool, profile: bool = False) -> dict:
    """One method at its experiments' recipe (the default 2 x 4 path), trained `steps` steps; the model is left as it was.
    `profile`: under torch.profiler, and the top operators by self CPU time (the profiler slows the run: time it without)."""
    from contextlib import nullcontext
    from torch.profiler import profile as torch_profile, ProfilerActivity
    prof = torch_profile(activities=[ProfilerActivity.CPU]) if profile else nullcontext()
    peak_rss_reset()
    with prof: log, first = _train_method(model, ds, g, heads, V, method, method_kw(steps, onednn))
    timed = log["step_seconds"][1:] if steps > 1 else log["step_seconds"]
    return dict(method=method, onednn=onednn, first_layer=first, seconds_per_step=statistics.mean(timed), losses=log["losses"],
                real_tokens=log["real_tokens"], peak_rss_mb=peak_rss_mb(), **(dict(top_ops=top_ops(prof, steps)) if profile else {}))


def _train_method(model, ds, g, heads, V, method: str, kw: dict) -> tuple[dict, int]:
    "(train()'s log, the lowest trained layer) of one method at its recipe with train() keywords `kw`; the model is left as it was."
    from restorelcc.baselines import lora_model, HeadScaling, attach_scaling, bias_compensation
    first = 0                                              # the lowest layer that trains: the backward runs down to it
    if method in ("RestoreLCC", "b-only"):
        first = min(l for l, _ in heads)
        c = Compensation(heads, V, mode="full" if method == "RestoreLCC" else "bias", seed=0)
        with attach(model, c): log = train(model, ds, params=c.parameters(), lr=1e-3, **kw)
    elif method == "LoFiT step 2 (biases, 3 % of heads)":
        n = max(1, round(0.03*g.n_total))
        few = sorted(g.head_of(i) for i in torch.randperm(g.n_total, generator=torch.Generator().manual_seed(1))[:n].tolist())
        c, first = bias_compensation(few, g.head_dim, 0), min(l for l, _ in few)
        with attach(model, c): log = train(model, ds, params=c.parameters(), lr=1e-2, **kw)
    elif method == "LoFiT step 1 (scalings of every head, L1)":
        sc = HeadScaling(g.n_layers, g.n_heads, g.head_dim)
        with attach_scaling(model, sc):
            log = train(model, ds, params=[sc.A], lr=5e-3, extra_loss=lambda m, b, o: 1e-3*sc.l1(), **kw)
    else:                                    # LoRA / DoRA: LLM-Pruner's recipe (r 8, alpha 16, dropout 0.05, 7 projections)
        pm = lora_model(model, 8, 16, 0.05, dora=method.startswith("DoRA"), seed=0)
        try: log = train(pm, ds, lr=1e-4, **kw)
        finally: pm.unload()
    return log, first


def dora_norm_ab(model, ds, steps: int, reps: int = 2) -> dict:
    """DoRA at the recipe with peft's column norm at every forward and with `dora_norm_per_step`'s once a step (what
    `lora_model(dora=True)` does), alternating `reps` times, the same steps: s/step (best of `reps`) and the losses."""
    from restorelcc.baselines import lora_model
    def run(per_forward: bool):
        pm = lora_model(model, 8, 16, 0.05, dora=True, seed=0)
        if per_forward:
            for m in pm.modules():
                if type(m).__name__ == "DoraLinearLayer": vars(m).pop("get_weight_norm")
        try: return train(pm, ds, lr=3e-3, **method_kw(steps, False))
        finally: pm.unload()
    out = alternate({"per forward (peft)": lambda: run(True), "per step": lambda: run(False)}, reps)
    best = {k: min(v)[0] for k, v in out.items()}
    return dict(seconds_per_step=best, speedup=best["per forward (peft)"]/best["per step"], reps=reps,
                losses_equal=all(v[1] == out["per step"][0][1] for k in out for v in out[k]))


METHODS = ["RestoreLCC", "b-only", "LoRA, LLM-Pruner recipe", "DoRA, LoRA's recipe", "LoFiT step 1 (scalings of every head, L1)",
           "LoFiT step 2 (biases, 3 % of heads)"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=128, help="Alpaca training examples (train split, first n)")
    ap.add_argument("--steps", type=int, default=10, help="optimizer steps of 8 examples per variant")
    ap.add_argument("--heads", type=float, default=RestoreConfig.heads, help="fraction of heads compensated (seeded random choice; default: RestoreConfig's)")
    ap.add_argument("--max-length", type=int, default=500)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile of the frozen model (minutes to compile)")
    ap.add_argument("--bf16", action="store_true", help="also time the default path with the frozen model in bf16")
    ap.add_argument("--variants", type=int, nargs="*", default=None, help="indices of the speed variants to time (default: all; 0 first)")
    ap.add_argument("--methods", action="store_true", help="also time every restoration method, oneDNN route off and on")
    ap.add_argument("--profile", action="store_true", help="with --methods: one more step of each method under torch.profiler "
                    "(the default route), its top operators by self CPU time")
    ap.add_argument("--dora-norm", action="store_true", help="also time DoRA with peft's column norm at every forward "
                    "against once a step (lora_model's default), alternating twice")
    ap.add_argument("--out", default="benchmarks/results/train_throughput.json")
    a = ap.parse_args(argv)
    setup_logging()
    model, g, heads, V, ds = setup(a.model, a.n, a.max_length, a.heads)
    n_heads = len(heads)
    lengths = [len(e["input_ids"]) for e in ds.examples]
    order = [i for b in StepBatchSampler(lengths, 8, 8, torch.Generator().manual_seed(0), False) for i in b][: 8*a.steps]
    flops, real = useful_flops(model, ds, order[8:], min(l for l, _ in heads))   # the timed steps (the first is warm-up)
    ceiling = dict(mkl_fp32=matmul_gflops("mkl"), onednn_fp32=matmul_gflops("onednn"),   # bf16 only when asked: minutes on
                   bf16=matmul_gflops("bf16") if a.bf16 else None)                      # a CPU without bf16 instructions
    ceiling["fp32"] = max(ceiling["mkl_fp32"], ceiling["onednn_fp32"])
    print(f"{cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}): "
          f"fp32 matmul {ceiling['mkl_fp32']:.0f} GFLOP/s (MKL), {ceiling['onednn_fp32']:.0f} (oneDNN)"
          + (f"; bf16 {ceiling['bf16']:.0f}" if a.bf16 else ""), flush=True)
    variants = list(VARIANTS) if a.variants is None else [VARIANTS[i] for i in sorted(set([0] + a.variants))]
    if a.compile: variants.append(("all + torch.compile (dynamic shapes)", dict(VARIANTS[9][1], compile=True)))
    rows = []
    for name, settings in variants:
        s = dict(settings); comp = s.pop("compile", False)
        print(f"-- {name}", flush=True)
        r = run_variant(model, ds, heads, V, s, a.steps, comp)
        r.update(name=name, compile=comp)
        r["real_tokens_per_s"] = real/(r["seconds_per_step"]*(a.steps - 1))
        r["padded_tokens_per_s"] = padded_tokens(lengths, order[8:], r["settings"]["batch_size"],
                                                 r["settings"]["group_by_length"])/(r["seconds_per_step"]*(a.steps - 1))
        r["pct_fp32_ceiling"] = 100*flops/(r["seconds_per_step"]*(a.steps - 1))/1e9/ceiling["fp32"]
        rows.append(r)
    if a.bf16:
        print("-- all, bf16 frozen model", flush=True)
        mb = model.to(torch.bfloat16)
        r = run_variant(mb, ds, heads, V, VARIANTS[9][1], a.steps)
        r.update(name="all, bf16 frozen model (trained parameters fp32)", compile=False, dtype="bfloat16")
        r["real_tokens_per_s"] = real/(r["seconds_per_step"]*(a.steps - 1))
        r["padded_tokens_per_s"] = padded_tokens(lengths, order[8:], 2, True)/(r["seconds_per_step"]*(a.steps - 1))
        r["pct_fp32_ceiling"] = 100*flops/(r["seconds_per_step"]*(a.steps - 1))/1e9/ceiling["fp32"]
        rows.append(r)                  # last: the model stays bf16
    base = rows[0]
    for r in rows:
        r["speedup"] = r["real_tokens_per_s"]/base["real_tokens_per_s"]
        r["max_loss_diff"] = max(abs(x - y) for x, y in zip(r["losses"], base["losses"]))
        r["first_loss_diff"] = abs(r["losses"][0] - base["losses"][0])
    print(f"\n{a.model}, {n_heads} of {g.n_total} heads, {a.n} Alpaca examples (max length {a.max_length}); {a.steps} steps "
          f"of 8 examples per variant (first one untimed); useful {flops/real/1e9:.3f} GFLOP per real token")
    print(f"{'variant':<52}{'s/step':>8}{'real tok/s':>11}{'pad tok/s':>10}{'% ceil':>8}{'speed-up':>9}{'RSS MB':>8}{'max |Δloss|':>12}")
    for r in rows:
        print(f"{r['name']:<52}{r['seconds_per_step']:>8.2f}{r['real_tokens_per_s']:>11.0f}{r['padded_tokens_per_s']:>10.0f}"
              f"{r['pct_fp32_ceiling']:>7.1f}%{r['speedup']:>8.2f}x{r['peak_rss_mb'] or 0:>8.0f}{r['max_loss_diff']:>12.1e}")
    print("\nfirst step losses:")
    for r in rows: print(f"{r['name']:<52}" + " ".join(f"{x:.5f}" for x in r["losses"][:10]))
    methods = []
    if a.methods:
        model.requires_grad_(False)
        for on in (False, True):
            for m in METHODS:
                print(f"-- {m}, oneDNN {'on' if on else 'off'}", flush=True)
                r = run_method(model, ds, g, heads, V, m, a.steps, on)
                r["pct_fp32_ceiling"] = 100*useful_flops(model, ds, order[8:], r["first_layer"])[0]/(
                    r["seconds_per_step"]*(a.steps - 1))/1e9/ceiling["fp32"]
                r["real_tokens_per_s"] = real/(r["seconds_per_step"]*(a.steps - 1))
                methods.append(r)
        for r in methods:
            ref = next(x for x in methods if x["method"] == "RestoreLCC" and x["onednn"] == r["onednn"])
            twin = next(x for x in methods if x["method"] == r["method"] and x["onednn"] != r["onednn"])
            r["vs_restorelcc"] = r["seconds_per_step"]/ref["seconds_per_step"]
            r["max_loss_diff_onednn"] = max(abs(x - y) for x, y in zip(r["losses"], twin["losses"]))
        if a.profile:
            for m in METHODS:
                print(f"-- profile: {m}", flush=True)
                p = run_method(model, ds, g, heads, V, m, 1, onednn_faster(), profile=True)
                next(x for x in methods if x["method"] == m and x["onednn"] == onednn_faster())["top_ops"] = p["top_ops"]
                print("\n".join(f"   {o['op'][:60]:<60}{o['ms_per_step']:>9.0f} ms{o['pct']:>6.1f} %{o['calls']:>6} calls" for o in p["top_ops"]))
        print(f"\n{'method':<46}{'oneDNN':>7}{'s/step':>8}{'real tok/s':>11}{'% ceil':>8}{'x RestoreLCC':>13}{'|Δloss| on-off':>15}")
        for r in methods:
            pct = f"{r['pct_fp32_ceiling']:.1f}%"
            print(f"{r['method']:<46}{'on' if r['onednn'] else 'off':>7}{r['seconds_per_step']:>8.2f}{r['real_tokens_per_s']:>11.0f}"
                  f"{pct:>8}{r['vs_restorelcc']:>12.2f}x{r['max_loss_diff_onednn']:>15.1e}")
    dora_ab = None
    if a.dora_norm:
        print("-- DoRA: column norm per forward (peft) vs per step", flush=True)
        dora_ab = dora_norm_ab(model, ds, a.steps)
        print(f"DoRA column norm per step: {dora_ab['speedup']:.3f}x peft's per forward; losses equal: {dora_ab['losses_equal']}")
    res = dict(model=a.model, n_examples=a.n, max_length=a.max_length, steps=a.steps, heads=n_heads, n_heads_total=g.n_total,
               first_layer=min(l for l, _ in heads), padding_ratio_random_pairs=padding_ratio(lengths, [order[i:i+2] for i in range(0, len(order), 2)]),
               useful_gflop_per_real_token=flops/real/1e9, ceiling_gflops=ceiling, onednn_faster=onednn_faster(), onednn_grad_faster=onednn_grad_faster(), rows=rows, methods=methods, dora_norm=dora_ab)
    return save_benchmark(res, a.out)


if __name__ == "__main__":
    main()
