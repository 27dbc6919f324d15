"""Render a workbook to PDF and PNG pages to check how it prints (outside the test run).

    python -m reports.render_pages report.xlsx OUTDIR

Needs Debian's libreoffice (headless) and poppler-utils (pdftoppm).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def render(xlsx: str, outdir: str, dpi: int = 70) -> list[Path]:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["libreoffice", "--headless", "--convert-to", "pdf", "--outdir", str(out), xlsx],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pdf = out / (Path(xlsx).stem + ".pdf")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out / Path(xlsx).stem)], check=True, timeout=300)
    return sorted(out.glob(Path(xlsx).stem + "*.png"))


if __name__ == "__main__":
    for page in render(sys.argv[1], sys.argv[2]):
        print(page)
