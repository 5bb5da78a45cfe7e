"""Developer sessions: ``nox -s tests lint typecheck bench``."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, slow tests included."""
    session.install("-e", ".[dev]")
    session.run("pytest", "-q", "-m", "slow or not slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check, and the import contracts (layers, plugin surface)."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "tools", "noxfile.py")
    session.run(
        "ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "tools", "noxfile.py"
    )
    session.run("lint-imports", "--no-cache")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the library."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the local mock server; prints tables."""
    session.install("-e", ".[dev]")
    session.run("python", "benchmarks/suite.py", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links fail), into site/."""
    session.install("-e", ".[docs]")
    session.run("python", "-m", "mkdocs", "build", "--strict", *session.posargs)


@nox.session
def realserver(session: nox.Session) -> None:
    """GraSP against llama.cpp's OpenAI-compatible server (llama-cpp-python) and a tiny model
    made offline (tests/realserver). Not a default session: installing llama-cpp-python
    compiles llama.cpp, several minutes on two cores the first time (pip keeps the wheel)."""
    session.install("-e", ".", "pytest>=8", "pytest-timeout>=2.3")
    session.install("llama-cpp-python[server]", "gguf")
    built = session.run("python", "tools/realserver/make_tiny_model.py", silent=True)
    model = str(built).strip().splitlines()[-1]
    env = {"GRASP_REALSERVER_MODEL": model}
    session.run("pytest", "-m", "realserver", "tests/realserver", *session.posargs, env=env)
