"""What the kit says to its users holds no account of how it was made: no issue numbers, no targets met or missed,
no machine of the people who built it. Scanned: the README, docs/, every notebook (the executed copies' outputs
too) and the Markdown of results/."""

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

BOOKKEEPING = {
    "an issue number": r"\bissues?\s*#?\d+",
    "a target met or missed": r"\btargets?\b[^.\n]{0,20}\b(met|missed)\b|\bmissed targets?\b",
    "a goal of the development": r"\b\d+-minute goal\b|\bthe goal of\b",
    "the developers' machine": r"this project's (machine|cpu|2-core)|as on this project|this project ships|"
                               r"while the test suite held|beside seed \d",
    "a planning document": r"seed document|rank \d+\b",
    "a path of one machine": r"/tmp/pytest-|/work/|/home/\w+/|/root/",
    "the developers' GLUE copy": r"shared/glue",
    "a lending tool": r"device tool|device time|\$OUT\b|`carry`",
}
"""What must not appear, by what it would be, as regular expressions (case-insensitive)."""

ALLOWED = {"README.md": ["GLUE_DIR=../shared/glue"]}
"""Text a file may hold that a pattern would match: the README's example GLUE_DIR line, which a reader replaces by
their own folder."""


def product_files() -> list[Path]:
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    files += sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "notebooks" / "executed").glob("*.ipynb"))
    return files + sorted((REPO / "results").glob("**/*.md"))


def text_of(path: Path) -> str:
    """A file's text as a reader sees it: a notebook's cell sources and text outputs."""
    if path.suffix != ".ipynb":
        return path.read_text()
    parts = []
    for cell in json.loads(path.read_text())["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts += ["".join(v) for k, v in output.get("data", {}).items() if k in ("text/plain", "text/markdown")]
    return "\n".join(parts)


@pytest.mark.parametrize("path", product_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_development_bookkeeping(path):
    text = text_of(path)
    for allowed in ALLOWED.get(path.relative_to(REPO).as_posix(), []):
        text = text.replace(allowed, "")
    found = [(what, m.group(0)) for what, pattern in BOOKKEEPING.items()
             for m in re.finditer(pattern, text, re.IGNORECASE)]
    assert not found, f"{path.relative_to(REPO)}: {found[0][0]}: {found[0][1]!r}"


def test_the_guard_finds_what_it_is_for():
    samples = {"as issue 8 asked": "an issue number", "the 45-minute goal": "a goal of the development",
               "target missed": "a target met or missed", "GLUE dir …/shared/glue": "the developers' GLUE copy",
               "saved in /tmp/pytest-of-root/x.png": "a path of one machine"}
    for sample, what in samples.items():
        assert re.search(BOOKKEEPING[what], sample, re.IGNORECASE), sample
