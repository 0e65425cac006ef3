"""Does a regime's pruned row move when its pruning is re-made on this CPU? The float64 calibration pass gives the same
masks on every CPU, but the weights a pruning computes (SparseGPT's update, FLAP's bias) can differ in the last bit, so
a row trained on one machine and the pruned row evaluated on another started from prunings that are equal only within
rounding. This script takes the paper profile's pruning of `--regime` as this machine makes it (or finds it in the
cache), records its weights and mask hashes beside those the committed cells started from, and evaluates it exactly as
the pruned row was evaluated (the perplexity windows, the held-out Alpaca loss, every task document). The paired
difference from the committed pruned row (bootstrap over the same windows and documents) bounds what the CPU's rounding
does to that regime's verdicts.

    python benchmarks/pruning_across_cpus.py --regime 2:4 [--results results] [--out benchmarks/results/pruning_across_cpus.json]

Each run appends one entry (machine, hashes, measures, differences) to `--out`; nothing else is written.
"""
import argparse, json, time
from pathlib import Path

from restorelcc.core import check, check_choice, content_hash, setup_logging, write_json
from restorelcc.reproduce import PROFILES
from restorelcc.activations import weights_hash, kept_heads
from restorelcc.prune import pruning_masks
from restorelcc.kernels import machine_info
from restorelcc.experiments import (REGIMES, WANDA50, SPARSEGPT24, STRUCTURED20, base_model, pruned_model, cell_key,
                                    cells_dir, eval_row, paired_diffs)

NAMES = {"wanda": WANDA50, "2:4": SPARSEGPT24, "structured": STRUCTURED20}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--regime", required=True, choices=list(NAMES), help="the regime whose pruned row is re-evaluated")
    ap.add_argument("--results", default="results", help="the results folder holding the committed cells")
    ap.add_argument("--calib-dtype", default=None, help="the pruning's calibration pass (default: the regimes table's, "
                    "float32 for Wanda, whose cells predate float64, else float64)")
    ap.add_argument("--iters", type=int, default=200_000, help="paired bootstrap draws")
    ap.add_argument("--out", default="benchmarks/results/pruning_across_cpus.json")
    a = ap.parse_args(argv)
    setup_logging()
    regime = NAMES[a.regime]
    calib = a.calib_dtype or ("float32" if regime == WANDA50 else "float64")
    check_choice(calib, ("float32", "float64"), "calibration dtype")
    params = dict(PROFILES["paper"], calib_dtype=calib, results_dir=a.results)
    committed = cells_dir(params)/f"{cell_key(params, base_model(params)[0], regime, 'pruned', 0, {})}.json"
    check(committed.is_file(), f"no committed pruned cell for {regime} at {committed}; run `restorelcc reproduce --profile "
          "paper --only regimes` first")       # before the pruning and the evaluation: one clear error, no work done
    ref = json.loads(committed.read_text())
    machine = machine_info(rates=True)
    pm, tok = pruned_model(params, *REGIMES[regime], seed=params["seeds"][0])
    here = dict(start_weights=weights_hash(pm), start_mask=content_hash(pruning_masks(pm), kept_heads(pm)))
    others = {}       # what every other committed cell started from, with its CPU (cells do not record their regime)
    for f in sorted(cells_dir(params).glob("*.json")):
        c = json.loads(f.read_text())
        if c.get("start_weights") and (c.get("machine") or {}).get("cpu") and f.stem != committed.stem:
            others[f.stem] = dict(start_weights=c["start_weights"], start_mask=c.get("start_mask"), cpu=c["machine"]["cpu"])
    t0 = time.time()
    row = eval_row(pm, tok, params)
    d = paired_diffs(row, ref, params, a.iters, 0)            # this machine's pruning − the committed pruned row
    pairs = [(x, y) for t in ref["docs_scored"] for x, y in zip(row["docs_scored"][t], ref["docs_scored"][t])]
    same_docs = sum(x[0] == y[0] for x, y in pairs)                         # the same right/wrong outcome
    max_ll = max(abs(u - v) for x, y in pairs for u, v in zip(x[1], y[1]))  # the largest change of a choice's log-likelihood
    entry = dict(regime=regime, calib_dtype=calib, machine=machine, here=here, committed_cell=committed.stem,
                 committed_start_weights=ref.get("start_weights"), committed_cpu=(ref.get("machine") or {}).get("cpu"),
                 same_weights=here["start_weights"] == ref.get("start_weights"),
                 ppl=[row["ppl"], ref["ppl"]], mean_acc=[row["mean_acc"], ref["mean_acc"]],
                 val_loss=[row.get("val_loss"), ref.get("val_loss")],
                 ppl_diff=d["ppl"], acc_diff=d["acc"], docs=ref["docs"], docs_same_outcome=same_docs,
                 max_choice_loglik_diff=max_ll,
                 max_window_nll_diff=max(abs(x - y) for x, y in zip(row["window_nll"], ref["window_nll"])),
                 eval_seconds=round(time.time() - t0, 1), when=time.strftime("%Y-%m-%d %H:%M"),
                 cells_start_weights=others)
    out = Path(a.out)
    runs = json.loads(out.read_text()) if out.is_file() else []
    write_json(out, runs + [entry])
    print(f"{regime} on {machine['cpu']}: weights {here['start_weights']} (committed pruned row {ref.get('start_weights')}, "
          f"{(ref.get('machine') or {}).get('cpu')}); ppl {row['ppl']:.4f} vs {ref['ppl']:.4f} "
          f"(here − committed {d['ppl']['diff']:+.4f} [{d['ppl']['lo']:+.4f}, {d['ppl']['hi']:+.4f}]); mean acc "
          f"{100*row['mean_acc']:.2f} vs {100*ref['mean_acc']:.2f} ({100*d['acc']['diff']:+.2f} points "
          f"[{100*d['acc']['lo']:+.2f}, {100*d['acc']['hi']:+.2f}]); {same_docs} of {ref['docs']} documents with the same "
          f"outcome (largest change of a choice's log-likelihood {max_ll:.2e}); held-out loss {row.get('val_loss')} vs {ref.get('val_loss')}")
    return entry


if __name__ == "__main__":
    main()
