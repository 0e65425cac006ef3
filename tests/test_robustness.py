"""Bad input, as a user meets it through `restorelcc.cli.main`: one clear line on stderr, a non-zero exit, no traceback,
and nothing written (no run folder, no results file, no temporary folder next to --out). Also interrupted runs and
malformed data files. Everything runs in-process on the tiny random Llama (no packaged model is loaded)."""
import json, os, shutil
from pathlib import Path

import pytest
import restorelcc.core
from restorelcc.cli import main
from restorelcc.core import RestoreLCCError
from restorelcc.models import tiny_llama, save_checkpoint


# ---------------------------------------------------------------- fixtures and helpers
@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    """Progress bars off (they are not errors) and a fresh log handler on this test's captured stderr."""
    import tqdm.auto
    import transformers.utils.logging as hf_logging
    real = tqdm.auto.tqdm
    def no_bar(*a, **k):
        k["disable"] = True
        return real(*a, **k)
    for mod in ("restorelcc.prune", "restorelcc.activations", "restorelcc.probing", "restorelcc.evaluate", "restorelcc.train"):
        m = __import__(mod, fromlist=["tqdm"])
        if hasattr(m, "tqdm"): monkeypatch.setattr(m, "tqdm", no_bar)
    was = hf_logging.is_progress_bar_enabled(); hf_logging.disable_progress_bar()
    monkeypatch.setattr(restorelcc.core.logger, "handlers", [])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield
    if was: hf_logging.enable_progress_bar()


pytestmark = pytest.mark.usefixtures("one_thread")       # conftest.py


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    "Checkpoint folders: a good tiny one, one with a truncated and one with a garbage model.safetensors, non-checkpoints."
    root = tmp_path_factory.mktemp("ckpts")
    m, tok = tiny_llama()
    good = save_checkpoint(m, tok, root/"tiny")
    trunc = Path(shutil.copytree(good, root/"truncated"))
    f = trunc/"model.safetensors"; os.truncate(f, f.stat().st_size//2)
    garbage = Path(shutil.copytree(good, root/"garbage"))
    (garbage/"model.safetensors").write_bytes(b"\x00garbage, not a safetensors file\xff"*8)
    noweights = Path(shutil.copytree(good, root/"noweights")); (noweights/"model.safetensors").unlink()
    (root/"empty").mkdir()
    (root/"notes.txt").write_text("not a model")
    return dict(tiny=str(good), truncated=str(trunc), garbage=str(garbage), noweights=str(noweights),
                empty=str(root/"empty"), file=str(root/"notes.txt"))


def snapshot(folder: Path) -> set:
    return {str(p.relative_to(folder)) for p in Path(folder).rglob("*")}


def cli(argv, capsys):
    "(exit code, stdout, stderr) of `restorelcc ARGV`; an exception escaping main fails the test with its type."
    capsys.readouterr()
    try: rc = main([str(a) for a in argv])
    except SystemExit as e: rc = e.code
    except BaseException as e:  # a traceback for the user
        out, err = capsys.readouterr()
        pytest.fail(f"restorelcc {argv[0]} raised {type(e).__name__}: {e} instead of a one-line error")
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, cmd, phrase):
    assert rc not in (0, None), f"exit code {rc} for a bad input"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"stderr should be one line, got {len(lines)}:\n{err}"
    assert lines[0].startswith(f"restorelcc {cmd}: error:"), lines[0]
    assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"


def run_bad(argv, cmd, phrase, work: Path, capsys):
    before = snapshot(work)
    rc, out, err = cli(argv, capsys)
    assert_one_line_error(rc, err, cmd, phrase)
    assert rc == 2
    left = snapshot(work) - before
    assert not left, f"left behind: {sorted(left)}"
    return err


# ---------------------------------------------------------------- model names, folders, corrupt checkpoints
BAD_MODELS = [  # (key in ckpts or a literal name, phrase)
    ("no-such-model", "unknown model"),
    ("someorg/some-model", "HF_HUB_OFFLINE is set"),
    ("@empty", "is not a model folder"),
    ("@file", "is not a model folder"),
    ("@truncated", "could not load model"),
    ("@garbage", "could not load model"),
    ("@noweights", "could not load model"),
]

def model_arg(spec, ckpts): return ckpts[spec[1:]] if spec.startswith("@") else spec

def bad_model_argv(cmd, model, out):
    if cmd == "info": return ["info", "--model", model]
    if cmd == "prune": return ["prune", "--model", model, "--method", "magnitude", "--sparsity", "0.5", "--out", out/"run"]
    return ["evaluate", "--model", model, "--tasks", "boolq", "--limit", "2", "--out", out/"res.json"]

