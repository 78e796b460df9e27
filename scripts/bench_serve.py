#!/usr/bin/env python3
"""Benchmark `pkg serve`: reads against nginx, concurrent publishing, and sync against a local load.

    python3 scripts/bench_serve.py [--duration S] [--runs K] [--publishes N] [--clients N]
                                   [--units N] [--stores sqlite,etcd]
                                   [--work DIR] [--pkg PATH] [--pkg-commit TEXT]
                                   [--seed S] [--note TEXT] [--write-doc] [--keep] [--quick]

Starts real servers on the loopback interface (pkg serve on a fresh SQLite
store and on a fresh single-node etcd; nginx for the baseline) and measures,
side by side in one run:

  1. Reads, on each store. A ~1 MB package (examples/drift-detector with one
     unit's data padded by seeded random bytes, base64, so the archive does
     not compress) is published; the JSON body of `GET
     /api/v1/packages/{name}` and the archive are saved as static files that
     nginx serves. Then `wrk -t2 -c16 -dS --latency` (default 10 s) runs
     against nginx and against pkg serve, one at a time and alternating which
     goes first, for the detail and for the download. Goals: pkg's requests/s
     at least 0.5x nginx's; pkg's p99 latency under 10 ms; no socket errors
     and no non-2xx answers.
  2. Memory: the peak RSS (VmHWM of /proc/PID/status) of the pkg serve
     process after its read runs. Reported for information: no goal.
  3. Concurrent publishing, on each store: N distinct packages (default
     1,000; pre-built with `pkg pack`) published by 8 client threads (keep-
     alive http.client connections). Goals: every answer is 201, and `GET
     /api/v1/packages` lists all N (`total` == N) afterwards. The wall time
     and publishes/s are reported.
  4. Sync: a 20,000-unit space (scripts/gen_package.py, one space). Baseline:
     `pkg --hub H1 load DIR -q` into an empty hub. The package is loaded into a
     second hub H2 (untimed), a server starts on an empty SQLite store, and
     `pkg sync push bench` (PKG_HUB=H2) is timed. Goal: the first push takes
     at most 2.0x the local load. Then a second, unchanged push (it must say
     "No changes"); goal: at most 0.3x the first push. The whole measure is
     repeated (--sync-runs, default 3; a fresh local hub and a fresh server
     each time, alternating which is timed first) and the medians count.

A failed step or check (a server that does not start, a body that differs
from nginx's copy, a push that does not land) exits 2; missed goals are
reported as MISS / MISSED, but the exit status stays 0 (it is a report).
Every process the script starts (etcd, nginx, pkg serve) is stopped on every
exit path, Ctrl-C included.

Needs wrk, nginx and etcd on PATH (Debian: wrk, nginx-light, etcd-server;
installed with apt-get when missing and running as root).
`--write-doc` replaces the section between `<!-- bench_serve:start -->` and
`<!-- bench_serve:end -->` in docs/performance.md (appending it when absent).
`--quick` is short for `--duration 2 --runs 1 --publishes 100 --units 2000`
(a smoke run).

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing the siblings

import benchlib  # noqa: E402  (a sibling: what the bench scripts share)
import gen_package  # noqa: E402  (a sibling script)
from benchlib import GNU_TIME, Run, cmd_output, fail, failed, log  # noqa: E402

DOC = os.path.join(ROOT, "docs", "performance.md")
SECTION = "bench_serve"
EXAMPLE = os.path.join(ROOT, "examples", "drift-detector")
BIG_UNIT = "/units/drift-detector/configmap.data.yaml"
READ_NAME = "bench-read"
READ_VERSION = "1.0.0"
PUB_PREFIX = "bench-pub-"
REMOTE = "bench"
TOKEN_ENV = "PKG_BENCH_TOKEN"

WRK_THREADS = 2
WRK_CONNECTIONS = 16
WARMUP_SECONDS = 1
RANDOM_BYTES = 1_000_000  # base64 in the unit data: the archive is about 1 MB
SYNC_SPACES = 1

# Goals from the issue.
GOAL_RPS_RATIO = 0.5  # pkg requests/s >= 0.5x nginx's
GOAL_P99_MS = 10.0  # pkg p99 < 10 ms
GOAL_FIRST_PUSH = 2.0  # first push <= 2.0x the local load
GOAL_SECOND_PUSH = 0.3  # unchanged push <= 0.3x the first push

TOOLS = {"wrk": "wrk", "nginx": "nginx-light", "etcd": "etcd-server"}
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


# --------------------------------------------------------------------------
# Running commands


def clean_env(work: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment without any PKG_* or XDG_* variable (they could point
    pkg elsewhere), with PKG_CONFIG and PKG_HUB inside the work directory,
    plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PKG_", "XDG_"))}
    env["PKG_CONFIG"] = os.path.join(work, "config.toml")
    env["PKG_HUB"] = os.path.join(work, "unused-hub.db")
    env.update(extra or {})
    return env


def run(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> Run:
    """benchlib.run of `cmd` (timed, after `sync()`); a failed command raises BenchError."""
    return benchlib.run(cmd, env, cwd=cwd, rss_prefix="pkg-bench-serve-rss-", on_fail=failed)


def sh(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> str:
    """Runs an untimed setup command and returns its stdout; a failure raises BenchError."""
    p = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"exit {p.returncode}: {' '.join(cmd)}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p.stdout


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def tool_version(cmd: list[str]) -> str:
    """The first line of what `cmd` prints, without wrk's copyright."""
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PATH": SBIN_PATH})
    lines = (p.stdout + p.stderr).strip().splitlines()
    return lines[0].split(" Copyright")[0].strip() if lines else "unknown"


def fs_description(work: str) -> str:
    """The work directory's file system: device, type, free space."""
    df = cmd_output(["df", "-PT", work]).splitlines()
    dev, fstype = (df[1].split()[:2]) if len(df) >= 2 else ("?", "?")
    st = os.statvfs(work)
    return f"{dev}, {fstype}, {st.f_bavail * st.f_frsize / 2**30:.0f} GiB free; work dir {work}"


def which(tool: str) -> str | None:
    return shutil.which(tool, path=SBIN_PATH)


def ensure_tools(stores: list[str]) -> dict[str, str]:
    """The paths of wrk, nginx and (for the etcd store) etcd, installing the
    missing ones with apt-get when we are root; else a clear error."""
    needed = [t for t in TOOLS if t != "etcd" or "etcd" in stores]
    missing = [t for t in needed if not which(t)]
    if missing:
        packages = [TOOLS[t] for t in missing]
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log(f"missing {', '.join(missing)}: apt-get install {' '.join(packages)} ...")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], env=env,
                           check=False)
        missing = [t for t in needed if not which(t)]
        if missing:
            raise SystemExit(f"bench_serve: {', '.join(missing)} not found on PATH (or in /usr/sbin); install the "
                             f"Debian packages {' '.join(TOOLS[t] for t in missing)} "
                             f"(apt-get install {' '.join(TOOLS[t] for t in missing)})")
    return {t: which(t) or t for t in needed}


