"""What every benchmark script shares: databases, the ``hibah`` CLI, server processes, wrk, CPU and memory
accounting, a quiet machine, the facts of a run and its section of ``docs/performance.md``.

Only ``app.oversight.xlsx`` (by bench_xlsx_writer) and ``app.serving`` (by bench/serve.py) are imported
from the app; everything else reaches it as a user would: the CLI, HTTP and its tables.
"""

import argparse
import asyncio
import hashlib
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
MACHINE_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULT_PREFIX = "BENCH_JSON "
DOC_HEADER = """# Performance

Measured numbers for the hot paths of the API, each section with the script that produces it, the
exact commands and the machine it ran on. Re-run a script to refresh its numbers; the part between
its `bench_...:start` and `bench_...:end` markers is rewritten, the notes around it are not.
"""
PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "psycopg",
    "uvicorn",
    "uvloop",
    "httptools",
    "httpx",
)
POSTGRES_SETTINGS = ("shared_buffers", "synchronous_commit", "wal_sync_method", "max_wal_size")
KEY_PATTERN = r"hibah_[A-Za-z0-9_-]+"


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def command_line(module: str) -> str:
    """How this run was started, for the doc's commands."""
    return f"uv run python -m {module} {shlex.join(sys.argv[1:])}".rstrip()


# --- databases -----------------------------------------------------------------------------------


def plain_url(url: str) -> str:
    """The libpq form asyncpg and psql accept (an SQLAlchemy ``+driver`` suffix dropped)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def with_database(url: str, database: str) -> str:
    parts = urlsplit(plain_url(url))
    return urlunsplit(parts._replace(path="/" + database))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def server_url() -> str:
    """The PostgreSQL server to use: the one ``DATABASE_URL`` names, else the machine's."""
    return plain_url(os.environ.get("DATABASE_URL", MACHINE_SERVER))


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        yield connection
    finally:
        await connection.close()


async def _fetchval(url: str, sql: str, *args: object) -> Any:
    async with connected(url) as connection:
        return await connection.fetchval(sql, *args)


def fetchval(url: str, sql: str, *args: object) -> Any:
    return asyncio.run(_fetchval(url, sql, *args))


async def _fetchrow(url: str, sql: str, *args: object) -> Any:
    async with connected(url) as connection:
        return await connection.fetchrow(sql, *args)


def fetchrow(url: str, sql: str, *args: object) -> Any:
    return asyncio.run(_fetchrow(url, sql, *args))


async def _execute(url: str, statements: Sequence[str]) -> None:
    async with connected(url) as connection:
        for sql in statements:
            await connection.execute(sql)


def execute(url: str, *statements: str) -> None:
    """Each statement on its own (VACUUM and CHECKPOINT refuse to share a transaction)."""
    asyncio.run(_execute(url, statements))


def database_exists(server: str, database: str) -> bool:
    found = fetchval(with_database(server, "postgres"), "SELECT 1 FROM pg_database WHERE datname = $1", database)
    return found is not None


def fresh_database(database: str, server: str | None = None) -> str:
    """Drop and create ``database`` on ``server`` (default :func:`server_url`); its URL."""
    server = server or server_url()
    execute(
        with_database(server, "postgres"),
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        f'CREATE DATABASE "{database}"',
    )
    return with_database(server, database)


def ensure_database(database: str, server: str | None = None) -> str:
    """``database`` on ``server``, created when missing and kept otherwise; its URL."""
    server = server or server_url()
    if not database_exists(server, database):
        execute(with_database(server, "postgres"), f'CREATE DATABASE "{database}"')
    return with_database(server, database)


# --- the hibah CLI -------------------------------------------------------------------------------