@pytest.mark.parametrize("cmd", ["info", "prune", "evaluate"])
@pytest.mark.parametrize("spec,phrase", BAD_MODELS, ids=[m for m, _ in BAD_MODELS])
def test_bad_model(cmd, spec, phrase, ckpts, tmp_path, capsys):
    err = run_bad(bad_model_argv(cmd, model_arg(spec, ckpts), tmp_path), cmd, phrase, tmp_path, capsys)
    if spec in ("@truncated", "@garbage"): assert "SafetensorError" in err   # says what is wrong with the file


# ---------------------------------------------------------------- prune: numbers, patterns, methods, outputs
PRUNE_BAD = [  # (extra args, phrase)
    (["--method", "magnitude", "--sparsity", "0"], "sparsity must be in (0, 1)"),
    (["--method", "magnitude", "--sparsity", "1"], "sparsity must be in (0, 1)"),
    (["--method", "magnitude", "--sparsity=-0.5"], "sparsity must be in (0, 1)"),
    (["--method", "wanda", "--sparsity", "1.5"], "sparsity must be in (0, 1)"),
    (["--method", "magnitude"], "give a --sparsity"),
    (["--method", "magnitude", "--pattern", "4:4"], "need 0 < N < M"),
    (["--method", "magnitude", "--pattern", "5:4"], "need 0 < N < M"),
    (["--method", "magnitude", "--pattern", "0:4"], "need 0 < N < M"),
    (["--method", "magnitude", "--pattern", "two:four"], "is not N:M"),
    (["--method", "magnitude", "--pattern", "2:3"], "not a multiple of M=3"),   # 32 and 64 inputs
    (["--method", "wanda", "--pattern", "2:4", "--sparsity", "0.3"], "does not match pattern"),
    (["--method", "structured", "--sparsity", "0.2", "--pattern", "2:4"], "unstructured methods only"),
    (["--method", "wanda", "--sparsity", "0.5", "--n-calib", "0"], "n_calib must be > 0"),
    (["--method", "wanda", "--sparsity", "0.5", "--seqlen", "1"], "seqlen must be > 1"),
    (["--method", "wanda", "--sparsity", "0.5", "--batch-size", "0"], "--batch-size must be > 0"),
    (["--method", "pruneit", "--sparsity", "0.5"], "unknown pruning method 'pruneit'"),
    (["--method", "magnitude", "--sparsity", "0.5", "--layers", "self_attn.q_proj,mlp.nope"], "--layers"),
]

@pytest.mark.parametrize("extra,phrase", PRUNE_BAD, ids=[" ".join(e) for e, _ in PRUNE_BAD])
def test_prune_bad_arguments(extra, phrase, ckpts, tmp_path, capsys):
    run_bad(["prune", "--model", ckpts["tiny"], *extra, "--out", tmp_path/"run"], "prune", phrase, tmp_path, capsys)


def test_prune_existing_out_is_kept(ckpts, tmp_path, capsys):
    out = tmp_path/"run"; out.mkdir(); (out/"keep.txt").write_text("mine")
    run_bad(["prune", "--model", ckpts["tiny"], "--method", "magnitude", "--sparsity", "0.5", "--out", out],
            "prune", "already exists", tmp_path, capsys)
    assert (out/"keep.txt").read_text() == "mine" and snapshot(out) == {"keep.txt"}