# --------------------------------------------------------------------------
# Processes: every one the benchmark starts is stopped on every exit path


class Procs:
    """The long-running processes started by the benchmark, each in its own
    process group (so nginx's workers go with their master)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: list[str], env: dict[str, str], log_path: str) -> subprocess.Popen:
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, env=env,
                                    start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen | None) -> None:
        """SIGTERM to the process's group, SIGKILL after 15 seconds."""
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)


def on_signal(signum: int, _frame) -> None:
    """SIGTERM / SIGHUP: unwind like Ctrl-C, so that every `finally` stops its processes."""
    raise KeyboardInterrupt(f"signal {signum}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: str, n: int = 3000) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def group_cpu(pid: int) -> float:
    """CPU seconds of `pid` and its direct children (nginx: master and workers)."""
    total = proc_cpu(pid)
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                total += sum(proc_cpu(int(c)) for c in f.read().split())
    except OSError:
        pass
    return total


def proc_status_kb(pid: int, key: str) -> int:
    """A `kB` figure of /proc/PID/status (VmHWM, VmRSS)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


# --------------------------------------------------------------------------
# HTTP


def request(base: str, method: str, path: str, body: bytes | None = None, token: str | None = None,
            timeout: float = 120) -> tuple[int, bytes, dict[str, str]]:
    """One request on a fresh connection: (status, body, headers)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def post_keepalive(conn: http.client.HTTPConnection, path: str, body: bytes,
                   headers: dict[str, str]) -> tuple[http.client.HTTPConnection, int, bytes, float]:
    """POST on a keep-alive connection: (the connection to use next, status, body, ms).
    A failed request answers status 0 and a fresh connection."""
    t0 = time.perf_counter()
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        answer, status = resp.read(), resp.status
    except (OSError, http.client.HTTPException) as e:
        status, answer = 0, repr(e).encode()
        conn.close()
        conn = http.client.HTTPConnection(conn.host, conn.port, timeout=conn.timeout)
    return conn, status, answer, (time.perf_counter() - t0) * 1000


def get_ok(base: str, path: str, token: str | None = None) -> bytes:
    status, body, _ = request(base, "GET", path, token=token)
    if status != 200:
        fail(f"GET {base}{path}: {status} {body[:500]!r}")
    return body


# --------------------------------------------------------------------------
# Servers


class Etcd:
    """A fresh single-node etcd with its data directory under `dir`."""

    def __init__(self, procs: Procs, etcd: str, dir: str, env: dict[str, str]):
        os.makedirs(dir)
        cp, pp, mp = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{cp}"
        self.store = f"etcd:127.0.0.1:{cp}"
        self.log = os.path.join(dir, "etcd.log")
        self.proc = procs.start([
            etcd, "--data-dir", os.path.join(dir, "data"),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", f"http://127.0.0.1:{pp}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{pp}",
            "--initial-cluster", f"default=http://127.0.0.1:{pp}",
            "--listen-metrics-urls", f"http://127.0.0.1:{mp}",
        ], env, self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"etcd exited ({self.proc.returncode}):\n{tail(self.log)}")
            try:
                status, body, _ = request(self.url, "GET", "/health", timeout=2)
                if status == 200 and json.loads(body).get("health") in ("true", True):
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.1)
        fail(f"etcd did not become healthy within 30 s:\n{tail(self.log)}")


