"""README.md and docs/ against the repository: settings, file paths, links, the module map, generated parts.

When one of these fails after a change elsewhere, the fix is usually one command:
`.venv/bin/python -m docs` regenerates docs/preview.svg, the module map in docs/architecture.md and the
the settings table in docs/configuration.md is edited by hand.
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import PydanticUndefined

from bot.settings import FAST_PATHS, Settings
from docs import modules, render_preview

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 250

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_CODE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_FILE_SUFFIXES = (".py", ".md", ".yml", ".yaml", ".json", ".toml", ".svg", ".cfg", ".txt")
_ROOT_FILES = {"Dockerfile", "docker-compose.yml", "manifest.yml", "pyproject.toml", ".env.example"}
# What git ignores is made at run time (`.env`, `data/redis`): a page may name it though no clone has it.
_IGNORED = [
    line.strip().rstrip("/") for line in (REPO / ".gitignore").read_text().splitlines() if line.strip()
]


def _relative(page: Path) -> str:
    return page.relative_to(REPO).as_posix()


def _prose(page: Path) -> str:
    """A page without its fenced code blocks (shell sessions and examples, not references)."""
    return _FENCE.sub("", page.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", _prose(page), re.MULTILINE)
    return {_slug(heading) for heading in headings}


def _named_paths(page: Path) -> list[str]:
    """Backquoted words in a page that name a file or folder of the repository."""
    names = []
    for token in _CODE.findall(_prose(page)):
        if (
            re.search(r"[\s:{}*<>=~$]", token)
            or token.startswith(("/", "-"))
            or not re.search("[a-z]", token)
        ):
            continue  # commands, URLs, Redis keys, HTTP paths, patterns, figures
        first = token.removeprefix("./").split("/")[0]
        if any(fnmatch(first, pattern) for pattern in _IGNORED):
            continue
        if token in _ROOT_FILES or "/" in token or token.endswith(_FILE_SUFFIXES):
            names.append(token)
    return names


def test_readme_fits_on_a_screen_or_five() -> None:
    """README.md is a front door: at most 250 lines."""
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=_relative)
def test_every_file_a_page_names_exists(page: Path) -> None:
    """Every repository path a page names in backquotes exists (relative to the repository or the page)."""
    missing = [
        name
        for name in _named_paths(page)
        if not (REPO / name).exists() and not (page.parent / name).exists()
    ]
    assert not missing, f"{_relative(page)} names files that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_relative)
def test_every_link_resolves(page: Path) -> None:
    """Every relative link resolves to a file of the repository, and its #anchor to a heading there."""
    broken = []
    for target in _LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or (
            anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)
        ):
            broken.append(target)
    assert not broken, f"{_relative(page)} has broken links: {broken}"


def test_the_readme_links_every_page_of_docs() -> None:
    """Each page in docs/ is reachable from the README's table of documentation."""
    linked = set(_LINK.findall(README.read_text(encoding="utf-8")))
    unlinked = [f"docs/{page.name}" for page in DOCS.glob("*.md") if f"docs/{page.name}" not in linked]
    assert not unlinked, f"README.md does not link {unlinked}"


def _settings_rows() -> dict[str, str]:
    """The first table of docs/configuration.md: variable -> default cell."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    table = text[text.index("| variable | default | meaning |") :].split("\n\n", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        variable, default = (cell.strip() for cell in line.strip("|").split(" | ")[:2])
        name = variable.strip("`")
        assert name not in rows, f"{name} is in the settings table twice"
        rows[name] = default
    return rows


def _shows_default(cell: str, default: Any, required: bool) -> bool:  # noqa: PLR0911 - one per kind
    """Whether a table cell states this default: required, unset (None), empty (""), or `the value`."""
    if required:
        return cell.startswith("required")
    if default is None:
        return cell.startswith("unset")
    if default == "":
        return cell.startswith("empty")
    shown = _CODE.match(cell)
    if shown is None:
        return False
    if isinstance(default, int | float):
        return float(shown.group(1)) == float(default)
    if isinstance(default, frozenset):  # ZAPBOT_FAST_PATHS: every behaviour, spelled `on`
        return shown.group(1) == "on" and default == FAST_PATHS
    return shown.group(1) == str(default)


def test_the_settings_table_matches_the_settings_class() -> None:
    """docs/configuration.md lists every Settings field, once, by its variable name and with its default."""
    assert Settings.model_config.get("env_prefix", "") == ""
    assert not Settings.model_config.get("case_sensitive", False)
    rows = _settings_rows()
    expected = {}
    for name, field in Settings.model_fields.items():
        assert field.alias is None and field.validation_alias is None, f"{name}: its variable is not {name}"
        expected[name.upper()] = field
    assert sorted(rows) == sorted(expected), "the table's variables differ from the Settings fields"
    wrong = {
        variable: rows[variable]
        for variable, field in expected.items()
        if not _shows_default(
            rows[variable], None if field.default is PydanticUndefined else field.default, field.is_required()
        )
    }
    assert not wrong, f"these defaults differ from bot/settings.py: {wrong}"


def test_the_module_map_names_every_module() -> None:
    """docs/architecture.md names every package and module under bot/, found on disk, and nothing else."""
    on_disk = set()
    for file in (REPO / "bot").rglob("*.py"):
        relative = file.relative_to(REPO)
        on_disk.add(relative.parent.as_posix() + "/" if file.name == "__init__.py" else relative.as_posix())
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    mapped = set(re.findall(r"^\| `(bot/[^`]*)` \|", text, re.MULTILINE))
    assert not on_disk - mapped, f"run .venv/bin/python -m docs.modules: missing {sorted(on_disk - mapped)}"
    assert not mapped - on_disk, f"run .venv/bin/python -m docs.modules: gone {sorted(mapped - on_disk)}"


def test_the_module_map_is_what_the_generator_writes() -> None:
    """The map in docs/architecture.md is current (`python -m docs.modules --check` would pass)."""
    text = modules.ARCHITECTURE.read_text(encoding="utf-8")
    assert text == modules.updated(text), "run .venv/bin/python -m docs.modules"


def test_the_picture_shows_what_the_bot_posts() -> None:
    """docs/preview.svg is drawn from the messages the bot builds today (`python -m docs.render_preview`)."""
    svg = render_preview.render()
    assert render_preview.OUTPUT.read_text(encoding="utf-8") == svg, (
        "run .venv/bin/python -m docs.render_preview"
    )
    assert ">Confirm</text>" in svg and ">success</tspan>" in svg


def test_operations_covers_every_deploy_file() -> None:
    """docs/operations.md names each file in deploy/ (the Ingress too, which the kustomization leaves out)."""
    text = (DOCS / "operations.md").read_text(encoding="utf-8")
    unnamed = [f"deploy/{f.name}" for f in (REPO / "deploy").iterdir() if f"`deploy/{f.name}`" not in text]
    assert not unnamed, f"docs/operations.md does not name {unnamed}"


def test_tests_and_bench_read_nothing_outside_the_repository() -> None:
    """No test, helper or benchmark file reads the shared folder that once stood beside the clone: it tests
    itself."""
    needle = "/".join(["..", "shared"])  # not a literal, nor folded into one in this file's bytecode
    sources = [*(REPO / "tests").rglob("*.py"), *(REPO / "bench").rglob("*.py")]
    sources.remove(Path(__file__).resolve())  # this test names what it looks for
    readers = [_relative(f) for f in sources if needle in f.read_text(encoding="utf-8")]
    readers += [_relative(f) for f in sources if re.search(r"""["']shared["']\s*/""", f.read_text("utf-8"))]
    assert not readers, f"these read outside the repository: {readers}"
