"""Scale-out: `restorelcc.train.train` under a 2-process CPU launch (torchrun, gloo) learns the same compensation as one
process with the same global batch: 2 processes × batch 2 == 1 process × batch 4 (same seed, same data order)."""
import json, os, runpy, socket, subprocess, sys, textwrap
from pathlib import Path

import pytest
import torch

from restorelcc.models import tiny_llama, save_checkpoint

HEADS = [(0, 1), (1, 3), (2, 0), (2, 2)]

WORKER = textwrap.dedent('''
    import json, os, sys
    from pathlib import Path
    import torch
    from safetensors.torch import load_file
    from restorelcc.models import load_model
    from restorelcc.compensation import Compensation, attach
    from restorelcc.train import train, completion_dataset

    def main(work, batch_size, out):
        "Train a Compensation on each dataset of spec.json with the library's train(); write what was learned."
        torch.set_num_threads(1)
        work = Path(work)
        model, tok = load_model(work/"pruned"); model.requires_grad_(False)
        spec = json.loads((work/"spec.json").read_text())
        V = load_file(str(work/"V.safetensors"))["V"]
        result = {}
        for name, pairs in spec["datasets"].items():
            ds = completion_dataset(tok, pairs, max_length=256)
            assert len(ds) == len(pairs)
            c = Compensation(spec["heads"], V, seed=0)
            with attach(model, c):
                log = train(model, ds, params=c.parameters(), epochs=2, batch_size=batch_size, seed=0, log_every=1000)
            result[name] = dict(losses=log["losses"], steps=log["steps"], effective_batch=log["effective_batch"],
                                beta=c.beta.detach().tolist(), bias=c.bias.detach().tolist())
        from accelerate import PartialState
        state = PartialState()
        result["_state"] = dict(num_processes=state.num_processes, is_main=state.is_main_process, backend=state.backend)
        Path(f"{out}.rank{os.environ.get('RANK', '0')}").write_text(json.dumps(result))
        return result

    if __name__ == "__main__":
        main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
''')


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    "A magnitude-pruned tiny checkpoint (tokenizer saved, so every process tokenizes alike), V of 4 heads, 2 datasets."
    from restorelcc.activations import lost_activations
    from restorelcc.testing import magnitude_prune_
    from restorelcc.components import lost_components
    from restorelcc.data import load_alpaca, alpaca_pair
    from safetensors.torch import save_file
    w = tmp_path_factory.mktemp("dist")
    dense, tok = tiny_llama()
    pruned = magnitude_prune_(tiny_llama()[0], 0.5)
    save_checkpoint(pruned, tok, w/"pruned")
    recs = load_alpaca("train", n=32)
    prompts = [alpaca_pair(r)[0][:150] for r in recs]
    n = torch.get_num_threads(); torch.set_num_threads(1)
    try: comp = lost_components(*lost_activations(dense, pruned, tok, prompts[:16], max_length=128, cache=False))
    finally: torch.set_num_threads(n)
    save_file({"V": torch.stack([comp.V[l, h] for l, h in HEADS]).contiguous()}, str(w/"V.safetensors"))
    datasets = {
        # every target has the same number of tokens, so each process holds the same number of loss tokens
        "equal_targets": [(p, f" answer {i:02d} is ok.") for i, p in enumerate(prompts[:16])],
        # targets of 5 to 155 characters: processes hold different numbers of loss tokens
        "varied_targets": [(p, " " + r["output"][:5 + 10*i]) for i, (p, r) in enumerate(zip(prompts[16:], recs[16:]))],
    }
    (w/"spec.json").write_text(json.dumps(dict(heads=HEADS, datasets=datasets)))
    (w/"worker.py").write_text(WORKER)
    return w


@pytest.fixture(scope="module")
def single(work):
    "The reference: one process (this one), batch 4."
    n = torch.get_num_threads()
    try: return runpy.run_path(str(work/"worker.py"))["main"](work, 4, work/"single")
    finally: torch.set_num_threads(n)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def torchrun(work, tag: str, accelerate_cpu: bool) -> list[dict]:
    "Launch worker.py on 2 CPU processes (batch 2 each) with torchrun; the per-rank results."
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "ACCELERATE_USE_CPU")}
    env.update(OMP_NUM_THREADS="1", TQDM_DISABLE="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", ""))
    if accelerate_cpu: env["ACCELERATE_USE_CPU"] = "1"   # what `accelerate launch --cpu` sets
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           str(work/"worker.py"), str(work), "2", str(work/tag)]
    r = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return [json.loads((work/f"{tag}.rank{i}").read_text()) for i in range(2)]


@pytest.fixture(scope="module")
def gloo(work):
    return torchrun(work, "gloo", accelerate_cpu=True)


def assert_same_training(ref: dict, run: dict, tol=1e-5):
    assert run["steps"] == ref["steps"] == 8 and run["effective_batch"] == ref["effective_batch"] == 4
    for k in ("beta", "bias"):
        a, b = torch.tensor(ref[k]), torch.tensor(run[k])
        diff = float((a - b).abs().max())
        assert diff <= tol, f"{k}: max |diff| {diff:.2e} (|{k}| up to {float(a.abs().max()):.2e})"
    assert torch.allclose(torch.tensor(run["losses"]), torch.tensor(ref["losses"]), atol=tol, rtol=0)


def test_processes_stay_in_sync(gloo):
    "One gloo group of 2 with one main process; both ranks end with the very same compensation."
    states = [g["_state"] for g in gloo]
    assert [s["num_processes"] for s in states] == [2, 2] and sorted(s["is_main"] for s in states) == [False, True]
    assert states[0]["backend"] == "gloo"
    for name in ("equal_targets", "varied_targets"):
        assert gloo[0][name]["effective_batch"] == 4
        assert gloo[0][name]["beta"] == gloo[1][name]["beta"] and gloo[0][name]["bias"] == gloo[1][name]["bias"]


def test_two_processes_match_one_with_equal_token_counts(work, single, gloo):
    from safetensors.torch import load_file
    from restorelcc.compensation import Compensation
    assert_same_training(single["equal_targets"], gloo[0]["equal_targets"])
    init = Compensation(HEADS, load_file(str(work/"V.safetensors"))["V"], seed=0)
    for k in ("beta", "bias"):   # training moved far more than the tolerance, so the comparison means something
        assert (torch.tensor(single["equal_targets"][k]) - getattr(init, k).detach()).abs().max() > 100*1e-5


def test_two_processes_match_one_with_varied_targets(single, gloo):
    assert_same_training(single["varied_targets"], gloo[0]["varied_targets"])


def test_plain_torchrun_on_cpu_forms_a_group(work, single):
    runs = torchrun(work, "plain", accelerate_cpu=False)
    assert_same_training(single["equal_targets"], runs[0]["equal_targets"])
