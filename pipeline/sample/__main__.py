"""``python -m pipeline.sample [OUT_DIR] [--seed N]``: write the sample incidents (default: data/)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pipeline.sample.generate import DEFAULT_SEED, generate_sample


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.sample", description=__doc__)
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path("data"), help="folder to write the incident folders into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED}, the committed sample)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    paths = generate_sample(args.out_dir, args.seed)
    for path in paths:
        print(f"{path.stat().st_size:>10,}  {path}")
    print(f"wrote {len(paths)} files in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
