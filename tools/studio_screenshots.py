"""Take the Studio's screenshots for the docs (``docs/assets/studio/*.png``).

Runs the Studio's browser tests (Debian's Chromium, the mock server) with
``GRASP_STUDIO_SCREENSHOTS=1``, which makes each view's test save its picture
(``tests/studio/conftest.py::screenshot``). Run from the repository root::

    python tools/studio_screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    env = {**os.environ, "GRASP_STUDIO_SCREENSHOTS": "1"}
    tests = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "studio").glob("test_*browser.py")
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
