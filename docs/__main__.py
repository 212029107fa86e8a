"""Regenerate every generated part of the docs: `.venv/bin/python -m docs` (`--check`: only compare).

- docs/preview.svg, from the Block Kit the bot builds (docs/render_preview.py);
- the module map in docs/architecture.md, from the files under bot/ (docs/modules.py);
"""

from __future__ import annotations

import sys

from docs import modules, render_preview


def main(argv: list[str]) -> int:
    results = [render_preview.main(argv), modules.main(argv)]
    return max(results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