def test_prune_out_parent_is_a_file(ckpts, tmp_path, capsys):
    (tmp_path/"afile").write_text("x")
    run_bad(["prune", "--model", ckpts["tiny"], "--method", "magnitude", "--sparsity", "0.5", "--out", tmp_path/"afile"/"run"],
            "prune", "is not a folder", tmp_path, capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a 0o500 folder")
@pytest.mark.parametrize("cmd", ["prune", "evaluate"])
def test_unwritable_out_parent(cmd, ckpts, tmp_path, capsys):
    ro = tmp_path/"ro"; ro.mkdir(); ro.chmod(0o500)
    try:
        argv = (["prune", "--model", ckpts["tiny"], "--method", "magnitude", "--sparsity", "0.5", "--out", ro/"run"] if cmd == "prune"
                else ["evaluate", "--model", ckpts["tiny"], "--tasks", "boolq", "--out", ro/"res.json"])
        run_bad(argv, cmd, "cannot write into", tmp_path, capsys)
        assert not any(ro.iterdir())
    finally: ro.chmod(0o700)


def test_prune_failure_leaves_no_parent_folders(ckpts, tmp_path, capsys):
    run_bad(["prune", "--model", ckpts["truncated"], "--method", "magnitude", "--sparsity", "0.5",
             "--out", tmp_path/"new"/"deeper"/"run"], "prune", "could not load model", tmp_path, capsys)


# ---------------------------------------------------------------- evaluate
EVAL_BAD = [  # (args, phrase)
    (["--tasks", "nosuchtask"], "unknown task 'nosuchtask'"),
    (["--tasks", "boolq", "--limit", "0"], "--limit must be a positive integer"),
    (["--tasks", "boolq", "--limit=-3"], "--limit must be a positive integer"),
    (["--tasks", "boolq", "--batch-size", "0"], "--batch-size must be a positive integer"),
    (["--tasks", "none", "--ppl", "--ppl-windows", "0"], "--ppl-windows must be a positive integer"),
    (["--tasks", "none", "--ppl", "--seqlen", "1"], "--seqlen must be > 1"),
    (["--tasks", "none"], "nothing to do"),
]

@pytest.mark.parametrize("extra,phrase", EVAL_BAD, ids=[" ".join(e) for e, _ in EVAL_BAD])
def test_evaluate_bad_arguments(extra, phrase, ckpts, tmp_path, capsys):
    run_bad(["evaluate", "--model", ckpts["tiny"], *extra, "--out", tmp_path/"res.json"], "evaluate", phrase, tmp_path, capsys)


@pytest.mark.parametrize("out,phrase", [("res.txt", "should be a .json file"), ("adir.json", "is a folder"),
                                        ("afile/res.json", "cannot write into"), ("missing/res.json", "cannot write into"),
                                        ("old.json", "already exists")])
def test_evaluate_bad_out(out, phrase, ckpts, tmp_path, capsys):
    (tmp_path/"adir.json").mkdir(); (tmp_path/"afile").write_text("x"); (tmp_path/"old.json").write_text('{"old": 1}')
    run_bad(["evaluate", "--model", ckpts["tiny"], "--tasks", "boolq", "--out", tmp_path/out], "evaluate", phrase, tmp_path, capsys)
    assert json.loads((tmp_path/"old.json").read_text()) == {"old": 1}


# ---------------------------------------------------------------- reproduce
@pytest.fixture
def exps(tmp_path):
    d = tmp_path/"exps"; d.mkdir(); (d/"alpha.ipynb").write_text("{}")
    return d

def repro(tmp_path, *extra):
    return ["reproduce", "--profile", "smoke", "--results", tmp_path/"results", "--figures", tmp_path/"figures", "--readme", "", *extra]

def test_reproduce_missing_notebook_folder(tmp_path, capsys):
    run_bad(repro(tmp_path, "--nbs", tmp_path/"nowhere"), "reproduce", "experiment notebooks not found", tmp_path, capsys)

def test_reproduce_unknown_experiment(exps, tmp_path, capsys):
    err = run_bad(repro(tmp_path, "--nbs", exps, "--only", "beta"), "reproduce", "unknown experiment(s) ['beta']", tmp_path, capsys)
    assert "alpha" in err   # lists what there is

def test_reproduce_unknown_profile_is_an_argparse_error(exps, tmp_path, capsys):
    "argparse `choices`: the standard usage line + one error line naming the bad value, exit 2."
    before = snapshot(tmp_path)
    rc, out, err = cli(["reproduce", "--profile", "huge", "--nbs", exps], capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and "Traceback" not in err and lines[0].startswith("usage: restorelcc reproduce")
    assert lines[-1].startswith("restorelcc reproduce: error:") and "'huge'" in lines[-1]
    assert snapshot(tmp_path) == before

def test_reproduce_results_under_a_file(exps, tmp_path, capsys):
    (tmp_path/"afile").write_text("x")
    argv = ["reproduce", "--profile", "smoke", "--nbs", exps, "--results", tmp_path/"afile"/"results",
            "--figures", tmp_path/"figures", "--readme", ""]
    run_bad(argv, "reproduce", "results", tmp_path, capsys)


# ---------------------------------------------------------------- interrupted and failing runs leave nothing behind
PRUNE_OK = ["--method", "magnitude", "--sparsity", "0.5"]

def test_prune_interrupted_while_pruning(ckpts, tmp_path, capsys, monkeypatch):
    import restorelcc.prune as P
    real = P.prune
    calls = []
    def interrupted(model, *a, **k):
        calls.append(1)
        real(model, *a, **k)               # the pruning itself happens ...
        raise KeyboardInterrupt            # ... and the user presses Ctrl-C before the folder is written
    monkeypatch.setattr(P, "prune", interrupted)
    rc, out, err = cli(["prune", "--model", ckpts["tiny"], *PRUNE_OK, "--out", tmp_path/"run"], capsys)
    assert calls and rc == 130 and err.strip().splitlines()[-1] == "restorelcc prune: interrupted"
    assert "Traceback" not in err
    assert snapshot(tmp_path) == set()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError])
