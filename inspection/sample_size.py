"""Sample sizes for the random inspection (SPEC §4.1): the ratio rule and attribute sampling.

Attribute sampling for tests of controls, as in the AICPA audit-sampling tables: the smallest n such
that, allowing ceil(n × expected) deviations, the probability of seeing no more than that many when
the true rate is the tolerable rate is at most 1 − confidence (binomial). For a small stratum the
hypergeometric distribution of a finite population of N archives, ceil(N × tolerable) of them
deviating, gives a smaller n, and n never exceeds N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import binom, hypergeom

MAX_N = 100_000


@dataclass(frozen=True)
class SampleSize:
    n: int
    allowed_deviations: int
    method: str  # binomial | hypergeometric | whole population


def _check(confidence: float, tolerable: float, expected: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1 (e.g. 0.95)")
    if not 0 < tolerable < 1:
        raise ValueError("tolerable deviation rate must be between 0 and 1 (e.g. 0.05)")
    if not 0 <= expected < tolerable:
        raise ValueError("expected deviation rate must be at least 0 and below the tolerable rate")


def attribute_sample_size(
    *, confidence: float, tolerable: float, expected: float, population: int | None = None
) -> SampleSize:
    """The attribute-sampling size; with `population`, the hypergeometric size when it is smaller."""
    _check(confidence, tolerable, expected)
    risk = 1 - confidence
    binomial = None
    for n in range(1, MAX_N + 1):
        d = math.ceil(n * expected - 1e-12)
        if binom.cdf(d, n, tolerable) <= risk:
            binomial = SampleSize(n, d, "binomial")
            break
    if binomial is None:
        raise ValueError("no sample size up to 100,000 meets these rates; widen the tolerable rate")
    if population is None:
        return binomial
    if population < 1:
        raise ValueError("population must be at least 1")
    deviating = math.ceil(population * tolerable - 1e-12)
    for n in range(1, min(binomial.n, population) + 1):
        d = math.ceil(n * expected - 1e-12)
        if hypergeom.cdf(d, population, deviating, n) <= risk:
            return SampleSize(n, d, "hypergeometric") if n < binomial.n else binomial
    if population <= binomial.n:
        return SampleSize(population, math.ceil(population * expected - 1e-12), "whole population")
    return binomial


def ratio_sample_size(population: int, *, ratio: float, minimum: int, maximum: int) -> int:
    """SPEC §4.1: n = min(N, max(min_per_stratum, min(max_per_stratum, ceil(ratio × N))))."""
    return min(population, max(minimum, min(maximum, math.ceil(ratio * population - 1e-12))))
