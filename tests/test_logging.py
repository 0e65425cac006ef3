"""What a command prints: our stage lines, our progress bars and the result on the terminal; other libraries' bars and
chatter only in the run's log (issue: every command talks like a well-kept tool)."""
import logging, os, subprocess, sys
from pathlib import Path

import pytest
import tqdm.std

from restorelcc.models import tiny_llama, save_checkpoint

THIRD_PARTY_NOISE = ("Map:", "Map (", "Loading weights", "--metadata", "Running loglikelihood", "Tokenizing inputs",
                     "Building contexts", "Writing model shards", "not a git repository")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    "`restorelcc demo` on a tiny checkpoint, 2 tasks × 2 documents, run as a user would (a new process)."
    d = tmp_path_factory.mktemp("demo")
    m, tok = tiny_llama(); save_checkpoint(m, tok, d/"tiny")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-c", "import sys; from restorelcc.cli import main; sys.exit(main(sys.argv[1:]))",
           "demo", "--model", str(d/"tiny"), "--out", str(d/"out"), "--limit", "2", "--tasks", "hellaswag,boolq"]
    r = subprocess.run(cmd, capture_output=True, env=env, timeout=900, cwd=d)   # outside any git checkout, as after a pip install   # bytes: text mode would turn a bar's \r into \n
    r.stdout, r.stderr = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == 0, r.stderr[-3000:]
    return r, d/"out"


def test_terminal_shows_ours_not_theirs(demo_run):
    r, out = demo_run
    term = r.stdout + r.stderr
    for noise in THIRD_PARTY_NOISE: assert noise not in term, f"{noise!r} reached the terminal"
    assert "dense" in r.stdout and "restored" in r.stdout and "perplexity" in r.stdout     # the comparison table
    last = r.stdout.rstrip().splitlines()
    assert last[-1].startswith("run folders:") and last[-2].startswith("what this run showed:")
    assert "train:" in r.stderr and "restorelcc INFO" in r.stderr                    # our bars and stage lines
    assert term.count("\n") < 60, term                                              # lines (a bar redraws itself with a carriage return)


def test_run_log_keeps_what_was_silenced(demo_run):
    _, out = demo_run
    for f in (out/"run.log", out/"pruned"/"run.log", out/"restored"/"run.log"): assert f.is_file(), f
    log = (out/"run.log").read_text()
    assert "lm_eval" in log and "--metadata" in log                                 # lm-eval's hint, kept
    assert "restorelcc DEBUG" in log or "restorelcc INFO" in log
    assert "compensating" in (out/"restored"/"run.log").read_text()


def test_library_user_logging_unchanged(tmp_path):
    "A library call quiets other libraries inside it and leaves the user's logging and tqdm as they were."
    from restorelcc.models import load_model
    from restorelcc.evaluate import evaluate
    m, tok = tiny_llama(); save_checkpoint(m, tok, tmp_path/"tiny")
    user = logging.getLogger("transformers"); user.setLevel(logging.INFO)
    before = [(n, logging.getLogger(n).level, logging.getLogger(n).propagate, list(logging.getLogger(n).handlers))
              for n in ("transformers", "datasets", "lm_eval", "accelerate")]
    init, showwarning = tqdm.std.tqdm.__init__, logging._warnings_showwarning
    model, tok = load_model(tmp_path/"tiny")
    evaluate(model, tok, "arc_easy", limit=2)
    after = [(n, logging.getLogger(n).level, logging.getLogger(n).propagate, list(logging.getLogger(n).handlers))
             for n in ("transformers", "datasets", "lm_eval", "accelerate")]
    assert after == before and tqdm.std.tqdm.__init__ is init and logging._warnings_showwarning is showwarning


def test_quiet_and_verbose_flags():
    from restorelcc.cli import build_parser
    p = build_parser()
    assert p.parse_args(["-q", "info"]).quiet and p.parse_args(["info", "-q"]).quiet
    assert p.parse_args(["info", "--verbose"]).verbose and not p.parse_args(["info"]).verbose
    with pytest.raises(SystemExit): p.parse_args(["info", "-q", "-v"])
