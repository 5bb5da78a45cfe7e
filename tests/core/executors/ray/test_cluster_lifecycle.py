"""The Ray executor from outside: joining a cluster started with `ray start` (token auth on,
as Ray turns it on), one clear line when the cluster cannot be joined, and a killed driver
whose local cluster and shards end with it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grasp_core import ClusterConnectionError, RunOptions, run_task
from grasp_core.cli import main
from grasp_core.cli.options import EXIT_CLUSTER
from grasp_core.mock_server import Latency, MockServer
from tests.conftest import write_task

ray = pytest.importorskip("ray")

RAY = str(Path(sys.executable).with_name("ray"))
TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    ask: {node_type: llm, output_keys: answer, prompt: [{user: "Say {text}"}], model: {name: m}}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""
MODELS = "m: {model: openai/m, max_concurrency: 4}\n"


def records(n: int) -> str:
    return "".join(json.dumps({"id": f"r{i}", "text": f"hello {i}"}) + "\n" for i in range(n))


def output_ids(path: Path) -> list[str]:
    return sorted(json.loads(line)["id"] for line in path.read_bytes().splitlines() if line)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_env(**more: str) -> dict[str, str]:
    """This process's environment without Ray's address and auth settings, plus ``more``."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    return {**env, "RAY_USAGE_STATS_ENABLED": "0", **more}


def test_an_address_where_nothing_listens_is_one_line_and_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--ray-address where nothing listens: exit code 5 at once, one line naming the address,
    the reason and what to do, no traceback, no Ray session left open; from Python, a
    ClusterConnectionError (a ConnectionError)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    task = write_task(tmp_path, TASK, {"data.jsonl": records(2)})
    address = f"127.0.0.1:{free_port()}"
    argv = ["run", str(task), "--mock", "--executor", "ray", "--ray-address", address]
    assert main(argv) == EXIT_CLUSTER
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines() == [
        f"grasp: error: cannot connect to the Ray cluster at {address}: nothing listens on "
        f"port {address.split(':')[1]} of 127.0.0.1; start the head with `ray start --head "
        "--port PORT` (it prints the address to pass), check the address and that this "
        "machine can reach it, or drop --ray-address (and $RAY_ADDRESS) to start a local "
        "cluster"
    ]
    assert not ray.is_initialized()
    with pytest.raises(ConnectionError, match=f"cannot connect to the Ray cluster at {address}"):
        run_task(task, RunOptions(mock=True, executor="ray", ray_address=address))
    monkeypatch.setenv("RAY_ADDRESS", address)  # the same through $RAY_ADDRESS
    with pytest.raises(ClusterConnectionError, match="nothing listens"):
        run_task(task, RunOptions(mock=True, executor="ray"))
    assert not (tmp_path / "out.shards").exists()


def session_processes(session: int) -> list[int]:
    """The live processes of a session (zombies are dead)."""
    found = []
    for name in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rpartition(")")[2].split()
        except (OSError, ValueError):
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            found.append(int(name))
    return found


