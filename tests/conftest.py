import os
from pathlib import Path

import pytest

# Offline for good, and the Alpaca subset beside the checkout unless the caller says otherwise.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_shared = Path(__file__).resolve().parents[1].parent/"shared"/"data"
if "RESTORELCC_DATA" not in os.environ and _shared.is_dir(): os.environ["RESTORELCC_DATA"] = str(_shared)


@pytest.fixture(scope="module")
def one_thread():
    "Tiny matmuls on a shared 2-core box: one intra-op thread is ~30x faster than two (no spin-waiting)."
    import torch
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