def run_env(url: str, overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment with ``DATABASE_URL``; an override of ``None`` unsets the variable."""
    env = {**os.environ, "DATABASE_URL": url}
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def hibah(url: str, *args: str, log: Path | None = None) -> str:
    """``uv run hibah ...`` against ``url``; its stdout. Its stderr goes to ``log`` when given."""
    command = ["uv", "run", "hibah", *args]
    if log is None:
        done = subprocess.run(command, cwd=ROOT, env=run_env(url), capture_output=True, text=True, check=False)
        errors = done.stderr
    else:
        with log.open("a") as sink:
            done = subprocess.run(
                command, cwd=ROOT, env=run_env(url), stdout=subprocess.PIPE, stderr=sink, text=True, check=False
            )
        errors = log.read_text(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed ({done.returncode}):\n{errors[-2000:]}")
    return done.stdout


def migrate(url: str, log: Path | None = None) -> None:
    hibah(url, "migrate", log=log)


def create_key(url: str, role: str, name: str, *extra: str, log: Path | None = None) -> str:
    """``uv run hibah keys create``: the secret is the last line of stdout."""
    out = hibah(url, "keys", "create", "--role", role, "--name", name, *extra, log=log)
    secret = out.strip().splitlines()[-1].strip() if out.strip() else ""
    if not re.fullmatch(KEY_PATTERN, secret):
        raise RuntimeError("keys create printed no key on its last line")
    return secret


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def app_command(workers: int, port: int) -> list[str]:
    return ["uv", "run", "hibah", "serve", "--no-migrate", "--workers", str(workers), "--port", str(port)]


def bench_serve_command(factory: str, workers: int, port: int) -> list[str]:
    """A bare app served as ``hibah serve`` serves the app (bench/serve.py): a socket per worker."""
    return ["uv", "run", "python", "-m", "bench.serve", factory, "--workers", str(workers), "--port", str(port)]


def uvicorn_command(factory: str, workers: int, port: int, log_level: str) -> list[str]:
    """Plain ``uvicorn --workers``, its access log off as under ``hibah serve``."""
    return [
        *("uv", "run", "uvicorn", "--factory", "--workers", str(workers), "--port", str(port)),
        *("--no-access-log", "--log-level", log_level, factory),
    ]


@dataclass(frozen=True)
class Server:
    """A server process leading its own session, so stopping the group reaches ``uv run``, the Python under
    it and its workers, and nothing else."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def root(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def wait_ready(self, path: str, timeout: float = 120, *, listeners: int = 1) -> httpx.Response:
        """The first 200 from ``path`` once ``listeners`` processes of the server listen on its port.

        `hibah serve --workers N` gives each worker its own socket (SO_REUSEPORT): the first answer comes from
        whichever worker is up first, and connections opened before the others listen would all go to it.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"server exited with {self.process.returncode}; log {self.log}:\n{tail}")
            try:
                response = httpx.get(self.base + path, timeout=2)
                if response.status_code == 200 and self._listening() >= listeners:
                    return response
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"server not ready after {timeout:.0f} s; log: {self.log}")

    def _listening(self) -> int:
        """Processes of the server's tree with a listening TCP socket on its port."""
        count = 0
        for member in tree(self.root()):
            try:
                sockets = member.net_connections(kind="tcp")
            except psutil.Error:
                continue
            count += any(s.status == psutil.CONN_LISTEN and s.laddr and s.laddr.port == self.port for s in sockets)
        return count

    def serving_process(self) -> psutil.Process:
        """The largest Python process of the server: the one that serves when there is a single worker."""
        pythons = [p for p in tree(self.root()) if "python" in _name(p)]
        if not pythons:
            raise RuntimeError("no Python process found under the server")
        return max(pythons, key=lambda p: p.memory_info().rss)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextmanager
def serving(command: Callable[[int], list[str]], env: Mapping[str, str], log: Path) -> Iterator[Server]:
    """A server on a free port, ``command(port)``, stopped on the way out; its output goes to ``log``."""
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command(port), cwd=ROOT, env=dict(env), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, log)
    try:
        yield server
    finally:
        server.stop()


# --- wrk -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    requests: int
    """Successful requests: 2xx for wrk, 201 for the ledger's POST driver."""
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    """Non-2xx answers and transport errors."""
    driver_cpu_s: float = 0.0
    statuses: str = ""
    sample_error: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


WRK_SCRIPT = """
local paths = {%s}
local requests = {}
local next_index = 1

function init(args)
  for index, path in ipairs(paths) do
    requests[index] = wrk.format("GET", path)
  end
  next_index = math.random(#paths)
end

function request()
  next_index = next_index %% #paths + 1
  return requests[next_index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%%d,"duration_us":%%d,"p50_us":%%.1f,"p99_us":%%.1f,"errors":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def write_wrk_script(path: Path, paths: Sequence[str]) -> Path:
    """A wrk script that GETs ``paths`` in rotation, each connection from a random start."""
    path.write_text(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), RESULT_PREFIX))
    return path


def wrk_command(
    script: Path, port: int, seconds: float, connections: int, threads: int, *, timeout: str = "10s"
) -> list[str]:
    return [
        *("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", timeout),
        *("-s", str(script), f"http://127.0.0.1:{port}"),
    ]


def result_line(stdout: str) -> dict[str, Any]:
    """The JSON a load generator printed after :data:`RESULT_PREFIX`."""
    line = next(line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX))
    data: dict[str, Any] = json.loads(line.removeprefix(RESULT_PREFIX))
    return data


def run_wrk(command: list[str]) -> Load:
    """Run wrk (or a driver printing the same JSON line); its CPU is that of this process's children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = result_line(done.stdout)
    errors = int(data["errors"])
    return Load(
        requests=int(data["requests"]) - errors,
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        driver_cpu_s=after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime,
    )


