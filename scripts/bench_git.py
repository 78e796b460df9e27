#!/usr/bin/env python3
"""Benchmark `pkg load` of a package in a git repository against `git clone --depth 1`.

    python3 scripts/bench_git.py [--commits N] [--other-mb MB] [--other-files N]
                                 [--units N] [--runs K] [--work DIR] [--pkg PATH]
                                 [--pkg-commit TEXT] [--seed S] [--note TEXT]
                                 [--write-doc] [--keep] [--quick]

Builds, with the real git CLI, a bare repository `acme/packages.git` holding
N commits of history (default 500) that change its files, about 50 MB of
other files (incompressible pseudo-random bytes, seeded) in the final tree,
the package `packages/drift` (a synthetic cub-layout package from
`scripts/gen_package.py`, or the `fixtures/cub-full` fixture with
`--units 0`) and an annotated tag `v1.0.0` on the last commit. It serves the
repository with `git daemon` on the loopback interface and measures, side by
side, in one run:

  * `pkg load git://127.0.0.1:PORT/acme/packages.git//packages/drift@v1.0.0`
    with an empty cache and an empty hub  vs  `git clone --depth 1
    --single-branch -b v1.0.0` of the same repository (goal: ratio <= 1.0);
  * the same load again with the warm cache and an empty hub (it only lists
    the remote's refs), against the cold load (goal: ratio <= 0.1);
  * for information, the same load with `--offline` (warm cache, empty hub).

Each measure runs K times (default 5), alternating which side goes first; the
table shows the medians and their ratio. The script checks that each cold
load recorded the tagged commit in the history and loaded units, and fails
(exit 2) otherwise; missed goals are reported as FAIL / MISSED but the exit
status stays 0 (it is a report).

`--write-doc` replaces the section between `<!-- bench_git:start -->` and
`<!-- bench_git:end -->` in docs/performance.md (appending it when absent);
the rest of that file belongs to scripts/bench.py.
`--quick` is short for `--commits 50 --other-mb 5 --other-files 50 --runs 1`.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing the sibling

import benchlib  # noqa: E402  (a sibling: what bench.py and bench_git.py share)
import gen_package  # noqa: E402  (a sibling script)
from benchlib import (  # noqa: E402
    GNU_TIME, Pair, Run, add_pair_rows, cmd_output, find_pkg, hub_size, log, run_cells, run_pair, tree_size,
)

DOC = os.path.join(ROOT, "docs", "performance.md")
FIXTURE = os.path.join(ROOT, "fixtures", "cub-full")

REPO = "acme/packages.git"
PACKAGE_PATH = "packages/drift"
TAG = "v1.0.0"
# Directories the "other" files are spread over.
OTHER_DIRS = ("assets/images", "assets/fonts", "vendor/libfoo", "vendor/libbar", "data/samples", "docs/media")
# Fixed identity and clock of every commit and tag (seconds since the epoch).
AUTHOR = "A U Thor <author@example.com>"
COMMITTER = "C O Mitter <committer@example.com>"
EPOCH0 = 1_700_000_000

# Goals from the issue.
GOAL_COLD_RATIO = 1.0
GOAL_CACHED_RATIO = 0.1


# --------------------------------------------------------------------------
# Running commands


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of every command: ours without any GIT_*, PKG_* or
    XDG_* variable (they could point git or pkg elsewhere), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PKG_", "XDG_"))}
    env.update(extra)
    return env


def run(cmd: list[str], env: dict[str, str], check: bool = True, sync: bool = True,
        cwd: str | None = None) -> Run:
    """benchlib.run of `cmd` in exactly `env`; a failed command (with
    `check`) raises BenchError."""
    return benchlib.run(cmd, env, check, sync, cwd, rss_prefix="pkg-bench-git-rss-", on_fail=failed)


BenchError, fail, failed = benchlib.BenchError, benchlib.fail, benchlib.failed


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# --------------------------------------------------------------------------
# The machine


def machine_info(pkg: str, commit_label: str | None) -> dict[str, str]:
    label = commit_label or benchlib.pkg_commit_label()
    return benchlib.machine_info(
        pkg, f"{label} (the binary was built {benchlib.built_at(pkg)})",
        after_python={"git": cmd_output(["git", "--version"]) or "unknown"},
    )


# --------------------------------------------------------------------------
# The repository


@dataclass
class Shape:
    """What the benchmark repository holds."""

    commits: int = 0
    package_touches: int = 0
    other_files: int = 0
    other_bytes: int = 0
    package_files: int = 0
    package_bytes: int = 0
    package_units: int = 0
    tip_files: int = 0
    tip_bytes: int = 0
    repo_bytes: int = 0
    build_seconds: float = 0.0
    repack_seconds: float = 0.0


def read_tree(path: str) -> dict[str, bytes]:
    """Every file under `path`, by relative path (with /)."""
    files: dict[str, bytes] = {}
    for dirpath, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                files[os.path.relpath(full, path).replace(os.sep, "/")] = f.read()
    return files


def package_version(work: str, args: argparse.Namespace, seed: int) -> dict[str, bytes]:
    """The files of one version of the package (the generated one, or the fixture)."""
    if args.units == 0:
        files = read_tree(FIXTURE)
        if seed != args.seed:
            # An earlier version: the same fixture with another README.
            files["README.md"] = files.get("README.md", b"") + f"\nDraft {seed}.\n".encode()
        return files
    out = os.path.join(work, f"gen-{seed}")
    gen_package.generate(out, args.units, max(1, args.units // 50), seed)
    files = read_tree(out)
    files["README.md"] = f"# drift\n\nA synthetic package ({args.units} units, seed {seed}).\n".encode()
    shutil.rmtree(out)
    return files


class Stream:
    """Writes a `git fast-import` stream to the process's stdin."""

    def __init__(self, proc: subprocess.Popen):
        self.out = proc.stdin

    def data(self, payload: bytes) -> None:
        self.out.write(b"data %d\n" % len(payload))
        self.out.write(payload)
        self.out.write(b"\n")

    def line(self, text: str) -> None:
        self.out.write(text.encode() + b"\n")


