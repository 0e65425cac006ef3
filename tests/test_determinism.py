"""Same seed, same bits: probing, training and Wanda pruning repeat exactly, and a different seed changes what it
should. The activation cache never serves stale or corrupt entries."""
import copy, json

import pytest
import torch
from safetensors.torch import load_file

from restorelcc.models import tiny_llama
from restorelcc.data import load_alpaca, alpaca_pair


pytestmark = pytest.mark.usefixtures("one_thread")       # conftest.py


@pytest.fixture(scope="module")
def models():
    "(dense, pruned, tokenizer): the tiny Llama and a 50 % magnitude-pruned copy."
    from restorelcc.prune import prune
    dense, tok = tiny_llama()
    pruned, _ = prune(copy.deepcopy(dense), tok, "magnitude", 0.5)
    return dense, pruned, tok


@pytest.fixture(scope="module")
def records():
    "24 Alpaca records, responses cut to 120 characters (the sentence encoder is the slow part of probing)."
    return [dict(r, output=r["output"][:120]) for r in load_alpaca("train", n=24)]


# ---------------------------------------------------------------- probing
@pytest.fixture(scope="module")
def probes(models, records):
    from restorelcc.probing import probe_heads
    dense, pruned, tok = models
    run = lambda s: probe_heads(dense, pruned, tok, records, seed=s, epochs=100, max_length=128, cache=False)
    return run(0), run(0), run(1)


def test_probe_same_seed_is_bit_identical(probes):
    from restorelcc.probing import rank_heads
    a, b, _ = probes
    for k in ("scores", "train_acc", "c_K", "negatives", "train_pairs", "test_pairs"):
        assert torch.equal(a[k], b[k]), k
    assert rank_heads(a["scores"]) == rank_heads(b["scores"])


def test_probe_other_seed_changes_split_and_scores(probes):
    a, _, c = probes
    assert not torch.equal(a["test_pairs"], c["test_pairs"])
    assert sorted(a["test_pairs"].tolist() + a["train_pairs"].tolist()) == list(range(24))
    assert len(c["test_pairs"]) == len(a["test_pairs"]) == 7
    assert not torch.equal(a["scores"], c["scores"])
    assert torch.equal(a["negatives"], c["negatives"]) and torch.equal(a["c_K"], c["c_K"])   # data-only parts do not move


# ---------------------------------------------------------------- training
def _train_once(models, records, seed=0):
    from restorelcc.activations import lost_activations
    from restorelcc.components import lost_components
    from restorelcc.compensation import Compensation, attach
    from restorelcc.train import train, completion_dataset
    dense, pruned, tok = models
    pruned = copy.deepcopy(pruned).requires_grad_(False)
    prompts = [alpaca_pair(r)[0] for r in records]
    comp = lost_components(*lost_activations(dense, pruned, tok, prompts, max_length=128, cache=False))
    c = Compensation.from_components(comp, [(0, 1), (1, 3), (2, 0)], seed=seed)
    ds = completion_dataset(tok, [alpaca_pair(r) for r in records[:12]], max_length=512)
    assert len(ds) == 12
    with attach(pruned, c):
        log = train(pruned, ds, params=c.parameters(), epochs=2, batch_size=4, seed=seed, log_every=100)
    return log, {k: v.detach().clone() for k, v in c.state_dict().items()}


def test_train_same_seed_is_bit_identical(models, records):
    log1, p1 = _train_once(models, records, 0)
    log2, p2 = _train_once(models, records, 0)
    assert log1["steps"] == 6 and len(log1["losses"]) == 6
    assert log1["losses"] == log2["losses"]
    assert p1.keys() == p2.keys() and all(torch.equal(p1[k], p2[k]) for k in p1)
    log3, p3 = _train_once(models, records, 1)   # the seed drives the init and the data order
    assert log3["losses"] != log1["losses"] and not torch.equal(p3["beta"], p1["beta"])
    from restorelcc.compensation import Compensation
    init = Compensation([(0, 1), (1, 3), (2, 0)], torch.eye(8).expand(3, 8, 8), seed=0).state_dict()
    assert not torch.equal(p1["bias"], init["bias"])   # training moved the parameters


# ---------------------------------------------------------------- Wanda pruning
TIMING = {"seconds", "wall_seconds"}

@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    from restorelcc.models import save_checkpoint
    return save_checkpoint(*tiny_llama(), tmp_path_factory.mktemp("ckpt")/"tiny")


