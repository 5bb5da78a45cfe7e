"""Where the response cache lives and how big it may grow: the models file's top-level
``cache:`` block, the ``--cache-dir`` / ``--cache-max-mb`` flags of ``grasp run`` and ``grasp
preview`` (which win over it), and the default; a bad block is one clear line."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.cli.options import EXIT_ERROR, EXIT_OK
from grasp_core.mock_server import MockServer
from tests.nodes.clients.test_cache_runs import _chain

MIB = 1024 * 1024


def _segments(folder: Path) -> list[Path]:
    return sorted(folder.glob("seg-*.log"))


def _run(task: Path, server: MockServer, *flags: str) -> int:
    return main(["run", str(task), "--mock-url", server.url, "--overwrite", "--quiet", *flags])


def _old_replies(folder: Path, count: int, size: int) -> Path:
    """A segment of ``count`` valid entries of about ``size`` bytes each, as an earlier run
    would have left it."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        payload = b'{"text":"%s"}' % (b"x" * size)
        key = f"{i:064x}".encode("ascii")
        lines.append(b"%s %08x %s\n" % (key, zlib.crc32(payload), payload))
    path = folder / "seg-00000000000000000001-1-00000000.log"
    path.write_bytes(b"".join(lines))
    return path


def test_the_models_file_sets_the_cache_folder(tmp_path: Path, mock_server: MockServer) -> None:
    """``cache: {dir: replies}`` in the models file puts the cache beside the models file,
    and a rerun is answered from there."""
    task = _chain(tmp_path / "task")
    (task.parent / "models.yaml").write_text("cache: {dir: replies}\nm: {model: openai/m}\n")
    mock_server.reset()
    assert _run(task, mock_server) == EXIT_OK
    assert len(mock_server.requests()) == 8
    assert len(_segments(task.parent / "replies")) == 1
    assert _segments(tmp_path / "xdg-cache" / "grasp" / "responses") == []

    mock_server.reset()
    assert _run(task, mock_server) == EXIT_OK
    assert mock_server.requests() == []


def test_the_cache_dir_flag_wins_over_the_models_file(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """``--cache-dir`` beats the models file's ``cache.dir``."""
    task = _chain(tmp_path / "task")
    (task.parent / "models.yaml").write_text("cache: {dir: replies}\nm: {model: openai/m}\n")
    assert _run(task, mock_server, "--cache-dir", str(tmp_path / "flag")) == EXIT_OK
    assert len(_segments(tmp_path / "flag")) == 1
    assert not (task.parent / "replies").exists()


def test_without_settings_the_default_folder_is_used(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """No flag and no ``cache:`` block: ``$XDG_CACHE_HOME/grasp/responses``."""
    task = _chain(tmp_path / "task")
    assert _run(task, mock_server) == EXIT_OK
    assert len(_segments(tmp_path / "xdg-cache" / "grasp" / "responses")) == 1


def test_cache_max_mb_on_the_command_line_trims_the_cache(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """``--cache-max-mb 1`` over a 2 MiB cache: the run drops the oldest replies down to
    three quarters of a MiB before it starts; the default limit (2 GiB) keeps them all."""
    cache = tmp_path / "cache"
    old = _old_replies(cache, count=20, size=100_000)
    task = _chain(tmp_path / "task")
    assert _run(task, mock_server, "--cache-dir", str(cache)) == EXIT_OK
    assert old.exists()

    assert _run(task, mock_server, "--cache-dir", str(cache), "--cache-max-mb", "1") == EXIT_OK
    assert not old.exists()
    kept = sum(p.stat().st_size for p in _segments(cache))
    assert 0 < kept <= 0.75 * MIB


def test_the_models_files_max_mb_applies_and_the_flag_wins(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """``cache: {max_mb: 1}`` trims like the flag; ``--cache-max-mb 4096`` overrides it."""
    cache = tmp_path / "cache"
    old = _old_replies(cache, count=20, size=100_000)
    task = _chain(tmp_path / "task")
    models = f"cache: {{dir: {cache}, max_mb: 1}}\nm: {{model: openai/m}}\n"
    (task.parent / "models.yaml").write_text(models)
    assert _run(task, mock_server, "--cache-max-mb", "4096") == EXIT_OK
    assert old.exists()
    assert _run(task, mock_server) == EXIT_OK
    assert not old.exists()


def test_preview_takes_the_cache_flags(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``grasp preview --cache-dir DIR --cache-max-mb 1`` stores its replies in DIR and
    trims it like a run."""
    cache = tmp_path / "cache"
    old = _old_replies(cache, count=20, size=100_000)
    task = _chain(tmp_path / "task")
    args = ["preview", str(task), "-n", "1", "--json", "--mock-url", mock_server.url]
    assert main([*args, "--cache-dir", str(cache), "--cache-max-mb", "1"]) == EXIT_OK
    assert not old.exists()
    assert len(_segments(cache)) >= 1
    capsys.readouterr()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("cache: {model: openai/m}", "`cache` at the top of a models file holds the response"),
        ("cache: {dri: x}", "dri"),
        ("cache: {max_mb: 0}", "max_mb"),
    ],
)
def test_a_bad_cache_block_is_one_line_naming_it(
    tmp_path: Path,
    mock_server: MockServer,
    capsys: pytest.CaptureFixture[str],
    block: str,
    message: str,
) -> None:
    """A model named ``cache``, a misspelt key or a limit below 1: exit 2, one line naming
    the models file, the line and the fix, no traceback."""
    task = _chain(tmp_path / "task")
    (task.parent / "models.yaml").write_text(f"m: {{model: openai/m}}\n{block}\n")
    assert _run(task, mock_server) == EXIT_ERROR
    err = capsys.readouterr().err
    assert message in err
    assert "models.yaml:2" in err
    assert "Traceback" not in err


def test_a_cache_max_mb_below_one_is_refused(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--cache-max-mb 0``: exit 2 with one line naming the flag."""
    task = _chain(tmp_path / "task")
    assert _run(task, mock_server, "--cache-max-mb", "0") == EXIT_ERROR
    err = capsys.readouterr().err
    assert "--cache-max-mb 0" in err
    assert "Traceback" not in err
