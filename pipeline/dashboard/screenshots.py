"""Regenerate the README's dashboard screenshots: ``python -m pipeline.dashboard.screenshots``.

Serves the dashboard on a copy of the labelled sample database (aligned and run
through the detector, as the live flow leaves it) and saves one PNG per page,
``docs/dashboard-<page>.png``, at a laptop-like width.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from pipeline.config import load_settings
from pipeline.dashboard import bench, browser

HEIGHTS = {"Live": 2150, "Incident review": 2950, "Executive summary": 2150}
"""Viewport heights that fit each page's content on the sample (Streamlit scrolls inside the page)."""


def take(db: Path, out_dir: Path, width: int = 1440) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with tempfile.TemporaryDirectory() as scratch:
        aligned = bench.aligned_copy(db, Path(scratch) / "groundswell.duckdb", load_settings(db_path=db))
        with browser.running_app(aligned) as url, browser.chromium(width, max(HEIGHTS.values())) as page:
            for title, height in HEIGHTS.items():
                page.set_viewport_size({"width": width, "height": height})
                browser.open_page(page, url, title)
                path = out_dir / f"dashboard-{browser.PAGES[title] or 'live'}.png"
                page.screenshot(path=str(path))
                paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None, help="labelled sample database (default: the db_path setting)")
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder for the PNG files")
    args = parser.parse_args()
    for path in take(args.db or load_settings().db_path, args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