def _wanda(ckpt, out, seed):
    from restorelcc.cli import main
    assert main(["prune", "--model", str(ckpt), "--method", "wanda", "--sparsity", "0.5", "--n-calib", "4",
                 "--seqlen", "32", "--batch-size", "2", "--seed", str(seed), "--out", str(out)]) == 0
    run = json.loads((out/"run.json").read_text())
    return load_file(str(out/"model.safetensors")), run


def test_wanda_same_seed_is_identical(tiny_ckpt, tmp_path):
    w1, r1 = _wanda(tiny_ckpt, tmp_path/"a", 0)
    w2, r2 = _wanda(tiny_ckpt, tmp_path/"b", 0)
    w3, r3 = _wanda(tiny_ckpt, tmp_path/"c", 1)
    assert w1.keys() == w2.keys() and all(torch.equal(w1[k], w2[k]) for k in w1)
    assert TIMING <= r1.keys()
    assert {k: v for k, v in r1.items() if k not in TIMING} == {k: v for k, v in r2.items() if k not in TIMING}
    # another seed draws other calibration windows, hence other Wanda scores and masks
    assert r3["calib_hash"] != r1["calib_hash"] and r3["seed"] == 1
    assert any(not torch.equal(w1[k], w3[k]) for k in w1 if "proj" in k)


def test_tiny_llama_is_reproducible():
    "Regression: the tiny tokenizer's vocabulary once came in hash-set order, so every call mapped bytes to other ids."
    from restorelcc.models import tiny_tokenizer
    (m1, t1), (m2, t2) = tiny_llama(), tiny_llama()
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    text = "Reproducible: the same text, the same ids."
    assert t1(text)["input_ids"] == t2(text)["input_ids"] == tiny_tokenizer()(text)["input_ids"]


# ---------------------------------------------------------------- activation cache
@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path/"cache"; monkeypatch.setenv("RESTORELCC_CACHE", str(d))
    from restorelcc.core import cache_dir
    assert cache_dir() == d
    return d/"activations"


def _prompts(records): return [alpaca_pair(r)[0] for r in records[:6]]


def test_cache_key_follows_the_pruned_weights(models, records, cache):
    from restorelcc.activations import lost_activations
    dense, pruned, tok = models
    pruned = copy.deepcopy(pruned); prompts = _prompts(records)
    Zd1, Zp1 = lost_activations(dense, pruned, tok, prompts, max_length=128)
    files1 = set(cache.glob("*.safetensors")); assert len(files1) == 1
    hit_d, hit_p = lost_activations(dense, pruned, tok, prompts, max_length=128)     # second call: from the cache
    assert torch.equal(hit_p, Zp1) and set(cache.glob("*.safetensors")) == files1
    with torch.no_grad():                                                            # flip one weight of layer 0
        W = pruned.model.layers[0].self_attn.v_proj.weight
        i = int(W.abs().flatten().argmax()); W.view(-1)[i] = -W.view(-1)[i]
    Zd2, Zp2 = lost_activations(dense, pruned, tok, prompts, max_length=128)
    files2 = set(cache.glob("*.safetensors"))
    assert len(files2) == 2 and files1 < files2                                      # a new key, a new entry
    fresh_d, fresh_p = lost_activations(dense, pruned, tok, prompts, max_length=128, cache=False)
    assert torch.equal(Zp2, fresh_p) and torch.equal(Zd2, fresh_d)
    assert not torch.allclose(Zp2, Zp1)                                              # not the stale activations


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong_length"])
def test_corrupt_cache_entry_is_recomputed(damage, models, records, cache):
    from safetensors.torch import save_file
    from restorelcc.activations import lost_activations
    dense, pruned, tok = models; prompts = _prompts(records)
    Zd, Zp = lost_activations(dense, pruned, tok, prompts, max_length=128)
    (f,) = cache.glob("*.safetensors")
    if damage == "garbage": f.write_bytes(b"\x07not a safetensors file" * 50)
    elif damage == "truncated": f.write_bytes(f.read_bytes()[: f.stat().st_size - 100])
    else: save_file({"Z_dense": torch.zeros(2, 3, 4, 8), "Z_pruned": torch.zeros(2, 3, 4, 8)}, str(f))
    Zd2, Zp2 = lost_activations(dense, pruned, tok, prompts, max_length=128)
    assert torch.equal(Zd2, Zd) and torch.equal(Zp2, Zp)
    t = load_file(str(f))                                                            # and the entry is healed
    assert torch.equal(t["Z_pruned"], Zp) and torch.equal(t["Z_dense"], Zd)