class Server:
    """`pkg serve` on a free loopback port, its log in `dir`/serve.log."""

    def __init__(self, procs: Procs, pkg: str, store: str, dir: str, env: dict[str, str]):
        os.makedirs(dir, exist_ok=True)
        self.store = store
        self.log = os.path.join(dir, "serve.log")
        self.proc = procs.start([pkg, "serve", "--addr", "127.0.0.1:0", "--store", store,
                                 "--blobs", os.path.join(dir, "blobs")], env, self.log)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"pkg serve exited ({self.proc.returncode}):\n{tail(self.log)}")
            m = re.search(r"pkg serve: listening on (http://[\d.]+:\d+)", tail(self.log, 100_000))
            if m:
                self.url = m.group(1)
                return
            time.sleep(0.05)
        fail(f"pkg serve did not say it listens within 60 s:\n{tail(self.log)}")

    def log_size(self) -> int:
        return os.path.getsize(self.log)

    def requests_since(self, offset: int) -> list[tuple[str, str, int, float]]:
        """(method, route, status, elapsed ms) of each request logged after byte `offset` of the log."""
        with open(self.log, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        pat = re.compile(r"method=(\S+) route=([^}\s]+)\}.*?status=(\d+) elapsed_ms=([\d.]+)")
        return [(m.group(1), m.group(2), int(m.group(3)), float(m.group(4))) for m in pat.finditer(text)]


def token_create(pkg: str, store: str, env: dict[str, str]) -> str:
    out = sh([pkg, "serve", "token", "create", "--store", store, "--level", "2", "--name", "bench", "-o", "json"], env)
    try:
        return json.loads(out)["token"]
    except (ValueError, KeyError):
        fail(f"pkg serve token create printed no token: {out[:500]}")
        raise AssertionError("unreachable")


NGINX_CONF = """daemon off;
{user}worker_processes 2;
pid {w}/nginx.pid;
error_log {w}/nginx.err;
events {{ worker_connections 1024; }}
http {{ access_log off; server {{ listen 127.0.0.1:{port}; root {w}/www; }} }}
"""


class Nginx:
    """nginx serving `dir`/www on a free loopback port."""

    def __init__(self, procs: Procs, nginx: str, dir: str, env: dict[str, str]):
        self.dir = dir
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        conf = os.path.join(dir, "nginx.conf")
        # As root, the workers would run as `nobody`, which cannot enter a
        # 0700 work directory: keep them as root (loopback only).
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(conf, "w", encoding="utf-8") as f:
            f.write(NGINX_CONF.format(user=user, w=dir, port=port))
        self.proc = procs.start([nginx, "-c", conf, "-p", dir, "-e", os.path.join(dir, "nginx.err")], env,
                                os.path.join(dir, "nginx.out"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"nginx exited ({self.proc.returncode}):\n{tail(os.path.join(dir, 'nginx.err'))}"
                     f"{tail(os.path.join(dir, 'nginx.out'))}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        fail(f"nginx did not listen within 20 s:\n{tail(os.path.join(dir, 'nginx.err'))}")


# --------------------------------------------------------------------------
# wrk


@dataclass
class Wrk:
    """One wrk run, parsed."""

    target: str  # "nginx" or "pkg"
    url: str
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50: float = 0.0  # ms
    p75: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    transfer: str = ""
    socket_errors: int = 0
    socket_detail: str = "connect 0, read 0, write 0, timeout 0"
    non2xx: int = 0
    server_cpu: float = 0.0  # CPU seconds of the server under test during the run
    etcd_cpu: float = 0.0
    output: str = ""

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non2xx


TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * TIME_UNITS[m.group(2)]


def parse_wrk(target: str, url: str, out: str) -> Wrk:
    w = Wrk(target, url, output=out)
    try:
        m = re.search(r"^\s*(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", out, re.M)
        w.requests = int(m.group(1))
        w.seconds = to_ms(m.group(2)) / 1000.0
        w.rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M).group(1))
        w.transfer = re.search(r"^Transfer/sec:\s+(\S+)", out, re.M).group(1)
        w.max = to_ms(re.search(r"^\s*Latency\s+\S+\s+\S+\s+(\S+)", out, re.M).group(1))
        dist = dict(re.findall(r"^\s*(50|75|90|99)%\s+(\S+)\s*$", out, re.M))
        w.p50, w.p75, w.p90, w.p99 = (to_ms(dist[k]) for k in ("50", "75", "90", "99"))
    except (AttributeError, KeyError, ValueError):
        fail(f"cannot parse wrk's output for {url}:\n{out[-3000:]}")
    m = re.search(r"Socket errors: (connect (\d+), read (\d+), write (\d+), timeout (\d+))", out)
    if m:
        w.socket_detail = m.group(1)
        w.socket_errors = sum(int(m.group(i)) for i in range(2, 6))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        w.non2xx = int(m.group(1))
    return w


def wrk(wrk_bin: str, target: str, url: str, seconds: int, cpu_pid: int | None, cpu_of=proc_cpu,
        etcd_pid: int | None = None) -> Wrk:
    cmd = [wrk_bin, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    cpu0 = cpu_of(cpu_pid) if cpu_pid else 0.0
    e0 = proc_cpu(etcd_pid) if etcd_pid else 0.0
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=seconds + 120)
    if p.returncode != 0:
        fail(f"exit {p.returncode}: {' '.join(cmd)}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    w = parse_wrk(target, url, p.stdout)
    w.server_cpu = (cpu_of(cpu_pid) - cpu0) if cpu_pid else 0.0
    w.etcd_cpu = (proc_cpu(etcd_pid) - e0) if etcd_pid else 0.0
    return w


# --------------------------------------------------------------------------
# Packages


def write_manifest(d: str, manifest: dict) -> None:
    with open(os.path.join(d, "manifest.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def read_manifest(d: str) -> dict:
    with open(os.path.join(d, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def make_big_package(pkg: str, d: str, seed: int, env: dict[str, str]) -> None:
    """examples/drift-detector as READ_NAME@READ_VERSION, with RANDOM_BYTES of
    seeded random bytes (base64, as a ConfigMap data value) in one unit's
    data, its digest updated; checked with `pkg validate`."""
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, BIG_UNIT.lstrip("/"))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    b64 = base64.b64encode(random.Random(seed).randbytes(RANDOM_BYTES)).decode("ascii")
    lines = "".join(f"    {b64[i:i + 76]}\n" for i in range(0, len(b64), 76))
    text = text.rstrip("\n") + "\n  random.b64: |\n" + lines
    data = text.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    manifest = read_manifest(d)
    manifest["name"] = READ_NAME
    manifest["version"] = READ_VERSION
    manifest["digests"][BIG_UNIT] = "sha256:" + hashlib.sha256(data).hexdigest()
    write_manifest(d, manifest)
    sh([pkg, "validate", d], env)


def pack(pkg: str, d: str, archive: str, env: dict[str, str]) -> None:
    sh([pkg, "pack", d, "-o", archive], env)


def build_publish_archives(pkg: str, work: str, n: int, env: dict[str, str]) -> list[tuple[str, bytes]]:
    """N archives of examples/drift-detector, each under its own name
    (bench-pub-0000, ...), packed with `pkg pack` by two threads, each
    rewriting the manifest of its own copy. Returns (name, archive bytes)."""
    out = os.path.join(work, "publish-archives")
    os.makedirs(out)
    names = [f"{PUB_PREFIX}{i:04d}" for i in range(n)]
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        d = os.path.join(work, f"publish-src-{k}")
        shutil.copytree(EXAMPLE, d)
        manifest = read_manifest(d)
        manifest["version"] = "1.0.0"
        try:
            for name in names[k::2]:
                manifest["name"] = name
                write_manifest(d, manifest)
                pack(pkg, d, os.path.join(out, f"{name}.tar.gz"), env)
        except BaseException as e:  # noqa: BLE001  (re-raised in the main thread)
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    result = []
    for name in names:
        with open(os.path.join(out, f"{name}.tar.gz"), "rb") as f:
            result.append((name, f.read()))
    return result


# --------------------------------------------------------------------------
# The measures


@dataclass
class Reads:
    """The read benchmark on one store."""

    store: str  # "sqlite" or "etcd"
    detail_bytes: int = 0
    detail_bytes_after: int = 0
    archive_bytes: int = 0
    runs: dict[str, list[tuple[Wrk, Wrk]]] = field(default_factory=dict)  # endpoint -> [(nginx, pkg)]
    hwm_kb: int = 0
    rss_kb: int = 0
    dropped_events: str = "?"


@dataclass
class Publishing:
    store: str
    n: int
    clients: int
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)  # status (0: no answer) -> count
    latencies: list[float] = field(default_factory=list)  # ms
    samples: list[str] = field(default_factory=list)  # a few failed answers
    total: int = -1
    listed: int = 0
    missing: int = 0
    hwm_kb: int = 0
    server_cpu: float = 0.0
    etcd_cpu: float = 0.0

    @property
    def errors(self) -> int:
        return sum(c for s, c in self.statuses.items() if s != 201)

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else 0.0

    def ok(self) -> bool:
        return self.errors == 0 and self.total == self.n and self.missing == 0


@dataclass
class Sync:
    units: int = 0
    # One entry per repetition: the medians make the result.
    loads: list[Run] = field(default_factory=list)
    firsts: list[Run] = field(default_factory=list)
    seconds: list[Run] = field(default_factory=list)
    # The last repetition's details.
    load: Run | None = None
    first: Run | None = None
    second: Run | None = None
    first_server_cpu: float = 0.0
    second_server_cpu: float = 0.0
    first_requests: list[tuple[str, str, int, float]] = field(default_factory=list)
    second_requests: list[tuple[str, str, int, float]] = field(default_factory=list)
    second_line: str = ""
    server_units: int = 0
    hwm_kb: int = 0


@dataclass
class Results:
    args: argparse.Namespace
    machine: dict[str, str]
    setup: dict[str, str] = field(default_factory=dict)
    reads: list[Reads] = field(default_factory=list)
    publishing: list[Publishing] = field(default_factory=list)
    sync: Sync | None = None
    rows: list[list[str]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    loadavg: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())


def bench_reads(res: Results, store_kind: str, procs: Procs, tools: dict[str, str], pkg: str, work: str,
                archive: bytes, nginx: Nginx, env: dict[str, str]) -> Reads:
    a = res.args
    r = Reads(store_kind, archive_bytes=len(archive))
    d = os.path.join(work, f"reads-{store_kind}")
    os.makedirs(d)
    etcd = None
    server = None
    try:
        if store_kind == "etcd":
            etcd = Etcd(procs, tools["etcd"], os.path.join(d, "etcd"), env)
            store = etcd.store
        else:
            store = f"sqlite:{os.path.join(d, 'server.db')}"
        token = token_create(pkg, store, env)
        server = Server(procs, pkg, store, d, env)
        log(f"[reads {store_kind}] pkg serve at {server.url} (pid {server.pid}); publishing {READ_NAME} "
            f"({mb(len(archive))}) ...")
        status, body, _ = request(server.url, "POST", "/api/v1/packages", archive, token)
        if status != 201:
            fail(f"publishing {READ_NAME}: {status} {body[:500]!r}")
        detail_path = f"/api/v1/packages/{READ_NAME}"
        download_path = f"/api/v1/packages/{READ_NAME}/{READ_VERSION}/download"
        # The detail lists the 20 newest actions, downloads included (written
        # in batches every 200 ms): download 25 times first, so that its size
        # no longer changes under the benchmark.
        for _ in range(25):
            if get_ok(server.url, download_path) != archive:
                fail(f"{server.url}{download_path} is not the published archive")
        time.sleep(1.0)
        detail = get_ok(server.url, detail_path)
        r.detail_bytes = len(detail)
        www = os.path.join(nginx.dir, "www", store_kind)
        os.makedirs(www)
        with open(os.path.join(www, "detail.json"), "wb") as f:
            f.write(detail)
        with open(os.path.join(www, "package.tar.gz"), "wb") as f:
            f.write(archive)
        urls = {
            "detail": (f"{nginx.url}/{store_kind}/detail.json", f"{server.url}{detail_path}"),
            "download": (f"{nginx.url}/{store_kind}/package.tar.gz", f"{server.url}{download_path}"),
        }
        for endpoint, (nurl, _purl) in urls.items():
            want = detail if endpoint == "detail" else archive
            if get_ok(nginx.url, nurl.removeprefix(nginx.url)) != want:
                fail(f"nginx's {nurl} is not the same bytes as pkg's answer")
        log(f"[reads {store_kind}] detail {len(detail):,} bytes, archive {len(archive):,} bytes; warm-up "
            f"({WARMUP_SECONDS} s each) ...")
        etcd_pid = etcd.proc.pid if etcd else None
        for endpoint, (nurl, purl) in urls.items():
            wrk(tools["wrk"], "nginx", nurl, WARMUP_SECONDS, None)
            wrk(tools["wrk"], "pkg", purl, WARMUP_SECONDS, None)
        for i in range(a.runs):
            for j, (endpoint, (nurl, purl)) in enumerate(urls.items()):
                def side_nginx(nurl=nurl) -> Wrk:
                    return wrk(tools["wrk"], "nginx", nurl, a.duration, nginx.proc.pid, group_cpu)

                def side_pkg(purl=purl) -> Wrk:
                    return wrk(tools["wrk"], "pkg", purl, a.duration, server.pid, proc_cpu, etcd_pid)

                # Alternate which side goes first (per run and per endpoint).
                if (i + j) % 2 == 0:
                    wn = side_nginx()
                    wp = side_pkg()
                else:
                    wp = side_pkg()
                    wn = side_nginx()
                r.runs.setdefault(endpoint, []).append((wn, wp))
                log(f"[reads {store_kind}] run {i + 1}/{a.runs} {endpoint}: nginx {wn.rps:,.0f} req/s p99 "
                    f"{wn.p99:.2f} ms errors {wn.errors} | pkg {wp.rps:,.0f} req/s p99 {wp.p99:.2f} ms errors "
                    f"{wp.errors} (server CPU {wp.server_cpu:.1f} s)")
        r.hwm_kb = proc_status_kb(server.pid, "VmHWM")
        r.rss_kb = proc_status_kb(server.pid, "VmRSS")
        try:
            metrics = get_ok(server.url, "/metrics").decode("utf-8", "replace")
            m = re.search(r"^pkg_dropped_events_total\s+(\S+)", metrics, re.M)
            r.dropped_events = m.group(1) if m else "not reported"
        except (OSError, http.client.HTTPException, benchlib.BenchError):
            r.dropped_events = "?"
        time.sleep(0.5)
        r.detail_bytes_after = len(get_ok(server.url, detail_path))
        log(f"[reads {store_kind}] pkg serve peak RSS (VmHWM) {r.hwm_kb / 1024:.1f} MiB, now {r.rss_kb / 1024:.1f} "
            f"MiB; dropped download events: {r.dropped_events}")
    finally:
        procs.stop(server.proc if server else None)
        procs.stop(etcd.proc if etcd else None)
    return r


def publish_all(url: str, token: str, archives: list[tuple[str, bytes]], clients: int, p: Publishing,
                server_pid: int, etcd_pid: int | None) -> None:
    """Publishes every archive from `clients` threads, each on its own
    keep-alive connection, all starting together."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    work_q: queue.Queue[tuple[str, bytes]] = queue.Queue()
    for item in archives:
        work_q.put(item)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/gzip"}

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        start.wait()
        while True:
            try:
                name, body = work_q.get_nowait()
            except queue.Empty:
                break
            conn, status, answer, ms = post_keepalive(conn, "/api/v1/packages", body, headers)
            with lock:
                p.statuses[status] = p.statuses.get(status, 0) + 1
                p.latencies.append(ms)
                if status != 201 and len(p.samples) < 5:
                    p.samples.append(f"{name}: {status} {answer[:300].decode('utf-8', 'replace')}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    cpu0, e0 = proc_cpu(server_pid), (proc_cpu(etcd_pid) if etcd_pid else 0.0)
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    p.seconds = time.perf_counter() - t0
    p.server_cpu = proc_cpu(server_pid) - cpu0
    p.etcd_cpu = (proc_cpu(etcd_pid) - e0) if etcd_pid else 0.0


def bench_publish(res: Results, store_kind: str, procs: Procs, tools: dict[str, str], pkg: str, work: str,
                  archives: list[tuple[str, bytes]], env: dict[str, str]) -> Publishing:
    a = res.args
    p = Publishing(store_kind, len(archives), a.clients)
    d = os.path.join(work, f"publish-{store_kind}")
    os.makedirs(d)
    etcd = None
    server = None
    try:
        if store_kind == "etcd":
            etcd = Etcd(procs, tools["etcd"], os.path.join(d, "etcd"), env)
            store = etcd.store
        else:
            store = f"sqlite:{os.path.join(d, 'server.db')}"
        token = token_create(pkg, store, env)
        server = Server(procs, pkg, store, d, env)
        log(f"[publish {store_kind}] pkg serve at {server.url}: {p.n} packages from {p.clients} clients ...")
        publish_all(server.url, token, archives, a.clients, p, server.pid, etcd.proc.pid if etcd else None)
        # Every package, page by page (limit is at most 1000).
        names: set[str] = set()
        offset = 0
        while True:
            page = json.loads(get_ok(server.url, f"/api/v1/packages?limit=1000&offset={offset}"))
            p.total = int(page.get("total", -1))
            batch = page.get("packages", [])
            names.update(x.get("name", "") for x in batch)
            offset += len(batch)
            if not batch or offset >= p.total:
                break
        p.listed = len(names)
        p.missing = len({n for n, _ in archives} - names)
        p.hwm_kb = proc_status_kb(server.pid, "VmHWM")
        lat = sorted(p.latencies)
        log(f"[publish {store_kind}] {p.seconds:.2f} s, {p.rate:.1f} publishes/s; answers "
            f"{dict(sorted(p.statuses.items()))}; median {statistics.median(lat):.0f} ms, p99 "
            f"{percentile(lat, 99):.0f} ms; listed total {p.total}, missing {p.missing}; server CPU "
            f"{p.server_cpu:.1f} s" + (f", etcd CPU {p.etcd_cpu:.1f} s" if etcd else ""))
        for s in p.samples:
            log(f"  not 201: {s}")
    finally:
        procs.stop(server.proc if server else None)
        procs.stop(etcd.proc if etcd else None)
    return p


def percentile(sorted_values: list[float], pct: float) -> float:
    """The nearest-rank percentile of sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, int(-(-pct * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def bench_sync(res: Results, procs: Procs, pkg: str, work: str, env: dict[str, str]) -> Sync:
    a = res.args
    s = Sync(units=a.units)
    d = os.path.join(work, "sync")
    os.makedirs(d)
    src = os.path.join(d, "package")
    log(f"[sync] generating {a.units} units in {SYNC_SPACES} space ...")
    t0 = time.perf_counter()
    summary = gen_package.generate(src, a.units, SYNC_SPACES, a.seed)
    res.setup["sync: generate the package"] = (f"{time.perf_counter() - t0:.1f} s ({summary['files']:,} files, "
                                               f"{mb(summary['data_bytes'])} of YAML)")
    sender = os.path.join(d, "sender.db")
    # A first read of the package into the page cache (untimed), as the
    # timed loads and the sender's load then all find it warm.
    sh([pkg, "validate", src], env)
    log("[sync] setup: load into the sender's hub (untimed) ...")
    r = run([pkg, "--hub", sender, "load", src, "-q"], env)
    res.setup["sync: load into the sender's hub (untimed)"] = f"{r.cell()} s"
    for i in range(1, a.sync_runs + 1):
        # Odd runs time the local load first, even runs the pushes first.
        if i % 2:
            sync_load(s, pkg, d, src, env, i)
            sync_push(s, procs, pkg, d, sender, env, i)
        else:
            sync_push(s, procs, pkg, d, sender, env, i)
            sync_load(s, pkg, d, src, env, i)
    return s


def sync_load(s: Sync, pkg: str, d: str, src: str, env: dict[str, str], i: int) -> None:
    """One baseline: `pkg load` of the package into an empty local hub."""
    log(f"[sync {i}] baseline: pkg load into an empty local hub ...")
    s.load = run([pkg, "--hub", os.path.join(d, f"local-{i}.db"), "load", src, "-q"], env)
    s.loads.append(s.load)
    log(f"  {s.load.cell()} s, peak RSS {s.load.rss_mb:.0f} MB")


def sync_push(s: Sync, procs: Procs, pkg: str, d: str, sender: str, env: dict[str, str], i: int) -> None:
    """One first push into a fresh server, then an unchanged push."""
    server = None
    try:
        # Its own directory: the server's log, blobs, store and the config.
        rd = os.path.join(d, f"run-{i}")
        os.makedirs(rd)
        server = Server(procs, pkg, f"sqlite:{os.path.join(rd, 'server.db')}", rd, env)
        token = token_create(pkg, server.store, env)
        cfg = os.path.join(rd, "config.toml")
        penv = {**env, "PKG_CONFIG": cfg, "PKG_HUB": sender, TOKEN_ENV: token}
        sh([pkg, "remote", "add", REMOTE, server.url, "--token-env", TOKEN_ENV], penv)
        log(f"[sync {i}] first pkg sync push {REMOTE} ({server.url}) ...")
        off, cpu0 = server.log_size(), proc_cpu(server.pid)
        s.first = run([pkg, "sync", "push", REMOTE], penv)
        s.firsts.append(s.first)
        s.first_server_cpu = proc_cpu(server.pid) - cpu0
        s.first_requests = server.requests_since(off)
        log(f"  {s.first.cell()} s, client peak RSS {s.first.rss_mb:.0f} MB, server CPU {s.first_server_cpu:.1f} s; "
            f"requests: {fmt_requests(s.first_requests)}")
        space = gen_package.space_slug(0)
        units = json.loads(get_ok(server.url, f"/api/v1/hub/units?space={space}", token))
        s.server_units = len(units)
        if s.server_units != s.units:
            fail(f"after the first push the server's hub has {s.server_units} units in {space}, not {s.units}")
        log(f"[sync {i}] second, unchanged pkg sync push {REMOTE} ...")
        off, cpu0 = server.log_size(), proc_cpu(server.pid)
        s.second = run([pkg, "sync", "push", REMOTE], penv)
        s.seconds.append(s.second)
        s.second_server_cpu = proc_cpu(server.pid) - cpu0
        s.second_requests = server.requests_since(off)
        said = (s.second.stdout + s.second.stderr).strip().splitlines()
        s.second_line = next((line for line in said if "No changes" in line), "")
        if not s.second_line:
            fail(f"the second push did not say \"No changes\":\n{s.second.stdout[-2000:]}\n{s.second.stderr[-2000:]}")
        s.hwm_kb = proc_status_kb(server.pid, "VmHWM")
        log(f"  {s.second.cell()} s, server CPU {s.second_server_cpu:.1f} s; said: {s.second_line.strip()}; "
            f"requests: {fmt_requests(s.second_requests)}")
    finally:
        procs.stop(server.proc if server else None)


def client_side(r: Run, reqs: list[tuple[str, str, int, float]]) -> float:
    """Seconds of the command `r` not spent inside the server's requests `reqs`."""
    return r.seconds - sum(ms for *_, ms in reqs) / 1000


def fmt_requests(reqs: list[tuple[str, str, int, float]]) -> str:
    return ", ".join(f"{m} {r} {st} {ms / 1000:.2f} s" for m, r, st, ms in reqs) or "none logged"


def benchmark(args: argparse.Namespace, work: str, pkg: str) -> Results:
    tools = ensure_tools(args.stores)
    if "serve" not in cmd_output([pkg, "--help"]):
        fail(f"{pkg} has no `serve` command: build it from this checkout (cargo build --release)")
    label = args.pkg_commit or benchlib.pkg_commit_label()
    versions = {"wrk": tool_version([tools["wrk"], "-v"]), "nginx": tool_version([tools["nginx"], "-v"])}
    if "etcd" in tools:
        versions["etcd"] = tool_version([tools["etcd"], "--version"])
    machine = benchlib.machine_info(pkg, f"{label} (the binary was built {benchlib.built_at(pkg)})",
                                    after_cores={"RAM": ram(), "Disk (work dir)": fs_description(work)},
                                    after_python={"Tools": "; ".join(versions.values())})
    res = Results(args, machine)
    env = clean_env(work)
    procs = Procs()
    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    log(f"work dir: {work}")
    log(f"pkg: {pkg}")
    load_before = os.getloadavg()
    try:
        # -- Setup -------------------------------------------------------------
        t0 = time.perf_counter()
        big = os.path.join(work, "read-package")
        make_big_package(pkg, big, args.seed, env)
        big_archive = os.path.join(work, f"{READ_NAME}.tar.gz")
        pack(pkg, big, big_archive, env)
        with open(big_archive, "rb") as f:
            archive = f.read()
        res.setup["read package"] = (f"examples/drift-detector as {READ_NAME}@{READ_VERSION} with "
                                     f"{RANDOM_BYTES:,} random bytes (base64) in {BIG_UNIT}; archive "
                                     f"{len(archive):,} bytes")
        log(f"{res.setup['read package']} ({time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        archives = build_publish_archives(pkg, work, args.publishes, env)
        res.setup["publish archives"] = (f"{len(archives):,} archives of examples/drift-detector under "
                                         f"{PUB_PREFIX}0000..., {statistics.mean(len(b) for _, b in archives):,.0f} "
                                         f"bytes each, packed in {time.perf_counter() - t0:.1f} s")
        log(res.setup["publish archives"])

        # -- 1, 2. Reads and memory ------------------------------------------
        ndir = os.path.join(work, "nginx")
        os.makedirs(os.path.join(ndir, "www"))
        nginx = Nginx(procs, tools["nginx"], ndir, env)
        log(f"nginx at {nginx.url} (pid {nginx.proc.pid})")
        try:
            for store_kind in args.stores:
                res.reads.append(bench_reads(res, store_kind, procs, tools, pkg, work, archive, nginx, env))
        finally:
            procs.stop(nginx.proc)

        # -- 3. Concurrent publishing ------------------------------------------
        for store_kind in args.stores:
            res.publishing.append(bench_publish(res, store_kind, procs, tools, pkg, work, archives, env))

        # -- 4. Sync -------------------------------------------------------------
        res.sync = bench_sync(res, procs, pkg, work, env)
    finally:
        procs.stop_all()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    res.loadavg = (load_before, os.getloadavg())
    build_rows(res)
    return res


def ram() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            kb = int(f.readline().split()[1])
        return f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


# --------------------------------------------------------------------------
# Results


HEADER = ["measure", "baseline", "pkg", "ratio", "goal", "result"]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def build_rows(res: Results) -> None:
    rows, missed = res.rows, res.missed
    for r in res.reads:
        for endpoint, pairs in r.runs.items():
            what = f"{r.store} {endpoint}"
            n_rps = statistics.median(wn.rps for wn, _ in pairs)
            p_rps = statistics.median(wp.rps for _, wp in pairs)
            ratio = p_rps / n_rps if n_rps else 0.0
            ok = ratio >= GOAL_RPS_RATIO
            rows.append([f"{what}: requests/s, pkg serve vs nginx (median)", f"{n_rps:,.0f}/s", f"{p_rps:,.0f}/s",
                         f"{ratio:.2f}", f">= {GOAL_RPS_RATIO:g}", verdict(ok)])
            if not ok:
                missed.append(f"{what}: pkg serve's requests/s are {ratio:.2f}x nginx's (< {GOAL_RPS_RATIO:g})")
            n_p99 = max(wn.p99 for wn, _ in pairs)
            p_p99 = max(wp.p99 for _, wp in pairs)
            ok = p_p99 < GOAL_P99_MS
            rows.append([f"{what}: p99 latency (worst run)", f"{n_p99:.2f} ms", f"{p_p99:.2f} ms",
                         f"{p_p99 / n_p99:.2f}" if n_p99 else "", f"pkg < {GOAL_P99_MS:g} ms", verdict(ok)])
            if not ok:
                missed.append(f"{what}: pkg serve's p99 latency is {p_p99:.2f} ms (goal < {GOAL_P99_MS:g} ms)")
            n_err = sum(wn.errors for wn, _ in pairs)
            p_err = sum(wp.errors for _, wp in pairs)
            ok = p_err == 0
            rows.append([f"{what}: socket errors + non-2xx (all runs)", f"{n_err}", f"{p_err}", "", "pkg 0",
                         verdict(ok)])
            if not ok:
                missed.append(f"{what}: pkg serve had {p_err} socket errors or non-2xx answers")
        rows.append([f"{r.store}: peak RSS of pkg serve after its read runs (VmHWM)", "",
                     f"{r.hwm_kb / 1024:.1f} MiB", "", "(information, no goal)", ""])
    for p in res.publishing:
        rows.append([f"{p.store} publish: {p.n:,} packages, {p.clients} clients (wall time, rate)", "",
                     f"{p.seconds:.2f} s, {p.rate:.1f}/s", "", "(information)", ""])
        ok = p.ok()
        others = ", ".join(f"{c} x {s or 'no answer'}" for s, c in sorted(p.statuses.items()) if s != 201)
        rows.append([f"{p.store} publish: answers not 201 / listed total afterwards", "",
                     f"{p.errors} / {p.total:,}", "", f"0 / {p.n:,}", verdict(ok)])
        if not ok:
            missed.append(f"{p.store} publish: {p.errors} answers were not 201 ({others or 'none'}); `total` "
                          f"{p.total} (expected {p.n}), {p.missing} published names missing from the list")
    s = res.sync
    if s and s.loads and s.firsts and s.seconds:
        load = statistics.median(r.seconds for r in s.loads)
        first = statistics.median(r.seconds for r in s.firsts)
        second = statistics.median(r.seconds for r in s.seconds)
        ratio = first / load
        ok = ratio <= GOAL_FIRST_PUSH
        rows.append([f"sync ({s.units:,} units): first pkg sync push vs local pkg load (median)",
                     f"{load:.2f} s", f"{first:.2f} s", f"{ratio:.2f}", f"<= {GOAL_FIRST_PUSH:.1f}", verdict(ok)])
        if not ok:
            missed.append(f"sync: the first push took {ratio:.2f}x the local load (goal <= {GOAL_FIRST_PUSH:.1f})")
        ratio = second / first
        ok = ratio <= GOAL_SECOND_PUSH
        rows.append([f"sync ({s.units:,} units): unchanged push vs first push (median)", f"{first:.2f} s",
                     f"{second:.2f} s", f"{ratio:.2f}", f"<= {GOAL_SECOND_PUSH:g}", verdict(ok)])
        if not ok:
            missed.append(f"sync: the unchanged push took {ratio:.2f}x the first push (goal <= "
                          f"{GOAL_SECOND_PUSH:g})")


WRK_HEADER = ["store", "endpoint", "run", "server", "requests", "req/s", "p50 ms", "p75 ms", "p90 ms", "p99 ms",
              "max ms", "transfer/s", "socket errors", "non-2xx", "server CPU s"]


def wrk_rows(res: Results) -> list[list[str]]:
    rows = []
    for r in res.reads:
        for endpoint, pairs in r.runs.items():
            for i, pair in enumerate(pairs):
                for w in pair:
                    cpu = f"{w.server_cpu:.1f}" + (f" (+ etcd {w.etcd_cpu:.1f})" if w.etcd_cpu else "")
                    rows.append([r.store, endpoint, str(i + 1), "nginx" if w.target == "nginx" else "pkg serve",
                                 f"{w.requests:,}", f"{w.rps:,.0f}", f"{w.p50:.2f}", f"{w.p75:.2f}", f"{w.p90:.2f}",
                                 f"{w.p99:.2f}", f"{w.max:.2f}", w.transfer, w.socket_detail, str(w.non2xx), cpu])
    return rows


def detail_lines(res: Results) -> list[str]:
    out = []
    for r in res.reads:
        out.append(f"reads on {r.store}: the detail body is {r.detail_bytes:,} bytes ({r.detail_bytes_after:,} after "
                   f"the runs), the archive {r.archive_bytes:,} bytes; pkg serve's peak RSS (VmHWM) "
                   f"{r.hwm_kb / 1024:.1f} MiB, RSS after the runs {r.rss_kb / 1024:.1f} MiB; "
                   f"pkg_dropped_events_total {r.dropped_events}")
    for p in res.publishing:
        lat = sorted(p.latencies)
        answers = ", ".join(f"{s or 'no answer'}: {c:,}" for s, c in sorted(p.statuses.items()))
        out.append(f"publishing on {p.store}: {p.n:,} packages in {p.seconds:.2f} s ({p.rate:.1f}/s) from "
                   f"{p.clients} clients; answers {answers}; latency median {statistics.median(lat):.0f} ms, "
                   f"p99 {percentile(lat, 99):.0f} ms, max {lat[-1]:.0f} ms; listed afterwards: total "
                   f"{p.total:,}, {p.listed:,} names, {p.missing} missing; pkg serve CPU {p.server_cpu:.1f} s"
                   + (f", etcd CPU {p.etcd_cpu:.1f} s" if p.store == "etcd" else "")
                   + f", peak RSS {p.hwm_kb / 1024:.1f} MiB")
        out += [f"  not 201: {x}" for x in p.samples]
    s = res.sync
    if s and s.load and s.first and s.second:
        out.append("sync, every run (seconds): local load " + ", ".join(r.cell() for r in s.loads)
                   + "; first push " + ", ".join(r.cell() for r in s.firsts)
                   + "; unchanged push " + ", ".join(r.cell() for r in s.seconds))
        out.append(f"sync, last run: local load {s.load.cell()} s (peak RSS {s.load.rss_mb:.0f} MB); first push "
                   f"{s.first.cell()} s on the client (peak RSS {s.first.rss_mb:.0f} MB) + {s.first_server_cpu:.1f} s "
                   f"CPU in pkg serve; requests: {fmt_requests(s.first_requests)}, so "
                   f"{client_side(s.first, s.first_requests):.2f} s outside the server's requests (the client's "
                   f"export, pack and upload); the server's hub then lists {s.server_units:,} units")
        out.append(f"sync: unchanged push {s.second.cell()} s on the client + {s.second_server_cpu:.1f} s CPU in "
                   f"pkg serve; requests: {fmt_requests(s.second_requests)}, so "
                   f"{client_side(s.second, s.second_requests):.2f} s outside them; it said: "
                   f"\"{s.second_line.strip()}\"; server peak RSS {s.hwm_kb / 1024:.1f} MiB")
    return out


def print_report(res: Results) -> None:
    a = res.args
    benchlib.print_head(f"pkg serve benchmark: wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{a.duration}s x {a.runs} "
                        f"run(s), {a.publishes:,} publishes, sync of {a.units:,} units; stores: "
                        f"{', '.join(a.stores)}", res.machine, res.loadavg, res.setup)
    print()
    print("wrk runs (latencies in ms; server CPU = CPU seconds the server under test used during the run):")
    print(benchlib.text_table(wrk_rows(res), WRK_HEADER))
    print()
    print("Details:")
    for line in detail_lines(res):
        print(f"  {line}")
    print()
    benchlib.print_verdicts(res.rows, res.missed, HEADER)


def doc_section(res: Results) -> str:
    a = res.args
    lines: list[str] = []
    add = lines.append
    lines += benchlib.doc_head("pkg serve", SECTION, [
        ("--write-doc", "full run: wrk 10 s x 2 runs, 1,000 publishes, 3 syncs of 20,000 units (about 6 minutes)"),
        ("--quick", "smoke run: --duration 2 --runs 1 --publishes 100 --units 2000"),
    ])
    add("Options: `--duration S` (seconds per wrk run), `--runs K` (wrk runs per side and endpoint), `--publishes N`, "
        "`--clients N`, `--units N` (the sync space), `--sync-runs N` (repetitions of the sync measure, "
        "default 3), `--stores sqlite,etcd`, `--work DIR` (default: a fresh "
        "directory under /tmp, removed at the end unless `--keep`), `--pkg PATH` (default `target/release/pkg`, "
        "built if missing; with `--pkg-commit TEXT`), `--seed S`, `--note TEXT`. Needs wrk, nginx and etcd "
        "(Debian: `wrk`, `nginx-light`, `etcd-server`; installed with apt-get when missing and running as root). "
        "Python 3.11 standard library only.")
    add("")
    add("### Goals")
    add("")
    add("Measured side by side in one run, on a SQLite store and on a single-node etcd store:")
    add("")
    add(f"* **Reads.** `GET /api/v1/packages/{{name}}` (the detail JSON) and `GET .../{{version}}/download` (a "
        f"1 MB archive) under `wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} --latency`: pkg serve answers at least "
        f"{GOAL_RPS_RATIO:g}x the requests per second of nginx serving the same bytes as static files, with a "
        f"p99 latency under {GOAL_P99_MS:g} ms and no socket errors or non-2xx answers.")
    add("* **Memory.** The peak RSS of the pkg serve process over the read benchmark is reported; it has no goal.")
    add(f"* **Concurrent publishing.** {a.publishes:,} distinct packages published by {a.clients} concurrent "
        "clients: every answer is 201, and the package list's `total` is the number published afterwards "
        "(wall time and publishes/s reported).")
    add(f"* **Sync.** A first `pkg sync push` of a {a.units:,}-unit space into an empty server hub (SQLite) takes at "
        f"most {GOAL_FIRST_PUSH:.1f}x a local `pkg load` of the same package into an empty hub; a second, unchanged "
        f"push (\"No changes\") takes at most {GOAL_SECOND_PUSH:g}x the first push.")
    add("")
    add(f"### Latest results (wrk {a.duration} s x {a.runs} run(s), {a.publishes:,} publishes, {a.units:,} units)")
    add("")
    if a.quick or a.duration < 10 or a.publishes < 1000 or a.units < 20000:
        add("**Note: this is a reduced run, not the full benchmark the goals are about.**")
        add("")
    lines += benchlib.doc_verdicts(res.rows, res.missed, HEADER)
    add(f"Every wrk run (`wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{a.duration}s --latency`; latencies in ms; "
        "server CPU is the CPU time the server under test used during the run: nginx's master and workers, or "
        "the pkg serve process, plus etcd's on the etcd store):")
    add("")
    add(benchlib.md_table(WRK_HEADER, wrk_rows(res)))
    add("")
    lines += benchlib.doc_list("Details:", [x.strip() for x in detail_lines(res)])
    lines += benchlib.doc_list("Setup (timed once, not compared with anything):",
                               [f"{k}: {v}" for k, v in res.setup.items()])
    add("### Machine")
    add("")
    lines += benchlib.doc_machine(res.machine, res.loadavg, "the benchmark", a.note)
    add("### Method")
    add("")
    add(f"* **Servers.** Everything runs on the loopback interface of one machine, wrk included (so wrk's "
        f"{WRK_THREADS} threads share the cores with the server under test). pkg serve runs in its default "
        "configuration (`pkg serve --addr 127.0.0.1:0 --store STORE --blobs DIR`; text log, one line per request, "
        "to a file). nginx runs with `worker_processes 2`, `access_log off` and otherwise its defaults. etcd "
        "is a fresh single-node member (`--data-dir` in the work directory) for each measure; each measure also "
        "gets a fresh SQLite file or etcd and blob directory.")
    add(f"* **Reads.** A package of `examples/drift-detector` with {RANDOM_BYTES:,} seeded random bytes "
        f"(base64, 76-column lines in a ConfigMap data value) added to `{BIG_UNIT}` and its digest updated "
        "(`pkg validate` checks it) is packed with `pkg pack` and published. It is downloaded 25 times, so that "
        "the detail's list of the 20 newest actions is full and its size stable; then the detail body is saved "
        "and nginx serves it and the archive as static files (the script checks both are the bytes pkg serves). "
        f"After a {WARMUP_SECONDS} s warm-up of each URL, each run runs wrk against nginx and against pkg serve, "
        "one after the other (never at once), alternating which goes first. The table shows the median "
        "requests/s, the worst p99 and the sum of errors over runs. Downloads are recorded as action events "
        "(batched writes to the store), so the download benchmark also writes to the store.")
    add("* **Memory.** `VmHWM` of `/proc/PID/status` of the pkg serve process right after its read runs "
        "(warm-ups included): the peak resident set since it started, including the publish of the read package.")
    add(f"* **Publishing.** `pkg pack` builds {a.publishes:,} archives beforehand: copies of "
        "`examples/drift-detector` with a distinct `name` each. Then "
        f"{a.clients} Python threads, each with its own keep-alive `http.client` connection, start together and "
        "take archives from one queue until it is empty (`POST /api/v1/packages` with a level-2 token). The wall "
        "time runs from the start until the last answer. Afterwards `GET /api/v1/packages?limit=1000&offset=...` "
        "must report `total` = the number published and list every name.")
    add(f"* **Sync.** `scripts/gen_package.py` writes {a.units:,} units (1-4 KB of YAML each) in one space. After "
        "an untimed `pkg validate` (which reads the package into the page cache), `pkg --hub local.db load DIR -q` "
        "into an empty hub is the baseline. The package is loaded into a second hub (untimed); a server starts on "
        "an empty SQLite store, `pkg remote add bench URL --token-env PKG_BENCH_TOKEN` (with `PKG_CONFIG` in the "
        "work directory) names it, and `pkg sync push bench` (`PKG_HUB` = the second hub) is timed, then "
        "checked: the server's hub must list every unit. The second push must say \"No changes\". The measure "
        f"runs {a.sync_runs} time(s), each with a fresh local hub and a fresh server store, odd runs timing the "
        "local load first and even runs the pushes first; the table compares the medians. The server's "
        "log gives each request's route and time; its CPU time comes from `/proc/PID/stat`. What a push does, "
        "for reading the figures: the client exports the selection into memory, asks the server whether every "
        "resource is there already (packing the transfer archive meanwhile: tar.gz at level 1, compressed on "
        "every core), then uploads it for the plan; the server reads the archive in memory (inflating on a "
        "second thread while it reads the entries), plans, and keeps the package for the apply; the local load "
        "reads the package directory directly.")
    add("* **Time and memory of commands.** Wall-clock time (monotonic clock) around the whole command, after "
        "`sync()` (not timed), under "
        + ("`/usr/bin/time -f '%M %U %S'`" if GNU_TIME else "a small Python helper")
        + " for the CPU times and the command's own peak RSS. The page cache is not dropped.")
    add(benchlib.NOISE)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, help="seconds of each wrk run (default 10)")
    ap.add_argument("--runs", type=int, help="wrk runs per side and endpoint (default 2)")
    ap.add_argument("--publishes", type=int, help="packages published concurrently (default 1000)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent publishing clients (default 8)")
    ap.add_argument("--units", type=int, help="units in the synced space (default 20000)")
    ap.add_argument("--sync-runs", type=int, help="repetitions of the sync measure, the medians count (default 3)")
    ap.add_argument("--stores", default="sqlite,etcd", help="stores to measure reads and publishing on "
                    "(default sqlite,etcd)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: --duration 2 --runs 1 --publishes 100 --units 2000")
    benchlib.add_common_args(ap, write_doc_help=f"replace the {SECTION} section of docs/performance.md")
    args = ap.parse_args(argv)
    defaults = ({"duration": 2, "runs": 1, "publishes": 100, "units": 2000, "sync_runs": 1} if args.quick
                else {"duration": 10, "runs": 2, "publishes": 1000, "units": 20000, "sync_runs": 3})
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.clients < 1:
        ap.error("--clients must be at least 1")
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not args.stores or any(s not in ("sqlite", "etcd") for s in args.stores):
        ap.error("--stores takes sqlite, etcd or both, comma-separated")
    try:
        return benchlib.bench_main(ap, args, "bench_serve", lambda work, pkg: benchmark(args, work, pkg),
                                   print_report, doc_section, DOC, SECTION)
    except KeyboardInterrupt:
        print("\nbench_serve: interrupted (every process it started was stopped)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
