"""Does a pruning give the same masks on every matmul kernel and thread count? One model pruned with the float32
and the float64 calibration pass (`prune(..., calib_dtype=...)`), each under MKL and oneDNN linears
(`restorelcc.kernels.onednn_linears`) and the chosen thread counts: mask hash, weights hash, how many mask entries
differ from the first run of the same pass, and the wall time. Runs one at a time, in one process, on the same
calibration windows:

    python benchmarks/prune_determinism.py [--model smollm2-135m] [--method wanda] [--sparsity 0.5] [--pattern N:M]
        [--n-calib 128] [--seqlen 512] [--runs float32:mkl:2 float32:onednn:2 float64:mkl:2 float64:onednn:2 ...]
        [--out benchmarks/results/prune_determinism.json]

A run is DTYPE:KERNEL:THREADS. `--out` is rewritten after every run, so a long benchmark that is stopped keeps the runs
it finished. Timings on a shared CPU are noisy: compare the runs of one invocation only.

Which code paths a CPU runs is what differs between CPUs; one machine can run another's by pinning them at start:
`ATEN_CPU_CAPABILITY=avx2` (torch's own kernels) and `MKL_ENABLE_INSTRUCTIONS=AVX2` or `MKL_CBWR=...` (MKL's). The
result records these variables as they were set (`code_paths`).
"""
import argparse, os, time
from pathlib import Path

import torch
from restorelcc.core import check, check_choice, content_hash, setup_logging, write_json
from restorelcc.data import calibration_windows, N_CALIB, SEQLEN
from restorelcc.models import load_model
from restorelcc.geometry import decoder_layers
from restorelcc.kernels import onednn_linears, machine_info
from restorelcc.activations import weights_hash
from restorelcc.prune import prune, block_linears, CALIB_DTYPES

CODE_PATHS = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR")   # variables that pin a CPU's code paths
RUNS = ["float32:mkl:2", "float32:onednn:2", "float64:mkl:2", "float64:onednn:2", "float64:mkl:1"]


def parse_run(spec: str) -> tuple[str, str, int]:
    "'float64:onednn:2' -> ('float64', 'onednn', 2), or one clear error."
    parts = spec.split(":")
    check(len(parts) == 3 and parts[2].isdigit() and int(parts[2]) > 0, f"run {spec!r} is not DTYPE:KERNEL:THREADS, e.g. float64:mkl:2")
    check_choice(parts[0], CALIB_DTYPES, "calibration dtype"); check_choice(parts[1], ("mkl", "onednn"), "matmul kernel")
    return parts[0], parts[1], int(parts[2])


def masks(model) -> dict:
    "Which weights of every pruned linear are zero, by layer."
    return {f"{i}.{n}": l.weight == 0 for i, b in enumerate(decoder_layers(model)) for n, l in block_linears(b).items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--method", default="wanda", choices=["wanda", "sparsegpt", "magnitude"])
    ap.add_argument("--sparsity", type=float, default=None, help="default 0.5 (or N/M with --pattern)")
    ap.add_argument("--pattern", default=None)
    ap.add_argument("--n-calib", type=int, default=N_CALIB)
    ap.add_argument("--seqlen", type=int, default=SEQLEN)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", nargs="+", default=RUNS, help="DTYPE:KERNEL:THREADS, in order (default: %(default)s)")
    ap.add_argument("--out", default=None, help="JSON file for the results")
    a = ap.parse_args(argv)
    runs = [parse_run(r) for r in a.runs]                           # every bad run named before any work
    sparsity = a.sparsity if a.sparsity is not None or a.pattern else 0.5
    setup_logging()
    machine = machine_info(rates=False)
    _, tok = load_model(a.model)
    windows = calibration_windows(tok, a.n_calib, a.seqlen, source="c4", seed=a.seed)
    head = dict(model=a.model, method=a.method, sparsity=sparsity, pattern=a.pattern, n_calib=a.n_calib, seqlen=a.seqlen,
                seed=a.seed, calib_hash=content_hash(windows), machine=machine,
                code_paths={k: os.environ[k] for k in CODE_PATHS if k in os.environ})
    print(f"{a.model} {a.method} {a.pattern or sparsity}, {a.n_calib} x {a.seqlen} calibration windows; CPU {machine['cpu']} "
          f"({machine['capability']}), torch {machine['torch']}", flush=True)
    rows, first, threads = [], {}, torch.get_num_threads()
    for dtype, kernel, n in runs:
        model, tok = load_model(a.model)
        torch.set_num_threads(n)
        try:
            with onednn_linears(model, enabled=kernel == "onednn") as used:
                check(used == (kernel == "onednn"), "oneDNN's linear is not available in this torch build")
                t0 = time.perf_counter()
                model, rep = prune(model, tok, a.method, sparsity, a.pattern, seed=a.seed, windows=windows, calib_dtype=dtype)
                seconds = time.perf_counter() - t0
        finally: torch.set_num_threads(threads)
        mk = masks(model)
        ref = first.setdefault(dtype, mk)
        rows.append(dict(calib_dtype=dtype, kernel=kernel, threads=n, mask_hash=rep["mask_hash"], weights_hash=weights_hash(model),
                         mask_entries_differing_from_first=sum(int((mk[k] != ref[k]).sum()) for k in mk),
                         layers_differing_from_first=sum(bool((mk[k] != ref[k]).any()) for k in mk),
                         achieved=rep["achieved"], seconds=round(seconds, 1)))
        r = rows[-1]
        print(f"{dtype} {kernel:<6} {n} thread(s): mask {r['mask_hash']}  weights {r['weights_hash']}  "
              f"{r['mask_entries_differing_from_first']} mask entries in {r['layers_differing_from_first']} layers differ from "
              f"the first {dtype} run  {r['seconds']:.0f} s", flush=True)
        del model, mk
        if a.out: write_json(a.out, dict(head, runs=rows))
    print(f"\n{'calib':<9}{'kernel':<8}{'threads':>8}{'mask hash':>18}{'differing':>11}{'seconds':>9}")
    for r in rows:
        print(f"{r['calib_dtype']:<9}{r['kernel']:<8}{r['threads']:>8}{r['mask_hash']:>18}"
              f"{r['mask_entries_differing_from_first']:>11}{r['seconds']:>9.0f}")
    for dtype in first:
        same = {r["mask_hash"] for r in rows if r["calib_dtype"] == dtype}
        print(f"{dtype}: {'the same masks in every run' if len(same) == 1 else f'{len(same)} different masks'}")


if __name__ == "__main__":
    main()
