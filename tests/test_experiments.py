"Every experiment notebook in nbs/experiments runs end to end under the smoke profile (tiny random model) via papermill."
import json, logging
from pathlib import Path

import pytest
from restorelcc.reproduce import list_experiments, run_experiment

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/"nbs"/"experiments"
NAMES = list_experiments(NBS) if NBS.is_dir() else []


@pytest.mark.parametrize("name", NAMES)
def test_experiment_smoke(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    info = run_experiment(name, "smoke", nbs=NBS, results=tmp_path/"results", figures=tmp_path/"figures",
                          runs=tmp_path/"runs", force=True)
    assert not info["skipped"]
    out = tmp_path/"results"/f"{name}.json"
    assert out.is_file(), f"{name} wrote no results/{name}.json"
    r = json.loads(out.read_text())
    assert r["name"] == name and r["tables"], f"{name}: no tables"
    for title, t in r["tables"].items():
        assert t["columns"] and t["rows"], f"{name}: table {title!r} is empty"
        assert all(len(row) == len(t["columns"]) for row in t["rows"]), f"{name}: table {title!r} has ragged rows"
    for v in r.get("verdicts", []):
        assert v["verdict"] in ("reproduced", "not reproduced", "reversed", "inconclusive") and v["claim"]
    for f in r.get("figures", []):
        p = Path(f)
        assert p.is_file() and p.stat().st_size > 0, f"{name}: figure {f} missing"
        assert p.parent.resolve() == (tmp_path/"figures").resolve() and p.name.startswith(name), f"{name}: figure {f} misplaced"
    assert (tmp_path/".."/tmp_path.name/"results"/".done"/f"{name}.json").is_file()   # the resumable-run marker


@pytest.mark.parametrize("name", NAMES)
def test_parameters_cell_declares_the_profile(name, caplog):
    """papermill parses the parameters cell (one assignment per line) and finds what `reproduce` injects (profile and the
    folders), so it injects no 'unknown' ones; no profile value is copied there (`profile_params` fills them in)."""
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node
    from restorelcc.reproduce import PROFILES
    nb = load_notebook_node(str(NBS/f"{name}.ipynb"))
    with caplog.at_level(logging.WARNING, logger="papermill"):
        declared = {p.name for p in _infer_parameters(nb, name="python3", language="python")}
    assert not caplog.records, f"{name}: papermill cannot parse the parameters cell: {caplog.records[0].getMessage()}"
    missing = {"profile", "results_dir", "figures_dir"} - declared
    assert not missing, f"{name}: the parameters cell does not declare {sorted(missing)}"
    copied = declared & ({k for p in PROFILES.values() for k in p} - {"profile"})   # a value set there would beat the profile's
    assert not copied, f"{name}: the parameters cell copies the profile's {sorted(copied)}; profile_params fills them in"


def test_committed_results_are_not_git_ignored():
    "What the cells rely on across machines is committed (the cells, LoFiT's shared step 1); data files are not (the Wanda calibration record, a cell's own checkpoint)."
    import shutil, subprocess
    if shutil.which("git") is None or not (ROOT/".git").exists(): pytest.skip("not a git checkout")
    ignored = lambda p: subprocess.run(["git", "check-ignore", "-q", p], cwd=ROOT).returncode == 0
    assert ignored("results/cells/pruned/0123456789abcdef.safetensors"), "the pruning record is a data file: never committed"
    assert not ignored("results/cells/partial/lofit-scalings/0123456789abcdef.pt")
    assert not ignored("results/cells/0123456789abcdef.json")
    assert ignored("results/cells/partial/0123456789abcdef.pt")          # a LoRA cell's checkpoint is 30 MB: never committed