def build_repo(work: str, srv: str, args: argparse.Namespace, genv: dict[str, str]) -> tuple[Shape, str]:
    """Creates the bare repository `srv/acme/packages.git` with `git fast-import`
    and repacks it like `git gc` would. Returns its shape and the tag's commit."""
    shape = Shape(commits=args.commits)
    rng = random.Random(args.seed)
    bare = os.path.join(srv, REPO)
    os.makedirs(os.path.dirname(bare), exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", bare], env=genv, check=True)

    # The other files: sizes around the mean, scaled to the exact total.
    n_other = args.other_files
    total = int(args.other_mb * 1_000_000)
    weights = [rng.uniform(0.5, 1.5) for _ in range(n_other)]
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[-1] += total - sum(sizes)
    names = [f"{OTHER_DIRS[i % len(OTHER_DIRS)]}/blob-{i:04d}.bin" for i in range(n_other)]
    content: dict[str, bytearray] = {}

    # Package versions: a draft at the first commit, rewrites at 1/3 and 2/3
    # of the history, and the final one shortly before the tag.
    n = args.commits
    final_at = max(1, n - 3)
    package_at = {1: args.seed + 101, max(1, n // 3): args.seed + 102, max(1, 2 * n // 3): args.seed + 103}
    package_at[final_at] = args.seed
    # Half of the other files exist from the first commit, the rest are added
    # over the history (all of them by the last commit).
    first = n_other if n == 1 else n_other // 2
    later = list(range(first, n_other))
    add_at: dict[int, list[int]] = {}
    for k, idx in enumerate(later):
        add_at.setdefault(2 + k * (n - 1) // len(later), []).append(idx)

    proc = subprocess.Popen(["git", "-C", bare, "fast-import", "--quiet"], stdin=subprocess.PIPE, env=genv)
    s = Stream(proc)
    try:
        ts = EPOCH0
        for c in range(1, n + 1):
            ts += 3600 + rng.randrange(3600)
            changed: list[str] = []
            blobs: list[tuple[str, bytes]] = []
            deletes: list[str] = []
            if c == 1:
                for idx in range(first):
                    content[names[idx]] = bytearray(rng.randbytes(sizes[idx]))
                    blobs.append((names[idx], bytes(content[names[idx]])))
                for path, data in read_tree(FIXTURE).items():
                    blobs.append((f"packages/cub-full/{path}", data))
                changed.append("initial import")
            for idx in add_at.get(c, []):
                content[names[idx]] = bytearray(rng.randbytes(sizes[idx]))
                blobs.append((names[idx], bytes(content[names[idx]])))
                changed.append(f"add {names[idx]}")
            if c > 1:
                # A few edits: a 4-16 KB stretch of an existing file rewritten.
                for path in rng.sample(sorted(content), min(3, len(content))):
                    buf = content[path]
                    size = min(len(buf), rng.randrange(4096, 16384))
                    at = rng.randrange(0, len(buf) - size + 1)
                    buf[at:at + size] = rng.randbytes(size)
                    blobs.append((path, bytes(buf)))
                    changed.append(f"edit {path}")
            if c in package_at:
                deletes.append(PACKAGE_PATH)
                files = package_version(work, args, package_at[c])
                for path, data in files.items():
                    blobs.append((f"{PACKAGE_PATH}/{path}", data))
                changed.append(f"{'write' if c == final_at else 'rewrite'} {PACKAGE_PATH}")
                shape.package_touches += 1
                if c == final_at:
                    shape.package_files = len(files)
                    shape.package_bytes = sum(len(d) for d in files.values())
                    manifest = json.loads(files["manifest.json"])
                    shape.package_units = len(manifest.get("units", []))
            elif c % 25 == 0 and c < final_at:
                # Small touches of the package between the rewrites.
                path = f"{PACKAGE_PATH}/NOTES.md"
                blobs.append((path, f"Notes as of change {c}.\n".encode()))
                changed.append(f"edit {path}")
                shape.package_touches += 1
            s.line("commit refs/heads/main")
            s.line(f"mark :{c}")
            s.line(f"author {AUTHOR} {ts} +0000")
            s.line(f"committer {COMMITTER} {ts} +0000")
            s.data(f"Change {c}\n\n".encode() + "".join(f"* {x}\n" for x in changed).encode())
            if c > 1:
                s.line(f"from :{c - 1}")
            for path in deletes:
                s.line(f"D {path}")
            for path, data in blobs:
                s.line(f"M 100644 inline {path}")
                s.data(data)
            s.line("")
            # Some earlier releases, like a real repository would have.
            if c % 100 == 0 and c < n:
                s.line(f"tag v0.{c // 100}.0")
                s.line(f"from :{c}")
                s.line(f"tagger {COMMITTER} {ts} +0000")
                s.data(f"Release v0.{c // 100}.0\n".encode())
        s.line(f"tag {TAG}")
        s.line(f"from :{n}")
        s.line(f"tagger {COMMITTER} {ts + 60} +0000")
        s.data(f"Release {TAG}\n".encode())
        proc.stdin.close()
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if rc != 0:
        fail(f"git fast-import exited {rc}")
    shape.build_seconds = time.perf_counter() - t0
    shape.other_files = len(content)
    shape.other_bytes = sum(len(b) for b in content.values())
    if shape.other_files != n_other or shape.other_bytes != total:
        fail(f"the tree holds {shape.other_files} other files of {shape.other_bytes} bytes, "
             f"expected {n_other} of {total}")

    # Pack it like a maintained repository: deltas between versions, one pack.
    t0 = time.perf_counter()
    subprocess.run(["git", "-C", bare, "repack", "-a", "-d", "-f", "-q"], env=genv, check=True)
    subprocess.run(["git", "-C", bare, "pack-refs", "--all"], env=genv, check=True)
    shape.repack_seconds = time.perf_counter() - t0
    shape.repo_bytes = tree_size(bare)[1]
    count = cmd_output(["git", "-C", bare, "rev-list", "--count", TAG], env=genv)
    if count != str(n):
        fail(f"{TAG} has {count} commits of history, expected {n}")
    tip = cmd_output(["git", "-C", bare, "rev-parse", f"{TAG}^{{commit}}"], env=genv)
    if not tip:
        fail(f"git rev-parse {TAG}^{{commit}} failed")
    tag_type = cmd_output(["git", "-C", bare, "cat-file", "-t", TAG], env=genv)
    if tag_type != "tag":
        fail(f"{TAG} is a {tag_type}, not an annotated tag")
    listing = cmd_output(["git", "-C", bare, "ls-tree", "-r", "-l", TAG], env=genv).splitlines()
    shape.tip_files = len(listing)
    shape.tip_bytes = sum(int(line.split()[3]) for line in listing)
    return shape, tip


# --------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_daemon(srv: str, genv: dict[str, str], log_path: str) -> tuple[subprocess.Popen, int]:
    """Starts `git daemon` on a free loopback port and waits until it accepts."""
    for _ in range(5):
        port = free_port()
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(
                ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={srv}",
                 "--listen=127.0.0.1", f"--port={port}", "--informative-errors", srv],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, env=genv,
                start_new_session=True,  # its own process group: its upload-packs go with it
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return proc, port
            except OSError:
                time.sleep(0.05)
        stop_daemon(proc)  # the port was taken in the meantime, or it failed: try another
    with open(log_path, encoding="utf-8", errors="replace") as f:
        fail(f"git daemon did not start:\n{f.read()[-2000:]}")
    raise AssertionError("unreachable")


def stop_daemon(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


# --------------------------------------------------------------------------
# The benchmark


@dataclass
class Results:
    args: argparse.Namespace
    machine: dict[str, str]
    shape: Shape
    url: str
    source: str
    cold: Pair
    cached: Pair
    offline: Pair
    sizes: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    rows: list[list[str]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    loadavg: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())


def check_cold_load(pkg: str, env: dict[str, str], tip: str) -> int:
    """Fails unless the hub's history has exactly one entry, for commit `tip`,
    and the hub has units. Returns the unit count."""
    r = run([pkg, "history", "-o", "json"], env, sync=False)
    try:
        history = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        fail(f"pkg history -o json printed no JSON ({e}): {r.stdout[:500]}")
    if isinstance(history, dict):  # tolerate an envelope such as {"entries": [...]}
        history = next((v for v in history.values() if isinstance(v, list)), [history])
    if len(history) != 1:
        fail(f"pkg history has {len(history)} entries after one load, expected 1: {r.stdout[:1000]}")
    commit = history[0].get("commit") if isinstance(history[0], dict) else None
    if commit != tip:
        fail(f"pkg history records commit {commit!r}, expected {tip} ({TAG}^{{commit}}): {r.stdout[:1000]}")
    r = run([pkg, "unit", "list", "-o", "json"], env, sync=False)
    try:
        units = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        fail(f"pkg unit list -o json printed no JSON ({e}): {r.stdout[:500]}")
    if not units:
        fail("pkg unit list is empty after the load")
    return len(units)


def tmpfs_dir() -> str | None:
    """A new directory under /dev/shm when that is a tmpfs, else None."""
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            if not any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in f):
                return None
        return tempfile.mkdtemp(prefix="pkg-bench-git-", dir="/dev/shm")
    except (OSError, IndexError):
        return None


def phase_lines(stderr: str) -> list[str]:
    """The non-empty lines of `pkg -v`'s stderr (its phase timings), progress
    redraws (carriage returns) reduced to their last state."""
    lines = []
    for line in stderr.splitlines():
        line = line.split("\r")[-1].strip()
        if line:
            lines.append(line)
    return lines


def benchmark(args: argparse.Namespace, work: str, pkg: str) -> Results:
    machine = machine_info(pkg, args.pkg_commit)
    home = os.path.join(work, "home")
    tmp = os.path.join(work, "tmp")
    srv = os.path.join(work, "srv")
    for d in (home, tmp, srv):
        os.makedirs(d)
    # git, for building, serving and the baseline: no system or user config.
    genv = clean_env({
        "GIT_CONFIG_NOSYSTEM": "1", "HOME": home, "TMPDIR": tmp, "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "A U Thor", "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "C O Mitter", "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_AUTHOR_DATE": f"@{EPOCH0} +0000", "GIT_COMMITTER_DATE": f"@{EPOCH0} +0000",
    })

    log(f"work dir: {work}")
    log(f"pkg: {pkg}")
    log(f"building {REPO}: {args.commits} commits, {args.other_mb:g} MB in {args.other_files} other files, "
        f"{PACKAGE_PATH} ({'fixtures/cub-full' if args.units == 0 else f'{args.units} units'}) ...")
    shape, tip = build_repo(work, srv, args, genv)
    log(f"  fast-import {shape.build_seconds:.1f} s, repack {shape.repack_seconds:.1f} s; bare repository "
        f"{mb(shape.repo_bytes)}; {TAG} = {tip}; tree at {TAG}: {shape.tip_files} files, {mb(shape.tip_bytes)}")

    daemon = None
    daemon_log = os.path.join(work, "daemon.log")
    try:
        daemon, port = start_daemon(srv, genv, daemon_log)
        url = f"git://127.0.0.1:{port}/{REPO}"
        source = f"{url}//{PACKAGE_PATH}@{TAG}"
        log(f"git daemon (pid {daemon.pid}) serving {srv} on 127.0.0.1:{port}")
        res = measure(args, work, pkg, genv, url, source, tip, shape, machine, home, tmp)
        if daemon.poll() is not None:
            fail(f"git daemon exited during the benchmark (exit {daemon.returncode})")
    finally:
        stop_daemon(daemon)
    return res


def measure(args: argparse.Namespace, work: str, pkg: str, genv: dict[str, str], url: str, source: str,
            tip: str, shape: Shape, machine: dict[str, str], home: str, tmp: str) -> Results:
    load_before = os.getloadavg()
    load_cmd = [pkg, "load", source, "-q"]
    clone_cmd = ["git", "clone", "-q", "--depth", "1", "--single-branch", "-b", TAG, url]

    def penv(hub: str, cache: str) -> dict[str, str]:
        return clean_env({"PKG_HUB": hub, "PKG_CACHE_DIR": cache, "HOME": home, "TMPDIR": tmp,
                          "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})

    # -- Warm-up (untimed): both sides read the bare repository once, so that
    # it is in the page cache for every measured run; checks the load too.
    log("warm-up: git clone, pkg load (cold, then cached, then offline) ...")
    run([*clone_cmd, os.path.join(work, "clone-warmup")], genv)
    wcache = os.path.join(work, "cache-warmup")
    run(load_cmd, penv(os.path.join(work, "hub-warmup.db"), wcache))
    units = check_cold_load(pkg, penv(os.path.join(work, "hub-warmup.db"), wcache), tip)
    run(load_cmd, penv(os.path.join(work, "hub-warmup2.db"), wcache))
    run([pkg, "--offline", *load_cmd[1:]], penv(os.path.join(work, "hub-warmup3.db"), wcache))
    log(f"  ok: {units} units loaded, history records {tip[:12]}")

    cold = Pair("first load (empty cache, empty hub)", f"git clone --depth 1 -b {TAG}", "pkg load", GOAL_COLD_RATIO)
    cached = Pair("second load (warm cache, empty hub)", "first pkg load", "pkg load again", GOAL_CACHED_RATIO)
    offline = Pair("offline load (warm cache, empty hub)", "first pkg load", "pkg --offline load", None)
    clone_dir = cache = ""
    for i in range(args.runs):
        clone_dir = os.path.join(work, f"clone-{i}")
        cache = os.path.join(work, f"cache-{i}")
        hub = os.path.join(work, f"hub-{i}.db")
        b, p = run_pair(i, lambda: run([*clone_cmd, clone_dir], genv), lambda: run(load_cmd, penv(hub, cache)))
        check_cold_load(pkg, penv(hub, cache), tip)
        cache_before = tree_size(cache)
        again = run(load_cmd, penv(os.path.join(work, f"hub-{i}-cached.db"), cache))
        if tree_size(cache) != cache_before:
            log("  WARNING: the cached load changed the cache's files (did it fetch again?)")
        off = run([pkg, "--offline", *load_cmd[1:]], penv(os.path.join(work, f"hub-{i}-offline.db"), cache))
        cold.baseline.append(b)
        cold.pkg.append(p)
        cached.pkg.append(again)
        offline.pkg.append(off)
        log(f"run {i + 1}/{args.runs}: git clone {b.cell()} s | pkg load {p.cell()} s (RSS {p.rss_mb:.0f} MB) "
            f"| cached {again.cell()} s | offline {off.cell()} s")
    cached.baseline = list(cold.pkg)
    offline.baseline = list(cold.pkg)

    res = Results(args, machine, shape, url, source, cold, cached, offline)
    git_dir = os.path.join(clone_dir, ".git")
    res.sizes["git clone: .git (mostly the fetched pack)"] = mb(tree_size(git_dir)[1])
    wt_files, wt_bytes = tree_size(clone_dir, skip=".git")
    res.sizes["git clone: checked-out files"] = f"{wt_files} files, {mb(wt_bytes)}"
    res.sizes["pkg cache (git/ under PKG_CACHE_DIR)"] = mb(tree_size(cache)[1])
    res.sizes["pkg hub after the load"] = mb(hub_size(os.path.join(work, f"hub-{args.runs - 1}.db")))

    # -- Phase hints (one run each, informational) ------------------------------
    log("phase hints: git clone --no-checkout, pkg -v load (cold, cached), cached load with TMPDIR on tmpfs, "
        "load from a directory ...")
    r = run([*clone_cmd[:2], "--no-checkout", *clone_cmd[2:], os.path.join(work, "clone-nocheckout")], genv)
    res.hints[f"git clone --no-checkout (fetch and index only): {r.cell()} s"] = ""
    hcache = os.path.join(work, "cache-hint")
    for label, hub in (("cold", "hub-hint-cold.db"), ("cached", "hub-hint-cached.db")):
        r = run([pkg, "-v", "load", source], penv(os.path.join(work, hub), hcache))
        res.hints[f"pkg -v load, {label}: {r.cell()} s"] = "\n".join(phase_lines(r.stderr))
    # Where a cached load's time goes: the same load with its temporary
    # package tree on tmpfs, and a load of the same package from a directory.
    shm = tmpfs_dir()
    if shm:
        try:
            env = penv("", hcache)
            env["TMPDIR"] = shm
            times = []
            for k in range(3):
                env["PKG_HUB"] = os.path.join(work, f"hub-hint-shm-{k}.db")
                times.append(run(load_cmd, env).seconds)
            res.hints[f"pkg load, cached, with TMPDIR on tmpfs (/dev/shm): median of 3 "
                      f"{statistics.median(times):.2f} s"] = ""
        finally:
            shutil.rmtree(shm, ignore_errors=True)
    times = []
    package_dir = os.path.join(clone_dir, *PACKAGE_PATH.split("/"))
    for k in range(3):
        times.append(run([pkg, "load", package_dir, "-q"],
                         penv(os.path.join(work, f"hub-hint-dir-{k}.db"), hcache)).seconds)
    res.hints[f"pkg load of the same package from a local directory (the clone's {PACKAGE_PATH}): median of 3 "
              f"{statistics.median(times):.2f} s"] = ""
    for k, v in res.hints.items():
        log(f"  {k}")
        for line in v.splitlines():
            log(f"    {line}")

    res.loadavg = (load_before, os.getloadavg())
    build_rows(res)
    return res


def build_rows(res: Results) -> None:
    add_pair_rows((res.cold, res.cached, res.offline), res.rows, res.missed)
    res.rows.append([
        "peak RSS of the cold pkg load (max over runs)",
        f"{max(r.rss_mb for r in res.cold.baseline):.0f} MB",
        f"{max(r.rss_mb for r in res.cold.pkg):.0f} MB",
        "", "(information)", "",
    ])


def runs_rows(res: Results) -> list[list[str]]:
    return [
        run_cells(res.cold.baseline_label, res.cold.baseline),
        run_cells("pkg load (cold)", res.cold.pkg),
        run_cells("pkg load (cached)", res.cached.pkg),
        run_cells("pkg --offline load", res.offline.pkg),
    ]


def shape_lines(res: Results) -> list[str]:
    s = res.shape
    a = res.args
    pkg_desc = ("the `fixtures/cub-full` fixture" if a.units == 0 else
                f"a `scripts/gen_package.py` package, {s.package_units} units in {max(1, a.units // 50)} spaces")
    return [
        f"{s.commits} commits of history on `main`; each changes files: edits a 4-16 KB stretch of 3 other files, "
        f"half of the other files are added along the way, and {s.package_touches} commits touch the package "
        "(whole rewrites at the first commit, 1/3 and 2/3 of the history and 3 commits before the tag; a notes "
        "file every 25 commits); annotated tags every 100 commits and `v1.0.0` on the last one",
        f"other files at `{TAG}`: {s.other_files} files of pseudo-random (incompressible) bytes, "
        f"{mb(s.other_bytes)}, in {len(OTHER_DIRS)} directories",
        f"the package `{PACKAGE_PATH}`: {pkg_desc}, {s.package_files} files, {mb(s.package_bytes)}"
        " (plus the small `packages/cub-full` fixture beside it)",
        f"whole tree at `{TAG}`: {s.tip_files} files, {mb(s.tip_bytes)}; the bare repository "
        f"(one pack after `git repack -a -d -f`): {mb(s.repo_bytes)}",
    ]


def print_report(res: Results) -> None:
    a = res.args
    print()
    print(f"pkg git benchmark: {a.commits} commits, {a.other_mb:g} MB of other files, {a.runs} run(s) per measure")
    print(f"  source: {res.source}")
    benchlib.print_machine(res.machine, res.loadavg)
    print()
    print("Repository:")
    for line in shape_lines(res):
        print(f"  {line}")
    print()
    print("Sizes (last run):")
    for k, v in res.sizes.items():
        print(f"  {k}: {v}")
    print()
    print("Seconds per run: wall (user+sys CPU). Odd runs ran git clone first, even runs pkg first.")
    for r in runs_rows(res):
        print(f"  {r[0]:<34} " + "  ".join(r[1:]))
    print()
    benchlib.print_verdicts(res.rows, res.missed)


def doc_section(res: Results) -> str:
    a = res.args
    full = a.commits >= 500 and a.other_mb >= 50
    lines: list[str] = []
    add = lines.append
    add("## Git sources (scripts/bench_git.py)")
    add("")
    add("This section is written by `scripts/bench_git.py --write-doc`, which replaces only the text between the "
        "`bench_git` markers; edit the script, not the figures.")
    add("")
    add("### How to run")
    add("")
    add("```sh")
    add("python3 scripts/bench_git.py --write-doc   # full run: 500 commits, 50 MB of other files, 5 runs (about a minute)")
    add("python3 scripts/bench_git.py --quick       # smoke run: --commits 50 --other-mb 5 --other-files 50 --runs 1")
    add("```")
    add("")
    add("Options: `--commits N`, `--other-mb MB`, `--other-files N`, `--units N` (of the package; 0 loads "
        "`fixtures/cub-full` instead), `--runs K`, `--work DIR` (default: a fresh directory under /tmp, removed at "
        "the end unless `--keep`), `--pkg PATH` (default `target/release/pkg`, built if missing; with "
        "`--pkg-commit TEXT`), `--seed S`, `--note TEXT`. Needs `git` (with `git daemon`) on PATH; Python 3.11 "
        "standard library only.")
    add("")
    add("### Goals")
    add("")
    add(f"* loading one package sub-directory of a repository with 500 commits of history and 50 MB of other "
        f"files, over the loopback git server, takes at most {GOAL_COLD_RATIO:g}x as long as "
        f"`git clone --depth 1 --single-branch -b {TAG}` of the same repository (fetch only what is needed);")
    add(f"* a second, cached load of the same tag takes at most {GOAL_CACHED_RATIO:g}x the first.")
    add("")
    add(f"### Latest results ({a.commits} commits, {a.other_mb:g} MB of other files, {a.runs} run(s) per measure)")
    add("")
    if not full:
        add("**Note: this is a reduced run, not the 500-commit, 50 MB benchmark the goals are about.**")
        add("")
    lines += benchlib.doc_verdicts(res.rows, res.missed)
    add("Seconds per run: wall clock (user + sys CPU of the command and the children it waited for). Runs 1, 3, ... "
        "ran `git clone` first and runs 2, 4, ... the cold `pkg load` first; the cached and offline loads follow "
        "each cold load, on its cache.")
    add("")
    add(benchlib.doc_runs_table(a.runs, runs_rows(res)))
    add("")
    add("Repository shape:")
    add("")
    for line in shape_lines(res):
        add(f"* {line}")
    add("")
    add("Sizes after the last run:")
    add("")
    for k, v in res.sizes.items():
        add(f"* {k}: {v}")
    add("")
    add("Phase hints (one run each, fresh hub; the `pkg -v` lines are its stderr):")
    add("")
    for k, v in res.hints.items():
        add(f"* {k}")
        if v:
            add("")
            add("  ```text")
            for line in v.splitlines():
                add(f"  {line}")
            add("  ```")
    add("")
    add("### Machine")
    add("")
    lines += benchlib.doc_machine(res.machine, res.loadavg, "the measured runs", a.note)
    add("### Method")
    add("")
    add("* **Repository.** Built with `git fast-import` (isolated: `GIT_CONFIG_NOSYSTEM=1`, a temporary `HOME`, "
        "fixed author, committer and dates, seeded content, so it is the same every time), then "
        "`git repack -a -d -f` and `git pack-refs --all`, into a bare repository served by "
        "`git daemon --reuseaddr --export-all --base-path=DIR --listen=127.0.0.1 --port=PORT` (git's own "
        "protocol over loopback, no TLS, no authentication).")
    add(f"* **Cold load vs clone.** Each run times `git clone -q --depth 1 --single-branch -b {TAG} "
        f"git://127.0.0.1:PORT/{REPO} <new dir>` and `pkg load git://127.0.0.1:PORT/{REPO}//{PACKAGE_PATH}@{TAG} "
        "-q` with `PKG_HUB` a new hub file and `PKG_CACHE_DIR` a new empty directory (and `HOME`, `TMPDIR` inside "
        "the work dir). After each cold load the script checks that `pkg history -o json` has one entry whose "
        f"`commit` is `git rev-parse {TAG}^{{commit}}` and that `pkg unit list -o json` is not empty.")
    add("* **Cached and offline loads.** Right after each cold load, the same load runs again on its warm cache "
        "with a new empty hub (it lists the remote's refs and finds the commit in the cache), then once more with "
        "`--offline`; their ratio is taken against the median cold load.")
    add("* **What a load does.** pkg lists the remote's refs, fetches the tagged commit with depth 1 into "
        "its cache unless the cache has it (the whole tree of that commit: the git protocol cannot send only a "
        "sub-directory), writes the package sub-directory out of the cache into a temporary directory under "
        "`TMPDIR`, loads it into the hub and removes the temporary directory. `git clone` fetches the same "
        "pack and checks out the whole tree. The phase hints split the cached load into writing the temporary "
        "tree (`checking out`; also shown with `TMPDIR` on tmpfs) and the load proper (a load of the same "
        "package from a directory).")
    add("* **Caches.** The page cache is not dropped; one untimed warm-up of every command first reads the bare "
        "repository into it, so both sides are served from memory. Every timed command starts after `sync()` "
        "(not timed).")
    add("* **Time.** Wall-clock time (monotonic clock) around the whole command, under "
        + ("`/usr/bin/time -f '%M %U %S'`" if GNU_TIME else "a small Python helper")
        + " for the CPU times and peak RSS. The server (`git daemon` and the `git upload-pack` it forks) runs on "
        "the same machine and its CPU time is inside both sides' wall time, not in their CPU columns.")
    add(benchlib.NOISE)
    return "\n".join(lines)


def write_doc(res: Results) -> None:
    benchlib.write_marked_section(DOC, doc_section(res), "bench_git")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commits", type=int, help="commits of history (default 500)")
    ap.add_argument("--other-mb", type=float, help="MB of other (non-package) files in the final tree (default 50)")
    ap.add_argument("--other-files", type=int, help="how many other files (default 200)")
    ap.add_argument("--units", type=int, default=200,
                    help="units of the generated package (default 200; 0: use fixtures/cub-full)")
    ap.add_argument("--runs", type=int, help="runs per measure (default 5)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: --commits 50 --other-mb 5 --other-files 50 --runs 1")
    benchlib.add_common_args(ap, write_doc_help="replace the bench_git section of docs/performance.md")
    args = ap.parse_args(argv)
    defaults = (50, 5.0, 50, 1) if args.quick else (500, 50.0, 200, 5)
    args.commits = defaults[0] if args.commits is None else args.commits
    args.other_mb = defaults[1] if args.other_mb is None else args.other_mb
    args.other_files = defaults[2] if args.other_files is None else args.other_files
    args.runs = defaults[3] if args.runs is None else args.runs
    if args.commits < 1 or args.other_files < 1 or args.runs < 1 or args.other_mb <= 0 or args.units < 0:
        ap.error("--commits, --other-files and --runs must be at least 1, --other-mb positive, --units >= 0")
    if args.other_mb * 1_000_000 < args.other_files * 20_000:
        ap.error("--other-mb is too small for --other-files (keep files >= 20 KB: edits rewrite up to 16 KB)")
    if not shutil.which("git"):
        ap.error("git is not on PATH")
    if not os.access(os.path.join(cmd_output(["git", "--exec-path"]), "git-daemon"), os.X_OK):
        ap.error("git daemon is not installed")

    pkg = find_pkg(args.pkg, "bench_git", warn_stale=True)
    work, created_work = benchlib.make_work(ap, args.work, "pkg-bench-git-")
    try:
        res = benchmark(args, work, pkg)
    except BenchError as e:
        print(f"\nbench_git: FAILED: {e}", file=sys.stderr)
        return 2
    finally:
        benchlib.remove_work(work, created_work, args.keep)
    print_report(res)
    if args.write_doc:
        write_doc(res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