def wait_until_gone(find: Callable[[], list[int]], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while left := find():
        assert time.monotonic() < deadline, f"{what} still running: {left}"
        time.sleep(0.2)


@pytest.fixture
def head(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The documented head: a token made with `ray get-auth-token --generate`, then `ray
    start --head --port P` with RAY_AUTH_MODE=token, in its own HOME (for the token), temp
    folder and session. Yields its address and the environment the docs tell the driver
    to use. It is stopped by killing its session: `ray stop` would stop every Ray process
    of this user on the machine, other test runs' clusters included."""
    env = clean_env(HOME=str(tmp_path / "home"), RAY_AUTH_MODE="token")
    temp = tempfile.mkdtemp(prefix="grasp-ray-")  # short: Ray's socket paths live in it
    subprocess.run([RAY, "get-auth-token", "--generate"], env=env, check=True, capture_output=True)
    port = free_port()
    start = subprocess.Popen(
        [
            RAY, "start", "--head", "--port", str(port), "--num-cpus", "2",
            "--temp-dir", temp, "--dashboard-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()),
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        _, err = start.communicate(timeout=180)
        assert start.returncode == 0, err
        yield f"127.0.0.1:{port}", env
    finally:
        start.kill()
        for pid in session_processes(start.pid):
            os.kill(pid, signal.SIGKILL)
        wait_until_gone(lambda: session_processes(start.pid), "the head's processes")
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_the_documented_existing_cluster_steps_work_and_a_missing_token_is_one_line(
    head: tuple[str, dict[str, str]], tmp_path: Path, mock_server: MockServer
) -> None:
    """`ray start --head` with token auth, then `grasp run --executor ray --ray-address`: with
    RAY_AUTH_MODE=token (as the docs say) every record is written; without it, exit code 5
    and one line saying to set it, not a 20 s wait and a traceback."""
    address, env = head
    task = write_task(tmp_path / "task", TASK, {"data.jsonl": records(30), "models.yaml": MODELS})
    command = [
        sys.executable, "-m", "grasp_core", "run", str(task), "--quiet", "--mock-url",
        mock_server.url, "--executor", "ray", "--ray-address", address, "--num-shards", "2",
    ]  # fmt: skip
    no_auth = {k: v for k, v in env.items() if k != "RAY_AUTH_MODE"}
    refused = subprocess.run(command, env=no_auth, capture_output=True, text=True, timeout=120)
    assert refused.returncode == EXIT_CLUSTER, refused.stderr
    assert "Traceback" not in refused.stderr
    ours = [line for line in refused.stderr.splitlines() if line.startswith("grasp:")]
    assert ours == [
        f"grasp: error: cannot connect to the Ray cluster at {address}: it requires token "
        "authentication; set RAY_AUTH_MODE=token where grasp runs, and the cluster's token "
        "must be here too: in ~/.ray/auth_token, or $RAY_AUTH_TOKEN, or a file named by "
        "$RAY_AUTH_TOKEN_PATH (`ray get-auth-token` on the head prints it)"
    ]
    assert not (tmp_path / "task" / "out.shards").exists()

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert output_ids(tmp_path / "task" / "out.jsonl") == sorted(f"r{i}" for i in range(30))


def run_processes(mark: str, root: str) -> list[str]:
    """The live processes of a run: those with ``mark`` in their environment, or a file or
    working folder under ``root`` (its Ray temp folder: a process whose title overwrote its
    environment still logs there), each as ``pid: command line``."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                marked = mark.encode() in handle.read().split(b"\0")
            paths = [
                f"/proc/{name}/cwd",
                *(f"/proc/{name}/fd/{fd}" for fd in os.listdir(f"/proc/{name}/fd")),
            ]
            inside = marked or any(_target(path).startswith(root + "/") for path in paths)
            command = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # not a process, gone, or a zombie
            continue
        if inside and int(name) != os.getpid():
            found.append(f"{name}: {command.decode(errors='replace')[:120]}")
    return found


def _target(link: str) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return ""


@pytest.mark.slow
def test_a_killed_driver_takes_its_local_cluster_and_shards_with_it(tmp_path: Path) -> None:
    """SIGKILL the driver of a run on the local cluster it started: the model calls stop, no
    process of that cluster stays (its agents included), and `--resume` writes every
    record once; the resumed run, ending normally, leaves no process either."""
    task = write_task(tmp_path, TASK, {"data.jsonl": records(300), "models.yaml": MODELS})
    run_mark = f"GRASP_TEST_RUN={uuid.uuid4().hex}"
    root = tempfile.mkdtemp(prefix="grasp-ray-")  # short: Ray's socket paths live in it
    home = str(tmp_path / "home")  # where the local cluster's ray.init writes its token
    env = clean_env(RAY_TMPDIR=root, HOME=home, **dict([run_mark.split("=")]))
    server = MockServer(latency=Latency.parse("fixed:0.1"), max_seconds=900)
    with server.running():
        command = [
            sys.executable, "-m", "grasp_core", "run", str(task), "--quiet", "--mock-url",
            server.url, "--executor", "ray", "--num-shards", "2",
        ]  # fmt: skip
        log = tmp_path / "driver.err"
        with log.open("w") as err:
            driver = subprocess.Popen(command, env=env, stderr=err)
        try:
            deadline = time.monotonic() + 180
            while server.stats()["requests"] < 20:
                assert driver.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the shards never called the model"
                time.sleep(0.1)
            driver.send_signal(signal.SIGKILL)
            driver.wait()
            _wait_until_steady(server)
            wait_until_gone(lambda: _watchdogs(run_mark, root), "the watchdog", seconds=120)
            assert run_processes(run_mark, root) == []  # Ray's agents used to live ~60 s more

            resumed = subprocess.run(
                [*command, "--resume"], env=env, capture_output=True, text=True, timeout=600
            )
            assert resumed.returncode == 0, resumed.stderr
            assert output_ids(tmp_path / "out.jsonl") == sorted(f"r{i}" for i in range(300))
            assert run_processes(run_mark, root) == []  # the driver waited for the watchdog
        finally:
            driver.kill()
            for line in run_processes(run_mark, root):
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
            shutil.rmtree(root, ignore_errors=True)


def _watchdogs(run_mark: str, root: str) -> list[int]:
    """The run's reaper watchdogs still running (they carry the run's mark too)."""
    lines = run_processes(run_mark, root)
    return [int(line.split(":")[0]) for line in lines if "_watchdog.py" in line]


def _wait_until_steady(server: MockServer) -> None:
    """Until two readings of the request count, 3 s apart, are equal (at most 2 minutes)."""
    deadline = time.monotonic() + 120
    before = server.stats()["requests"]
    while True:
        time.sleep(3)
        now = server.stats()["requests"]
        if now == before:
            return
        assert time.monotonic() < deadline, "the model calls never stopped"
        before = now