@pytest.mark.parametrize("overwrite", [False, True])
def test_prune_interrupted_while_writing(exc, overwrite, ckpts, tmp_path, capsys, monkeypatch):
    "Ctrl-C (or a full disk) half-way through writing the checkpoint: no --out, no temp folder; an old --out survives."
    import restorelcc.models as M
    real = M.save_checkpoint
    def half_written(model, tok, folder):
        real(model, tok, folder)
        assert any(Path(folder).iterdir())
        raise exc(28, "No space left on device") if exc is OSError else exc()
    monkeypatch.setattr(M, "save_checkpoint", half_written)
    out = tmp_path/"run"
    if overwrite: out.mkdir(); (out/"old.txt").write_text("previous run")
    before = snapshot(tmp_path)
    argv = ["prune", "--model", ckpts["tiny"], *PRUNE_OK, "--out", out] + (["--overwrite"] if overwrite else [])
    if exc is OSError:
        with pytest.raises(OSError): main([str(a) for a in argv])
    else:
        rc, _, err = cli(argv, capsys)
        assert rc == 130 and "interrupted" in err
    assert snapshot(tmp_path) == before, f"left behind: {sorted(snapshot(tmp_path) ^ before)}"
    if overwrite: assert (out/"old.txt").read_text() == "previous run"


def test_prune_success_then_overwrite_replaces_atomically(ckpts, tmp_path, capsys):
    "The positive control of the tests above: the same command does write the folder (and nothing else)."
    out = tmp_path/"run"
    rc, _, err = cli(["prune", "--model", ckpts["tiny"], *PRUNE_OK, "--out", out], capsys)
    assert rc == 0, err
    assert {"config.json", "model.safetensors", "run.json"} <= snapshot(out)
    assert snapshot(tmp_path) == {"run"} | {f"run/{p}" for p in snapshot(out)}
    (out/"stale.txt").write_text("x")
    rc, _, err = cli(["prune", "--model", ckpts["tiny"], *PRUNE_OK, "--out", out, "--overwrite"], capsys)
    assert rc == 0, err
    assert not (out/"stale.txt").exists() and [p.name for p in tmp_path.iterdir()] == ["run"]


# ---------------------------------------------------------------- malformed data files
ALPACA_OK = {"instruction": "Say hi.", "input": "", "output": "Hi."}

@pytest.mark.parametrize("lines,where,phrase", [
    ([ALPACA_OK, ALPACA_OK, '{"instruction": "x", "output": '], ":3:", "malformed JSON line"),
    ([ALPACA_OK, {"instruction": "no output"}], ":2:", "missing field(s) ['output']"),
    ([ALPACA_OK, '["a list"]'], ":2:", "expected a JSON object"),
    (["", ""], "", "is empty"),
])
def test_malformed_alpaca_file(lines, where, phrase, tmp_path, monkeypatch):
    from restorelcc.data import load_alpaca
    f = tmp_path/"alpaca"/"train.jsonl"; f.parent.mkdir()
    f.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    monkeypatch.setenv("RESTORELCC_DATA", str(tmp_path))
    with pytest.raises(RestoreLCCError) as e: load_alpaca("train")
    msg = str(e.value)
    assert phrase in msg and "\n" not in msg
    if where: assert f"{f}{where}" in msg   # names the file and the line


def test_malformed_alpaca_json_list(tmp_path, monkeypatch):
    from restorelcc.data import load_alpaca
    f = tmp_path/"alpaca"/"valid.json"; f.parent.mkdir()
    f.write_text('[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c" "output": "d"}\n]\n')
    monkeypatch.setenv("RESTORELCC_DATA", str(tmp_path))
    with pytest.raises(RestoreLCCError, match=r"valid\.json:3: malformed JSON"): load_alpaca("valid")


def test_missing_alpaca_file(tmp_path, monkeypatch):
    from restorelcc.data import load_alpaca
    monkeypatch.setenv("RESTORELCC_DATA", str(tmp_path))
    with pytest.raises(RestoreLCCError, match="no Alpaca file for split 'train'"): load_alpaca("train")


