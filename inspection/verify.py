"""The draw verifier: recomputes a draw's manifest from its population file and parameters, for
both draw algorithms (the inspection draw, inspection/draw.py, and the return-visit draw,
inspection/visits.py), and lists every difference. It sits above both, so neither imports the other
to be verified."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from inspection.draw import ALGORITHMS, DrawError, make_manifest
from inspection.visits import VISIT_ALGORITHM, make_visit_manifest


def verify(manifest: Mapping[str, Any], population: bytes) -> list[str]:
    """Recompute `manifest` (as read from its JSON file: any shape) from `population` and its own parameters; return every difference."""
    if manifest.get("algorithm") == VISIT_ALGORITHM:  # a return-visit draw (inspection/visits.py)
        return compare(
            manifest,
            population,
            lambda: make_visit_manifest(
                plan=manifest["plan"],
                population=population,
                seed=manifest["seed"],
                pool=manifest["visitor_pool"],
                handlers=manifest["handlers"],
                created_at=manifest["created_at"],
                created_by=manifest["created_by"],
            ),
        )
    if manifest.get("algorithm") not in ALGORITHMS:
        return [
            f"unknown algorithm {manifest.get('algorithm')!r}; this verifier implements "
            f"{', '.join((*ALGORITHMS, VISIT_ALGORITHM))}"
        ]
    return compare(
        manifest,
        population,
        lambda: make_manifest(
            plan=manifest["plan"],
            population=population,
            seed=manifest["seed"],
            pool=manifest["inspector_pool"],
            provinces=manifest.get("provinces") or {},
            created_at=manifest["created_at"],
            created_by=manifest["created_by"],
            algorithm=manifest["algorithm"],
        ),
    )


def compare(manifest: Mapping[str, Any], population: bytes, rebuild: Callable[[], Mapping[str, Any]]) -> list[str]:
    """Every difference between `manifest` and the draw `rebuild()` makes again from `population`."""
    problems = []
    digest = hashlib.sha256(population).hexdigest()
    if digest != manifest.get("population_sha256"):
        problems.append(
            f"population file SHA-256 {digest} differs from the manifest's {manifest.get('population_sha256')}"
        )
    try:
        again = rebuild()
    except (DrawError, KeyError, ValueError, TypeError) as exc:
        return problems + [f"cannot recompute the draw: {exc}"]
    for part in ("stratum_sizes", "sample", "assignments"):
        if again[part] != manifest.get(part):
            problems.append(f"{part} differ from the recomputed draw")
    return problems
