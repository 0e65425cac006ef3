"""Activation-capture throughput: batched `collect_head_activations` vs a one-prompt-at-a-time loop.

Same N Alpaca prompts, same model (SmolLM2-135M by default), one process, side by side. Prints prompts/s and real
(non-padding) tokens/s for each variant and the largest difference between the captured activations.

    python benchmarks/capture_throughput.py [--model smollm2-135m] [--n 200] [--batch-sizes 8 32] [--padding left]

Timings on a shared CPU machine are noisy: compare rows of the same run only.
"""
import argparse, time

import torch
from restorelcc.core import setup_logging
from restorelcc.activations import PROMPT_MAX_LENGTH
from restorelcc.data import load_alpaca, alpaca_prompt
from restorelcc.models import load_model
from restorelcc.activations import collect_head_activations, head_activations, prompt_batch, _tokenize


def loop_capture(model, tok, prompts, max_length):
    "The baseline: one forward per prompt (no padding at all), same hooks."
    return torch.stack([head_activations(model, *prompt_batch(tok, [p], max_length))[0] for p in prompts])


def timed(fn):
    t0 = time.perf_counter(); out = fn(); return out, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=200, help="number of Alpaca prompts (train split, first n)")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--max-length", type=int, default=PROMPT_MAX_LENGTH)
    ap.add_argument("--padding", choices=["left", "right"], default="left")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = ap.parse_args(argv)
    setup_logging()
    if a.threads: torch.set_num_threads(a.threads)
    model, tok = load_model(a.model); tok.padding_side = a.padding
    prompts = [alpaca_prompt(r) for r in load_alpaca("train", n=a.n)]
    n_tokens = sum(len(s) for s in _tokenize(tok, prompts, a.max_length))
    collect_head_activations(model, tok, prompts[:4], batch_size=4, max_length=a.max_length)   # warm-up
    rows = []
    ref, dt = timed(lambda: loop_capture(model, tok, prompts, a.max_length))
    rows.append(("one-at-a-time loop", 1, dt, 0.0))
    for bs in a.batch_sizes:
        Z, dt = timed(lambda: collect_head_activations(model, tok, prompts, batch_size=bs, max_length=a.max_length))
        rows.append((f"batched ({a.padding} padding)", bs, dt, (Z - ref).abs().max().item()))
    print(f"\nmodel {a.model}, {len(prompts)} Alpaca prompts, {n_tokens} real tokens "
          f"(mean {n_tokens/len(prompts):.1f}), torch threads {torch.get_num_threads()}, activations {tuple(ref.shape)}")
    print(f"{'variant':<26}{'batch':>6}{'seconds':>10}{'prompts/s':>11}{'tokens/s':>10}{'speed-up':>10}{'max |dZ|':>11}")
    for name, bs, dt, err in rows:
        print(f"{name:<26}{bs:>6}{dt:>10.1f}{len(prompts)/dt:>11.2f}{n_tokens/dt:>10.0f}{rows[0][2]/dt:>9.2f}x{err:>11.2e}")
    return rows


if __name__ == "__main__":
    main()