def wrk_version() -> str:
    if not shutil.which("wrk"):
        return "not installed"
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip()


# --- CPU and memory ------------------------------------------------------------------------------


def tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return []


def _name(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline()[:4]).lower()
    except psutil.Error:
        return ""


def cpu_seconds(process: psutil.Process) -> float:
    """User and system CPU of one process; 0 once it is gone."""
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def tree_cpu(process: psutil.Process) -> float:
    return sum(cpu_seconds(member) for member in tree(process))


def backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds of the live local PostgreSQL backends serving ``database`` (their title names it)."""
    found: dict[int, float] = {}
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or ())
        if title.startswith("postgres:") and f" {database} " in title:
            found[process.pid] = cpu_seconds(process)
    return found


def backends_delta(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """CPU the backends used in between; those that ended in between are not seen."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


@dataclass
class RssSampler:
    """The RSS of every process under ``root`` (``uv run``, uvicorn, its workers) every ``interval`` seconds,
    in a thread, and once more on the way out."""

    root: psutil.Process
    interval: float = 0.05
    peaks: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def snapshot(self) -> dict[int, int]:
        found = {}
        for process in tree(self.root):
            try:
                found[process.pid] = process.memory_info().rss
            except psutil.Error:
                continue
            self.names.setdefault(process.pid, _name(process))
        return found

    def python_rss(self) -> int:
        """The largest Python process now (``uv run`` itself is a small Rust binary)."""
        return self._largest_python(self.snapshot())

    @property
    def peak(self) -> int:
        """The peak of the largest Python process, or of any process when none is Python."""
        return self._largest_python(self.peaks)

    def _largest_python(self, rss: Mapping[int, int]) -> int:
        pythons = [value for pid, value in rss.items() if "python" in self.names.get(pid, "")]
        return max(pythons or rss.values() or [0])

    def _record(self) -> None:
        for pid, rss in self.snapshot().items():
            self.peaks[pid] = max(self.peaks.get(pid, 0), rss)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self._record()
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._record()


# --- a quiet machine -----------------------------------------------------------------------------


def _own_family() -> set[int]:
    me = psutil.Process()
    family = {me.pid} | {process.pid for process in me.parents()}
    return family | {process.pid for process in me.children(recursive=True)}


def other_benchmarks() -> list[psutil.Process]:
    """The Python processes of benchmark scripts outside this process tree (not their `uv run` or `timeout`)."""
    family = _own_family()
    found = []
    for process in psutil.process_iter(["pid", "name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if (
            process.info["pid"] not in family
            and (process.info["name"] or "").startswith("python")
            and re.search(r" -m bench\.bench_", cmdline)
        ):
            found.append(process)
    return found


def _busy(processes: list[psutil.Process], seconds: float = 10) -> bool:
    """Whether any of them measures now: it, its servers and load generators burn CPU.

    A script that waits for a quiet machine may keep an idle server up: that is not measuring."""
    before = sum(tree_cpu(process) for process in processes)
    time.sleep(seconds)
    used = sum(tree_cpu(process) for process in processes) - before
    return used > 0.05 * seconds


def wait_for_quiet(limit: float, threshold: float = 25.0) -> float:
    """Wait while another benchmark measures, then up to ``limit`` seconds for the machine's CPU to drop under
    ``threshold`` percent; the busy percentage when the wait ended.

    Another benchmark that is itself only waiting (its process tree idle for 20 s) does not hold this
    one back: two scripts waiting for each other would otherwise both wait forever. A ``limit`` of 0 waits for
    nothing (smoke runs)."""
    if limit <= 0:
        return 0.0
    idle_checks = 0
    announced = False
    while (others := other_benchmarks()) and idle_checks < 2:
        if _busy(others):
            idle_checks = 0
            if not announced:
                print(f"  waiting for another benchmark: {' '.join(others[0].info['cmdline'])[:100]}", flush=True)
                announced = True
        else:
            idle_checks += 1
    deadline = time.monotonic() + limit
    while (busy := psutil.cpu_percent(interval=1.0)) > threshold and time.monotonic() < deadline:
        print(f"  machine {busy:.0f}% busy with other work; waiting", flush=True)
        time.sleep(4)
    if busy > threshold:
        print(f"  the CPU stayed {busy:.0f}% busy for {limit:.0f} s; going on", flush=True)
    return busy


# --- the facts of a run --------------------------------------------------------------------------


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout


def code_version() -> str:
    """The commit under test and, when app/ or migrations/ differ from it (others may be editing), which files
    and a digest of the difference, so a change in the middle of a run shows."""
    revision = _git("rev-parse", "--short", "HEAD").strip() or "unknown"
    paths = ("app", "migrations")
    files = [line[3:] for line in _git("status", "--porcelain", "--", *paths).splitlines()]
    if not files:
        return f"commit {revision} (app/ and migrations/ as committed)"
    digest = hashlib.sha256(_git("diff", "HEAD", "--", *paths).encode())
    for untracked in sorted(_git("ls-files", "--others", "--exclude-standard", "--", *paths).split()):
        digest.update((ROOT / untracked).read_bytes())
    return f"commit {revision} with uncommitted changes to {', '.join(files)} (sha256 {digest.hexdigest()[:12]})"


def cpu_model() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    return next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())


