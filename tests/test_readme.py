"""The README a newcomer reads: short, and every number in it generated from the files it names (issue #33)."""
import importlib.util, json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT/"README.md"
BLOCK = re.compile(r"<!-- (\w+):start -->(.*?)<!-- \1:end -->", re.S)
FENCE = re.compile(r"```.*?```", re.S)
# a measured-looking number: a decimal, or a number with a unit of time, size, speed, share or accuracy points
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:%|s\b|min\b|h\b|GB\b|MB\b|GFLOP|points?\b|×)|(?<![\w.])\d+\.\d+(?![\w.])")


def report():
    "benchmarks/report.py, the script that fills the README's demo block and benchmarks/README.md's tables."
    spec = importlib.util.spec_from_file_location("report", ROOT/"benchmarks"/"report.py")
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m


def block(text: str, name: str) -> str:
    return next(m.group(2) for m in BLOCK.finditer(text) if m.group(1) == name)


def test_readme_is_short():
    n = len(README.read_text().splitlines())
    assert n <= 150, f"README.md has {n} lines; history and long tables go to results/RESULTS.md or benchmarks/README.md"


@pytest.mark.parametrize("readme", ["README.md", "benchmarks/README.md"])
def test_benchmark_blocks_are_generated(readme):
    text = (ROOT/readme).read_text()
    assert report().fill(text, ROOT/"benchmarks"/"results") == text, f"stale: run python benchmarks/report.py --readme {readme}"


def test_results_block_is_generated():
    from restorelcc.reproduce import summary_md
    assert block(README.read_text(), "results").strip() == summary_md(ROOT/"results").strip(), \
        "stale: run restorelcc reproduce (or restorelcc.reproduce.update_readme) to regenerate the results block"


def test_demo_block_is_the_demo_json_with_intervals():
    demo = json.loads((ROOT/"benchmarks"/"results"/"demo.json").read_text())
    b = block(README.read_text(), "demo")
    assert f"{demo['seconds']['total']/60:.1f} min" in b and demo["date"] in b and demo["machine"]["cpu"] in b
    screen = b.split("```")[1].splitlines()
    for measure in ("perplexity", "held-out loss", "mean acc"):
        row = next(l for l in screen if l.startswith(measure))
        for name in ("dense", "pruned", "restored"):
            v = demo["rows"][name]["val_loss" if measure == "held-out loss" else "ppl" if measure == "perplexity" else "mean_acc"]
            assert (f"{v:.3f}" if measure == "held-out loss" else f"{v:.2f}" if measure == "perplexity" else f"{100*v:.1f}") in row, row
        if measure != "held-out loss": assert row.count("[") == 2, f"{row!r}: a difference without its interval"
    assert screen[-1].startswith("what this run showed:")


def test_no_number_outside_generated_blocks():
    "Prose and commands may state settings, never measurements: those live in generated blocks, read from their files."
    from restorelcc.pipeline import DEMO
    from restorelcc.evaluate import paired_bootstrap
    import inspect
    allowed = {"2510.21834": True, "3.11": True,                                  # the paper's arXiv id, the Python version
               "50 %": DEMO["sparsity"] == 0.5,                                   # the demo's sparsity, as its code sets it
               "95 %": inspect.signature(paired_bootstrap).parameters["level"].default == 0.95}
    text = FENCE.sub("", BLOCK.sub("", README.read_text()))
    found = [m.group(0) for m in NUMBER.finditer(text) if not allowed.get(m.group(0))]
    assert not found, f"numbers outside generated blocks: {found}; generate them from their files or drop them"
