"""Start llama.cpp's OpenAI-compatible server (``python -m llama_cpp.server``) on loopback.

``python tools/realserver/serve.py [--model PATH]`` serves until Ctrl-C and prints the base URL;
from Python, ``with LlamaServer(model) as server: ...`` gives ``server.url``. The model is
served under two names, from one file:

- ``tiny``: the ``chatml-function-calling`` chat format, the one llama-cpp-python's server
  answers ``tools`` / ``tool_choice`` with (and ``response_format: json_object`` with a schema);
- ``tiny-template``: the model's own ChatML template (what a server does when it is given no
  chat format), which ignores ``tools``.

The server loads one model at a time and swaps on demand; the tiny model loads in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["ALIASES", "LlamaServer", "main"]

ALIASES = {"tiny": "chatml-function-calling", "tiny-template": None}
"""Model name → llama-cpp-python chat format (None: the GGUF's own template)."""
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / ".realserver" / "tiny-chatml-v2.gguf"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LlamaServer:
    """llama-cpp-python's server as a child process on a free loopback port."""

    def __init__(self, model: Path, *, start_timeout: float = 180.0) -> None:
        if not model.is_file():
            raise FileNotFoundError(
                f"no model at {str(model)!r}; build it with "
                "`python tools/realserver/make_tiny_model.py`"
            )
        self.model = model
        self.start_timeout = start_timeout
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._folder = tempfile.TemporaryDirectory(prefix="grasp-llama-server-")
        self.log = Path(self._folder.name) / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        models = [
            {
                "model": str(self.model),
                "model_alias": alias,
                "chat_format": chat_format,
                "n_ctx": 2048,
                "n_threads": 1,
                "n_threads_batch": 1,
                "verbose": False,
            }
            for alias, chat_format in ALIASES.items()
        ]
        config = Path(self._folder.name) / "config.json"
        settings = {"host": "127.0.0.1", "port": self.port, "models": models}
        config.write_text(json.dumps(settings), encoding="utf-8")
        return config

    def start(self) -> None:
        """Start the server and wait until ``/v1/models`` answers."""
        command = [sys.executable, "-m", "llama_cpp.server", "--config_file", str(self._config())]
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited at start:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer in {self.start_timeout:.0f} s")

    def tail(self, lines: int = 20) -> str:
        """The end of the server's output (for a failure message)."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Ask the server to stop; kill it if it has not after 15 s."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> LlamaServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
        self._folder.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.environ.get("GRASP_REALSERVER_MODEL", str(DEFAULT_MODEL))
    parser.add_argument("--model", type=Path, default=Path(default), help=f"default: {default}")
    args = parser.parse_args(argv)
    try:
        with LlamaServer(args.model) as server:
            print(f"serving {', '.join(ALIASES)} at {server.url} (Ctrl-C stops)", flush=True)
            while True:
                time.sleep(3600)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
