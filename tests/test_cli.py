"The `restorelcc` command as a user meets it: help, info, and one-line errors."
import subprocess, sys

import pytest
from restorelcc.models import tiny_llama, save_checkpoint


def run(*args):
    code = "import sys; from restorelcc.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_help_lists_subcommands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("info", "prune", "restore", "evaluate", "reproduce", "demo"):
        assert cmd in r.stdout, f"{cmd} missing from --help"


def test_info_on_a_local_checkpoint(tmp_path):
    m, tok = tiny_llama()
    save_checkpoint(m, tok, tmp_path/"tiny")
    r = run("info", "--model", str(tmp_path/"tiny"))
    assert r.returncode == 0, r.stderr
    assert "n_layers            3" in r.stdout and "n_heads             4" in r.stdout and "n_kv_heads          2" in r.stdout


@pytest.mark.parametrize("name,msg", [("no-such-model", "unknown model"), ("/definitely/not/here", "unknown model")])
def test_info_bad_model_is_one_line(name, msg):
    r = run("info", "--model", name)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and msg in r.stderr


@pytest.mark.slow
def test_info_smollm2_geometry():
    r = run("info", "--model", "smollm2-135m")
    assert r.returncode == 0, r.stderr
    for line in ("n_layers            30", "n_heads             9", "n_kv_heads          3", "head_dim            64"):
        assert line in r.stdout
