"`restorelcc prune` -> `restorelcc restore` as a user runs them, on tiny checkpoints: run folders and one-line errors."
import json, subprocess, sys

import pytest
from restorelcc.models import tiny_llama, save_checkpoint


def errors(stderr):
    "stderr without progress bars (tqdm lines of model loading)."
    return [l for l in stderr.strip().splitlines() if l.strip() and "|" not in l]


def run(*args, env=None):
    code = "import sys; from restorelcc.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    m, tok = tiny_llama(); save_checkpoint(m, tok, d/"dense")
    r = run("prune", "--model", d/"dense", "--method", "wanda", "--sparsity", "0.5", "--n-calib", "4", "--seqlen", "64",
            "--out", d/"pruned")
    assert r.returncode == 0, r.stderr
    return d


SMALL = ["--probe-samples", "24", "--train-samples", "8", "--epochs", "1", "--batch-size", "4", "--grad-accum", "1", "--max-length", "256",
         "--no-cache"]


def test_restore_writes_a_vanilla_run_folder(pair, tmp_path):
    out = tmp_path/"restored"
    r = run("restore", "--dense", pair/"dense", "--pruned", pair/"pruned", "--out", out, "--heads", "3", *SMALL)
    assert r.returncode == 0, r.stderr
    rj = json.loads((out/"run.json").read_text())
    assert rj["method"] == "restorelcc" and len(rj["heads"]) == 3 and rj["config"]["n_probe"] == 24
    assert rj["hashes"]["dense_weights"] != rj["hashes"]["pruned_weights"]
    assert abs(rj["linear_sparsity_after"] - 0.5) < 1e-6                      # folding keeps every zero a zero
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(out)                            # vanilla transformers, no restorelcc code
    assert m.model.layers[rj["heads"][0][0]].self_attn.o_proj.bias.abs().sum() > 0
    heads = json.loads((out/"heads.json").read_text())
    assert heads["selected"] == heads["ranking"][:3]


@pytest.mark.parametrize("extra,msg", [
    (["--heads", "0"], "heads"),
    (["--heads", "13"], "12 heads"),
    (["--heads", "1.5"], "(0, 1]"),
    (["--method", "qlora"], "unknown method"),
    (["--scorer", "oracle"], "unknown head scorer"),
    (["--mode", "half"], "unknown compensation mode"),
    (["--epochs", "0"], "epochs"),
])
def test_restore_bad_numbers(pair, tmp_path, extra, msg):
    out = tmp_path/"r"
    r = run("restore", "--dense", pair/"dense", "--pruned", pair/"pruned", "--out", out, *SMALL, *extra)
    assert r.returncode == 2 and msg in r.stderr and len(errors(r.stderr)) == 1, r.stderr
    assert not out.exists() and not list(tmp_path.glob(".r*"))


def test_restore_refuses_a_pruned_model_of_another_dense_model(pair, tmp_path):
    other, tok = tiny_llama(intermediate_size=32); save_checkpoint(other, tok, tmp_path/"other")
    r = run("restore", "--dense", pair/"dense", "--pruned", tmp_path/"other", "--out", tmp_path/"r", *SMALL)
    assert r.returncode == 2 and "do not match" in r.stderr, r.stderr
    assert not (tmp_path/"r").exists()


def test_restore_refuses_empty_data(pair, tmp_path):
    (tmp_path/"data"/"alpaca").mkdir(parents=True); (tmp_path/"data"/"alpaca"/"train.jsonl").write_text("")
    r = run("restore", "--dense", pair/"dense", "--pruned", pair/"pruned", "--out", tmp_path/"r", *SMALL,
            "--data", tmp_path/"data")
    assert r.returncode == 2 and len(errors(r.stderr)) == 1, r.stderr
    assert not (tmp_path/"r").exists()
