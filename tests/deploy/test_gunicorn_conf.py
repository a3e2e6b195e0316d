"""gunicorn.conf.py's hooks, loaded as gunicorn loads the file."""

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_a_worker_freezes_what_loading_the_app_created():
    settings = runpy.run_path(str(CONF))
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        settings["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