def test_good_alpaca_file_is_read(tmp_path, monkeypatch):
    "Positive control: the same folder layout with good lines loads (so the errors above come from the bad lines)."
    from restorelcc.data import load_alpaca
    f = tmp_path/"alpaca"/"train.jsonl"; f.parent.mkdir()
    f.write_text(json.dumps(ALPACA_OK) + "\n\n" + json.dumps(dict(ALPACA_OK, input=None)) + "\n")
    monkeypatch.setenv("RESTORELCC_DATA", str(tmp_path))
    assert load_alpaca("train") == [ALPACA_OK, ALPACA_OK]


# ---------------------------------------------------------------- safe loading (no pickles, no remote code by default)
import ast
import restorelcc

SOURCES = sorted(Path(restorelcc.__file__).parent.glob("*.py"))

def _call_name(node: ast.Call) -> str:
    f = node.func
    parts = []
    while isinstance(f, ast.Attribute): parts.append(f.attr); f = f.value
    if isinstance(f, ast.Name): parts.append(f.id)
    return ".".join(reversed(parts))

def unsafe_calls(source: str, where: str = "<src>") -> list[str]:
    "Calls that unpickle or run remote code: torch.load without weights_only=True, pickle/np.load(allow_pickle=True), "
    "trust_remote_code=True as a literal, and functions whose trust_remote_code defaults to anything but False."
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name, kw = _call_name(node), {k.arg: k.value for k in node.keywords if k.arg}
            const = lambda k: isinstance(kw.get(k), ast.Constant) and kw[k].value is True
            if name.endswith("torch.load") or name == "load" and isinstance(node.func, ast.Name):
                if not const("weights_only"): bad.append(f"{where}:{node.lineno}: {name}( without weights_only=True")
            if name.split(".")[0] in ("pickle", "cPickle", "dill", "joblib") and name.endswith(("load", "loads")):
                bad.append(f"{where}:{node.lineno}: {name}(")
            if const("allow_pickle"): bad.append(f"{where}:{node.lineno}: {name}(allow_pickle=True)")
            if isinstance(kw.get("trust_remote_code"), ast.Constant) and kw["trust_remote_code"].value is not False:
                bad.append(f"{where}:{node.lineno}: {name}(trust_remote_code={kw['trust_remote_code'].value!r})")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            pos = a.posonlyargs + a.args
            defaults = dict(zip([x.arg for x in pos][len(pos) - len(a.defaults):], a.defaults))
            defaults.update({x.arg: d for x, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
            d = defaults.get("trust_remote_code")
            if d is not None and not (isinstance(d, ast.Constant) and d.value is False):
                bad.append(f"{where}:{node.lineno}: {node.name}(trust_remote_code=...) does not default to False")
    return bad


def test_scanner_catches_unsafe_code():
    "The scanner itself can fail: each of these lines is flagged, the safe forms are not."
    for src in ["torch.load(f)", "torch.load(f, weights_only=False)", "import pickle\npickle.load(f)",
                "np.load(f, allow_pickle=True)", "AutoModel.from_pretrained(p, trust_remote_code=True)",
                "def load(p, trust_remote_code=True): pass"]:
        assert unsafe_calls(src), src
    for src in ["torch.load(f, weights_only=True)", "AutoModel.from_pretrained(p, trust_remote_code=trust_remote_code)",
                "def load(p, trust_remote_code: bool = False): pass", "np.load(f)"]:
        assert not unsafe_calls(src), src


def test_library_source_loads_safely():
    assert len(SOURCES) >= 10
    bad = [b for f in SOURCES for b in unsafe_calls(f.read_text(), f.name)]
    assert not bad, "\n".join(bad)
    text = "\n".join(f.read_text() for f in SOURCES)
    assert "trust_remote_code=True" not in text.replace(" ", "")


def test_checkpoints_are_safetensors_only(tmp_path, capsys):
    "save_checkpoint and `restorelcc prune` write model.safetensors and no pickle (.bin/.pt/.pkl/.pth) anywhere."
    from transformers import AutoModelForCausalLM
    m, tok = tiny_llama()
    ck = save_checkpoint(m, tok, tmp_path/"ck")
    rc, _, err = cli(["prune", "--model", ck, "--method", "magnitude", "--sparsity", "0.5", "--out", tmp_path/"run"], capsys)
    assert rc == 0, err
    for folder in (ck, tmp_path/"run"):
        names = {p.name for p in folder.iterdir()}
        assert "model.safetensors" in names and "config.json" in names
        assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"))], names
        re = AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True)   # loads with safetensors alone
        assert re.config.num_hidden_layers == 3
