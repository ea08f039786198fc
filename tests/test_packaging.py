"""Packaging: ``python -m accord``, the licence, the ``py.typed`` marker and its place in the package data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import accord

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(accord.__file__).resolve().parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accord", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_python_m_accord_help_lists_the_commands():
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: accord")
    for command in ("aggregate", "report", "next", "demo"):
        assert command in result.stdout


def test_python_m_accord_without_a_command_is_a_usage_error():
    result = _run()
    assert result.returncode == 2
    assert "usage: accord" in result.stderr


def test_license_is_the_apache_2_text_with_our_copyright():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("Copyright 2026 The accord authors")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(text.splitlines()) > 200  # the full text, not a summary


def test_changelog_keeps_an_unreleased_section():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog")
    assert "## [Unreleased]" in text
    assert "keepachangelog.com" in text


def test_py_typed_marker_is_in_the_package():
    marker = PACKAGE / "py.typed"
    assert marker.is_file()
    assert marker.read_bytes() == b""


def test_py_typed_is_declared_as_package_data():
    """setuptools ships only the data files listed in ``[tool.setuptools.package-data]``."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["project"]["license"] == "Apache-2.0"
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["accord"]
