"""What a source file's parse found for its config models' field docstrings is kept beside its
bytecode: a new process reads it instead of parsing the file, every model gets the same
descriptions and schema either way, a rewritten or damaged file is never trusted, and nothing
is written where bytecode is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT
from tests.core.config.test_field_docstrings import _DUMP

MODULE = "from grasp_core.config import StrictModel\n\nclass M(StrictModel):\n"

READ = """
import json, sys
import grasp_core.config._docstrings as docstrings
parsed = []
original = docstrings._parse
docstrings._parse = lambda *a: parsed.append(a[0]) or original(*a)
import cached_model
print(json.dumps([cached_model.M.model_fields["x"].description, parsed]))
"""


def _fresh(code: str, pycache: Path, *, write: bool = True, path: Path | None = None) -> Any:
    """Run ``code`` in a fresh interpreter, bytecode written under ``pycache`` unless
    ``write`` is false; its last line of output, as JSON."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(pycache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cache_files(pycache: Path) -> list[Path]:
    return sorted(pycache.rglob("cached_model*.docstrings.json"))


def test_a_second_process_reads_the_docstrings_without_parsing(tmp_path: Path) -> None:
    """The first import parses the module's file and writes its cache beside the bytecode;
    a second process gets the same description without parsing it."""
    module = tmp_path / "src" / "cached_model.py"
    module.parent.mkdir()
    module.write_text(MODULE + "    x: int = 0\n    '''the x'''\n")
    pycache = tmp_path / "pycache"
    first = _fresh(READ, pycache, path=module.parent)
    assert first == ["the x", [str(module)]]
    assert len(_cache_files(pycache)) == 1
    assert _fresh(READ, pycache, path=module.parent) == ["the x", []]


def test_a_rewritten_or_damaged_file_is_parsed_again(tmp_path: Path) -> None:
    """A module rewritten with another docstring (another modification time and size) gives
    the new one; a damaged cache file is parsed past and written again."""
    module = tmp_path / "src" / "cached_model.py"
    module.parent.mkdir()
    pycache = tmp_path / "pycache"
    module.write_text(MODULE + "    x: int = 0\n    '''first'''\n")
    os.utime(module, ns=(1, 10**9))
    assert _fresh(READ, pycache, path=module.parent)[0] == "first"
    module.write_text(MODULE + "    x: int = 0\n    '''the second'''\n")
    os.utime(module, ns=(1, 2 * 10**9))
    assert _fresh(READ, pycache, path=module.parent) == ["the second", [str(module)]]
    (cache_file,) = _cache_files(pycache)
    cache_file.write_text('{"stamp": [1, ')
    assert _fresh(READ, pycache, path=module.parent) == ["the second", [str(module)]]
    assert _fresh(READ, pycache, path=module.parent) == ["the second", []]


def test_nothing_is_written_where_bytecode_is_not(tmp_path: Path) -> None:
    """With ``PYTHONDONTWRITEBYTECODE`` the file is parsed and no cache file is written."""
    module = tmp_path / "src" / "cached_model.py"
    module.parent.mkdir()
    module.write_text(MODULE + "    x: int = 0\n    '''the x'''\n")
    pycache = tmp_path / "pycache"
    assert _fresh(READ, pycache, write=False, path=module.parent)[0] == "the x"
    assert _cache_files(pycache) == []


def test_every_config_model_is_described_the_same_from_the_cache(tmp_path: Path) -> None:
    """Every ``StrictModel`` of the three packages has the same descriptions and schema in a
    process that parses the source files (and writes the caches) and in one that reads the
    caches."""
    pycache = tmp_path / "pycache"
    parsed = _fresh(_DUMP, pycache)
    assert len(list(pycache.rglob("*.docstrings.json"))) > 30
    cached = _fresh(_DUMP, pycache)
    assert len(parsed) > 50
    assert cached == parsed
