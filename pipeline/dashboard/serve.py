"""Serving the dashboard: ``streamlit run dashboard/app.py``, headless, on 127.0.0.1.

``groundswell dashboard`` becomes the Streamlit process (``exec``). The database
reaches the app through the environment (``GROUNDSWELL_DB_PATH``,
the ``db_path`` setting), so the app reads its settings the same way as every
other groundswell command. The tests and the render benchmark start the app with
these same functions.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipeline.config import ENV_PREFIX
from pipeline.errors import GroundswellError
from pipeline.store import Store

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
ADDRESS = "127.0.0.1"


def streamlit_command(port: int, app: Path = APP) -> list[str]:
    if not app.is_file():
        raise GroundswellError(f"the dashboard app is not at {app}; run groundswell from its source checkout")
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
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


def check_database(db: Path) -> None:
    """Raise the one-line error of a missing or outdated database before anything is served."""
    Store.open(db, read_only=True).close()


def run(db: Path, port: int) -> None:
    """Replace this process with Streamlit serving the dashboard, so that Ctrl-C or a
    signal reaches the server itself and nothing is left running behind it."""
    command = streamlit_command(port)
    sys.stdout.flush()
    os.execve(command[0], command, environment(db))