async def _postgres(url: str, settings: Sequence[str]) -> str:
    async with connected(url) as connection:
        version: str = await connection.fetchval("SELECT version()")
        values = [f"{name} {await connection.fetchval('SELECT current_setting($1)', name)}" for name in settings]
    host = urlsplit(url).hostname
    # No host in the URL: a Unix socket (the embedded PostgreSQL), so this machine too.
    where = "same machine" if host in (None, "127.0.0.1", "localhost", "::1") else f"on {host}"
    return f"{version.split(' on ', 1)[0]} ({where}; {', '.join(values)})"


def machine_facts(url: str, *, settings: Sequence[str] = POSTGRES_SETTINGS, code: str | None = None) -> dict[str, str]:
    """The code, machine, packages and PostgreSQL (its version and ``settings``) a run measured."""
    return {
        "code": code or code_version(),
        "nproc": str(os.cpu_count()),
        "CPU": cpu_model(),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "packages": ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES),
        "PostgreSQL": asyncio.run(_postgres(url, settings)),
    }


def facts_markdown(facts: Mapping[str, str]) -> str:
    return "\n".join(f"- {name}: {value}" for name, value in facts.items())


def facts_and_commands(facts: Mapping[str, str], commands: str) -> list[str]:
    """The closing paragraphs of a section: what it ran on, and how to run it again."""
    return [f"Machine and software:\n\n{facts_markdown(facts)}", f"Commands:\n\n```sh\n{commands}\n```"]


# --- docs/performance.md -------------------------------------------------------------------------


@dataclass(frozen=True)
class DocSection:
    """A script's part of docs/performance.md: what lies between its markers is rewritten, nothing else."""

    start: str
    end: str
    heading: str
    heading_inside: bool = False
    """The heading stands between the markers (and is rewritten with them) rather than before them."""
    notes: str | None = None
    """A mark inside the markers: from it to the end marker, the hand-written notes are kept."""

    def write(self, generated: str, path: Path = DOC) -> None:
        text = path.read_text() if path.exists() else DOC_HEADER
        if self.start in text and self.end in text:
            before, rest = text.split(self.start, 1)
            inside, after = rest.split(self.end, 1)
            text = before + self._block(generated, self._kept(inside)) + after
        elif self.heading_inside:
            text = text.rstrip("\n") + f"\n\n{self._block(generated)}\n"
        elif self.heading in text:
            cut = text.index(self.heading) + len(self.heading)
            text = text[:cut] + "\n\n" + self._block(generated) + text[cut:]
        else:
            text = text.rstrip("\n") + f"\n\n{self.heading}\n\n{self._block(generated)}\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def _block(self, generated: str, kept: str = "") -> str:
        inner = f"{self.heading}\n\n{generated.strip()}" if self.heading_inside else generated.strip()
        return f"{self.start}\n\n{inner}\n\n{kept}{self.end}"

    def _kept(self, inside: str) -> str:
        if self.notes is None or self.notes not in inside:
            return ""
        return self.notes + inside.split(self.notes, 1)[1].rstrip("\n") + "\n\n"


def add_app_env_option(parser: argparse.ArgumentParser) -> None:
    """``--app-env A=1,B=2`` (repeatable): the app measured once more with those settings."""
    parser.add_argument(
        "--app-env",
        action="append",
        dest="app_envs",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="also measure the app with these settings, e.g. HIBAH_DB_POOL_SIZE=20,HIBAH_DB_MAX_OVERFLOW=0",
    )


def parse_assignments(assignments: str) -> dict[str, str]:
    """``"A=1,B=2"`` as a mapping."""
    pairs = (assignment.split("=", 1) for assignment in assignments.split(","))
    return {name.strip(): value.strip() for name, value in pairs}


def add_doc_options(parser: argparse.ArgumentParser) -> None:
    """``--doc PATH`` (a scratch copy for trial runs) and ``--no-doc``."""
    shown = DOC.relative_to(ROOT)
    parser.add_argument("--doc", type=Path, default=DOC, help=f"the document to update (default {shown})")
    parser.add_argument("--no-doc", action="store_false", dest="write_doc", help=f"do not update {shown}")
