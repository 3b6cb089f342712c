"""The committed sample incidents in ``data/``, and a fast stream of X responses for the ingest benchmark.

``python -m pipeline.sample data/`` regenerates the sample byte for byte; the
ground truth it puts in lives in :mod:`pipeline.sample.truth`.
"""

from pipeline.sample.generate import generate_sample, iter_x_responses

__all__ = ["generate_sample", "iter_x_responses"]
