"""Serving the dashboard: ``streamlit run dashboard/app.py``, headless, on 127.0.0.1.

The database reaches the app through the environment (``GROUNDSWELL_DB_PATH``,
the ``db_path`` setting), so the app reads its settings the same way as every
other groundswell command. The tests and the render benchmark start the app with
these same functions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import ENV_PREFIX
from pipeline.errors import GroundswellError
from pipeline.store import Store

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
ADDRESS = "127.0.0.1"


def streamlit_command(port: int) -> list[str]:
    if not APP.is_file():
        raise GroundswellError(f"the dashboard app is not at {APP}; run groundswell from its source checkout")
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--server.address", ADDRESS,
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def environment(db: Path) -> dict[str, str]:
    return {**os.environ, f"{ENV_PREFIX}DB_PATH": str(db.resolve())}


def url(port: int) -> str:
    return f"http://{ADDRESS}:{port}"


def serve(db: Path, port: int) -> int:
    """Run the dashboard until interrupted; returns Streamlit's exit status. The database
    is checked first, so a missing or outdated file is one clear error, not a page of them."""
    Store.open(db, read_only=True).close()
    return subprocess.call(streamlit_command(port), env=environment(db))
