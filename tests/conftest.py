import os
from pathlib import Path

# Offline for good, and the Alpaca subset beside the checkout unless the caller says otherwise.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_shared = Path(__file__).resolve().parents[1].parent/"shared"/"data"
if "RESTORELCC_DATA" not in os.environ and _shared.is_dir(): os.environ["RESTORELCC_DATA"] = str(_shared)
