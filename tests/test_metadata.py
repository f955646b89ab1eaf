"""Package metadata: ``CITATION.cff`` parses, follows Citation File Format 1.2.0 and cites the
paper and its data; the ``all`` extra holds every other extra but ``docs``, the ``test`` extra no
``dask``.

YAML is not a dependency of the project, so the file is read with a small parser of the YAML
subset it uses (block mappings and sequences, quoted and plain scalars, folded ``>-`` blocks) that
refuses anything else: a line it cannot place is a failure.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
_KEY = re.compile(r"^([A-Za-z][\w-]*):(?: (.*))?$")

#: Top-level keys of Citation File Format 1.2.0 (the schema's ``properties``).
CFF_KEYS = {
    "abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
    "identifiers", "keywords", "license", "license-url", "message", "preferred-citation",
    "references", "repository", "repository-artifact", "repository-code", "title", "type",
    "url", "version",
}  # fmt: skip


def _scalar(text: str) -> Any:
    text = text.strip()
    if text[:1] in "\"'":
        assert len(text) >= 2 and text[-1] == text[0], f"unclosed quote: {text}"
        return text[1:-1]
    assert not text.startswith(("[", "{", "&", "*", "!", "|")), f"unsupported YAML: {text}"
    return int(text) if text.isdigit() else text


def _lines(text: str) -> list[tuple[int, str]]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        assert "\t" not in raw, f"line {number}: a tab"
        if raw.strip() and not raw.lstrip().startswith("#"):
            indent = len(raw) - len(raw.lstrip(" "))
            assert indent % 2 == 0, f"line {number}: odd indentation"
            out.append((indent, raw.strip()))
    return out


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    """The mapping or sequence starting at ``lines[i]`` (at ``indent``); the next index."""
    if lines[i][1].startswith("- "):
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            rest = lines[i][1][2:]
            if _KEY.match(rest):  # a mapping item: its first key sits two columns in
                lines[i] = (indent + 2, rest)
                item, i = _block(lines, i, indent + 2)
            else:
                item, i = _scalar(rest), i + 1
            items.append(item)
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent:
        match = _KEY.match(lines[i][1])
        assert match, f"not a key: {lines[i][1]!r}"
        key, value = match.group(1), match.group(2)
        assert key not in mapping, f"key {key!r} twice"
        i += 1
        if value == ">-":  # folded block: the more-indented lines, joined by spaces
            words = []
            while i < len(lines) and lines[i][0] > indent:
                words.append(lines[i][1])
                i += 1
            mapping[key] = " ".join(words)
        elif value:
            mapping[key] = _scalar(value)
        else:
            assert i < len(lines) and lines[i][0] > indent, f"key {key!r} without a value"
            mapping[key], i = _block(lines, i, lines[i][0])
    return mapping, i


def parse_cff(text: str) -> dict[str, Any]:
    lines = _lines(text)
    doc, end = _block(lines, 0, 0)
    assert end == len(lines), f"unparsed line: {lines[end][1]!r}"
    return doc


def test_the_parser_refuses_what_it_does_not_know():
    assert parse_cff('a: 1\nb:\n  - x: "y"\n    z: w\n  - q\n') == {
        "a": 1,
        "b": [{"x": "y", "z": "w"}, "q"],
    }
    for bad in ("a: [1, 2]\n", "a: 1\na: 2\n", "a:\n   b: 1\n", 'a: "open\n', "just text\n"):
        with pytest.raises(AssertionError):
            parse_cff(bad)


def test_citation_cff_cites_the_package_the_paper_and_the_data():
    cff = parse_cff((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert set(cff) <= CFF_KEYS, sorted(set(cff) - CFF_KEYS)
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "software" and cff["title"] == "clln_theory"
    assert cff["message"] and cff["authors"] and cff["license"] == "MIT"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{cff["version"]}"' in pyproject
    paper, data = cff["references"]
    assert paper["type"] == "article" and paper["year"] == 2025
    assert (
        paper["title"] == "Understanding and Embracing Imperfection in Physical Learning Networks"
    )
    assert [a["family-names"] for a in paper["authors"]] == ["Dillavou", "Guzman", "Liu", "Durian"]
    assert {"type": "other", "value": "arXiv:2505.22887"}.items() <= paper["identifiers"][0].items()
    assert data["type"] == "data" and data["doi"] == "10.5281/zenodo.15692010"
    assert "10.5281/zenodo.15692010" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_all_extra_is_complete_and_the_test_extra_has_no_dask():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    with open(ROOT / "pyproject.toml", "rb") as fh:
        extras = tomllib.load(fh)["project"]["optional-dependencies"]
    others = set().union(*(set(v) for k, v in extras.items() if k not in ("all", "docs")))
    assert others == set(extras["all"]), sorted(others ^ set(extras["all"]))
    assert not any(req.startswith("dask") for req in extras["test"])
    assert {"psutil>=5.9", "pandas>=1.5"} <= set(extras["all"])
