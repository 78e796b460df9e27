#!/usr/bin/env python3
"""Benchmark `pkg create` and `pkg load` against plain file copies.

    python3 scripts/bench.py [--units N] [--spaces N] [--runs K] [--work DIR]
                             [--pkg PATH] [--write-doc] [--keep] [--quick]

Generates a synthetic hub (default 100,000 units of 1-4 KB Kubernetes YAML in
100 spaces) and measures, side by side, in one run:

  * `pkg create` of the whole hub  vs  `tar -xf` of an archive of the same
    tree into an empty directory (the cost of just writing the files);
  * `pkg load` into an empty hub   vs  `cp -r` of the package directory;
  * re-loading the unchanged package with `--on-conflict update`, against
    the first load;
  * the peak RSS of create and load.

Each measured pair runs K times, alternating which side goes first, on fresh
output directories and fresh hub files; the table shows the medians and
median(pkg) / median(baseline). The script always exits 0 when the
benchmark itself ran (it is a report); missed goals are printed as MISSED.

`--write-doc` rewrites docs/performance.md with the figures and the machine.
`--quick` is short for `--units 2000 --spaces 10 --runs 1` (a smoke run).

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
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


import gen_package  # noqa: E402  (a sibling script)

DOC = os.path.join(ROOT, "docs", "performance.md")
SOURCE_DATE_EPOCH = "1700000000"

# Goals from the issue.
GOAL_CREATE_RATIO = 1.5
GOAL_LOAD_RATIO = 1.5
GOAL_RELOAD_RATIO = 0.3
GOAL_RSS_MB = 150.0


# --------------------------------------------------------------------------
# Running commands


@dataclass
class Run:
    """One finished command."""

    cmd: list[str]
    seconds: float
    maxrss_kb: int
    user: float
    sys: float
    rc: int
    stdout: str
    stderr: str

    def cell(self) -> str:
        """`wall (user+sys CPU)` in seconds."""
        return f"{self.seconds:.2f} ({self.user:.2f}+{self.sys:.2f})"

    @property
    def rss_mb(self) -> float:
        return self.maxrss_kb / 1024.0


# GNU time reports the peak RSS of the command it runs; its own pre-exec
# image (which the kernel counts into the child's ru_maxrss) is about 1 MB.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

# Fallback without GNU time: a fresh Python helper runs the command and
# reports wait4()'s ru_maxrss for it. That figure includes the helper's own
# resident size at fork (about 10 MB), so it is an upper bound.
RSS_HELPER = (
    "import os,subprocess,sys\n"
    "p=subprocess.Popen(sys.argv[2:])\n"
    "_,s,u=os.wait4(p.pid,0)\n"
    "open(sys.argv[1],'w').write('%d %.2f %.2f' % (u.ru_maxrss, u.ru_utime, u.ru_stime))\n"
    "sys.exit(os.waitstatus_to_exitcode(s) & 255)\n"
)


def run(cmd: list[str], env: dict[str, str] | None = None, check: bool = True, sync: bool = True) -> Run:
    """Runs `cmd`, timing it (wall clock, monotonic) and reading its peak RSS.

    The peak RSS is NOT read with wait4() on our own child: on exec the
    kernel folds the pre-exec image's high-water mark into the child's
    ru_maxrss, so a child forked from this (possibly large) Python process
    would report at least this process's size. Instead a tiny wrapper (GNU
    time, else a fresh Python helper) runs the command and reports the
    command's own ru_maxrss.

    With `sync`, dirty pages left by earlier steps are flushed first (not
    timed), so that their writeback does not land inside this measurement.
    """
    if sync:
        os.sync()
    full_env = dict(os.environ)
    full_env.pop("PKG_HUB", None)
    if env:
        full_env.update(env)
    fd, rss_file = tempfile.mkstemp(prefix="pkg-bench-rss-")
    os.close(fd)
    if GNU_TIME:
        wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", rss_file, *cmd]
    else:
        wrapped = [sys.executable, "-c", RSS_HELPER, rss_file, *cmd]
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            proc = subprocess.run(wrapped, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=full_env)
            seconds = time.perf_counter() - t0
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        with open(rss_file, encoding="utf-8") as f:
            # GNU time may write "Command exited with non-zero status N" first.
            last = (f.read().strip().splitlines() or [""])[-1].split()
        try:
            maxrss_kb, user, sys_s = int(last[0]), float(last[1]), float(last[2])
        except (IndexError, ValueError):
            maxrss_kb, user, sys_s = 0, 0.0, 0.0
    finally:
        os.remove(rss_file)
    r = Run(cmd, seconds, maxrss_kb, user, sys_s, proc.returncode, stdout, stderr)
    if check and r.rc != 0:
        sys.stdout.flush()
        print(f"\nFAILED (exit {r.rc}): {' '.join(cmd)}", file=sys.stderr)
        print(r.stdout[-4000:], file=sys.stderr)
        print(r.stderr[-4000:], file=sys.stderr)
        raise SystemExit(2)
    return r


def rm(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def rm_hub(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        rm(path + suffix)


def tree_size(path: str) -> tuple[int, int]:
    """(files, bytes) under `path`."""
    files = 0
    size = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return files, size


def disk_usage(path: str) -> int:
    """Bytes of disk blocks used under `path` (like du)."""
    total = 0
    for dirpath, dirs, names in os.walk(path):
        for name in dirs + names:
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def hub_size(path: str) -> int:
    return sum(os.path.getsize(path + s) for s in ("", "-wal", "-shm") if os.path.exists(path + s))


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------
# The machine


def cmd_output(cmd: list[str], cwd: str | None = None) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine_info(work: str, pkg: str, commit_label: str | None) -> dict[str, str]:
    info: dict[str, str] = {}
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["CPU"] = cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["Cores"] = f"{os.cpu_count()} (usable by this process: {usable})"
    mem = "unknown"
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    info["RAM"] = mem
    df = cmd_output(["df", "-PT", work]).splitlines()
    if len(df) >= 2:
        dev, fstype, blocks, _used, avail = df[1].split()[:5]
        disk = f"{dev}, {fstype}, {int(blocks) / 1024 / 1024:.0f} GiB ({int(avail) / 1024 / 1024:.0f} GiB free)"
        base = os.path.basename(dev)
        if fstype == "ext4" and os.path.isdir("/proc/fs/jbd2"):
            journaled = any(j.startswith(base + "-") for j in os.listdir("/proc/fs/jbd2"))
            disk += ", with a journal" if journaled else ", without a journal"
        rot_path = f"/sys/class/block/{base}/queue/rotational"
        if os.path.exists(rot_path):
            with open(rot_path, encoding="utf-8") as f:
                disk += f", queue/rotational={f.read().strip()}"
        info["Disk (work dir)"] = f"{disk}; work dir {work}"
    else:
        info["Disk (work dir)"] = work
    info["OS"] = f"{platform.system()} {platform.release()}"
    info["Python"] = platform.python_version()
    tools = [(cmd_output([t, "--version"]).splitlines() or [""])[0] for t in ("tar", "cp")]
    info["Tools"] = "; ".join(t for t in tools if t) or "unknown"
    if commit_label:
        info["pkg commit"] = commit_label
    else:
        commit = cmd_output(["git", "rev-parse", "HEAD"], cwd=ROOT) or "unknown"
        dirty = cmd_output(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"], cwd=ROOT)
        info["pkg commit"] = commit + (" + uncommitted changes in src/Cargo files" if dirty else "")
        built = dt.datetime.fromtimestamp(os.path.getmtime(pkg), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        info["pkg commit"] += f" (the binary was built {built}; check it matches)"
    info["pkg binary"] = f"{os.path.relpath(pkg, ROOT) if pkg.startswith(ROOT) else pkg} ({cmd_output([pkg, '--version']) or '?'})"
    info["Date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return info


# --------------------------------------------------------------------------
# The benchmark


@dataclass
class Pair:
    """Timings of one measure: baseline runs and pkg runs."""

    name: str
    baseline_label: str
    pkg_label: str
    goal: float
    baseline: list[Run] = field(default_factory=list)
    pkg: list[Run] = field(default_factory=list)

    def bmed(self) -> float:
        return statistics.median(r.seconds for r in self.baseline)

    def pmed(self) -> float:
        return statistics.median(r.seconds for r in self.pkg)

    def ratio(self) -> float:
        b = self.bmed()
        return self.pmed() / b if b > 0 else float("inf")


@dataclass
class Results:
    args: argparse.Namespace
    machine: dict[str, str]
    setup: dict[str, str]
    create: Pair
    load: Pair
    reload: Pair
    hints: dict[str, Run]
    rows: list[list[str]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    loadavg: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())


def find_pkg(explicit: str | None) -> str:
    if explicit:
        path = os.path.abspath(explicit)
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench: {path} is not an executable")
        return path
    path = os.path.join(ROOT, "target", "release", "pkg")
    if not os.access(path, os.X_OK):
        log("target/release/pkg is missing: cargo build --release ...")
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    return path


def benchmark(args: argparse.Namespace, work: str, pkg: str) -> Results:
    machine = machine_info(work, pkg, args.pkg_commit)
    load_before = os.getloadavg()
    setup: dict[str, str] = {}
    src = os.path.join(work, "source-pkg")
    source_hub = os.path.join(work, "source.db")
    ref = os.path.join(work, "ref")
    archive = os.path.join(work, "ref.tar")
    epoch = {"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}

    # -- Setup (not measured against anything) -----------------------------
    log(f"work dir: {work}")
    log(f"pkg: {pkg}")
    log(f"generating {args.units} units in {args.spaces} spaces (cub layout) ...")
    t0 = time.perf_counter()
    summary = gen_package.generate(src, args.units, args.spaces, args.seed)
    gen_s = time.perf_counter() - t0
    setup["generate source package"] = (
        f"{gen_s:.1f} s ({summary['files']} files, {summary['data_bytes'] / 1e6:.0f} MB of YAML)"
    )
    log(f"  {setup['generate source package']}")

    log("setup: loading the source package into the source hub ...")
    r = run([pkg, "--hub", source_hub, "load", src])
    setup["load source package into the source hub (cub layout, no digests)"] = (
        f"{r.seconds:.2f} s, peak RSS {r.rss_mb:.0f} MB, hub {hub_size(source_hub) / 1e6:.0f} MB"
    )
    log(f"  {r.seconds:.2f} s, peak RSS {r.rss_mb:.0f} MB: {r.stdout.strip()}")

    log("setup: first create (reference package, also warms the source hub) ...")
    r = run([pkg, "--hub", source_hub, "create", ref], env=epoch)
    files, size = tree_size(ref)
    setup["first create (reference tree, warm-up)"] = f"{r.seconds:.2f} s, peak RSS {r.rss_mb:.0f} MB"
    setup["package written by create"] = f"{files} files, {size / 1e6:.0f} MB"
    log(f"  {r.seconds:.2f} s, peak RSS {r.rss_mb:.0f} MB, {files} files, {size / 1e6:.0f} MB: {r.stdout.strip()}")
    with open(os.path.join(ref, "manifest.json"), encoding="utf-8") as f:
        exported = len(json.load(f).get("units", []))
    if exported != args.units:
        log(f"  WARNING: the created package holds {exported} units, expected {args.units}")

    log("setup: tar -cf of the reference tree ...")
    r = run(["tar", "-cf", archive, "-C", work, "ref"])
    setup["tar -cf of it (uncompressed)"] = f"{r.seconds:.2f} s, {os.path.getsize(archive) / 1e6:.0f} MB"
    log(f"  {setup['tar -cf of it (uncompressed)']}")

    # Outputs are kept until the end: deleting a 200,000-file tree makes
    # ext4 skip the "recently deleted" inodes (about a minute) when it
    # allocates new ones, which made the next run's file creation several
    # times slower. Check there is room for all of them.
    need = args.runs * (3 * disk_usage(ref) + os.path.getsize(source_hub))
    free = shutil.disk_usage(work).free
    log(f"the measured runs keep their outputs: about {need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free")
    if need > free * 0.9:
        raise SystemExit("bench: not enough free disk space in the work dir for the measured runs")

    # -- create vs tar -xf ---------------------------------------------------
    create = Pair("create all units", "tar -xf", "pkg create", GOAL_CREATE_RATIO)
    for i in range(args.runs):
        # Alternate which side goes first: each file written leaves the file
        # system a little fuller (outputs are kept), so a fixed order would
        # favour the side that always runs first.
        tar_out = os.path.join(work, f"tar-{i}")
        os.mkdir(tar_out)
        create_out = os.path.join(work, f"create-{i}")
        if i % 2 == 0:
            b = run(["tar", "-xf", archive, "-C", tar_out])
            p = run([pkg, "--hub", source_hub, "-q", "create", create_out], env=epoch)
        else:
            p = run([pkg, "--hub", source_hub, "-q", "create", create_out], env=epoch)
            b = run(["tar", "-xf", archive, "-C", tar_out])
        create.baseline.append(b)
        create.pkg.append(p)
        log(f"run {i + 1}/{args.runs}: tar -xf {b.cell()} s | pkg create {p.cell()} s "
            f"(RSS {p.rss_mb:.0f} MB)")

    # -- load vs cp -r, and re-load --------------------------------------------
    load = Pair("load into an empty hub", "cp -r", "pkg load", GOAL_LOAD_RATIO)
    reload = Pair("re-load unchanged (--on-conflict update)", "first load", "pkg load again", GOAL_RELOAD_RATIO)
    hub_bytes = 0
    for i in range(args.runs):
        out = os.path.join(work, f"cp-{i}")
        hub = os.path.join(work, f"hub-{i}.db")
        if i % 2 == 0:
            b = run(["cp", "-r", ref, out])
            p = run([pkg, "--hub", hub, "-q", "load", ref])
        else:
            p = run([pkg, "--hub", hub, "-q", "load", ref])
            b = run(["cp", "-r", ref, out])
        hub_bytes = hub_size(hub)
        # Not -q: the one summary line must say "No changes" (newer pkg
        # builds print nothing at all under -q).
        again = run([pkg, "--hub", hub, "load", ref, "--on-conflict", "update"])
        if "No changes" not in again.stdout:
            log(f"  WARNING: re-load did not report 'No changes': {again.stdout.strip()}")
        load.baseline.append(b)
        load.pkg.append(p)
        reload.pkg.append(again)
        log(f"run {i + 1}/{args.runs}: cp -r {b.cell()} s | pkg load {p.cell()} s "
            f"(RSS {p.rss_mb:.0f} MB) | re-load {again.cell()} s (RSS {again.rss_mb:.0f} MB)")
    reload.baseline = list(load.pkg)
    setup["hub file after a load"] = f"{hub_bytes / 1e6:.0f} MB"

    # -- Phase hints (one run each, informational) ------------------------------
    log("phase hints: pkg validate, pkg diff into an empty hub ...")
    hints: dict[str, Run] = {}
    hints["pkg validate (read + check every file)"] = run([pkg, "-q", "validate", ref])
    hub = os.path.join(work, "hint.db")
    hints["pkg diff into an empty hub (read + check + plan, no writes)"] = run(
        [pkg, "--hub", hub, "-q", "diff", ref], check=False)
    for name, r in hints.items():
        log(f"  {name}: {r.cell()} s, RSS {r.rss_mb:.0f} MB" + (f" (exit {r.rc})" if r.rc else ""))

    res = Results(args, machine, setup, create, load, reload, hints)
    res.loadavg = (load_before, os.getloadavg())
    build_rows(res)
    return res


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def build_rows(res: Results) -> None:
    rows = res.rows
    for pair in (res.create, res.load, res.reload):
        ratio = pair.ratio()
        ok = ratio <= pair.goal
        rows.append([
            f"{pair.name}: {pair.pkg_label} vs {pair.baseline_label}",
            f"{pair.bmed():.2f} s",
            f"{pair.pmed():.2f} s",
            f"{ratio:.2f}",
            f"<= {pair.goal:g}",
            verdict(ok),
        ])
        if not ok:
            res.missed.append(f"{pair.name}: ratio {ratio:.2f} > {pair.goal:g}")
    for label, runs, baseline in (
        ("peak RSS of pkg create", res.create.pkg, res.create.baseline),
        ("peak RSS of pkg load", res.load.pkg, res.load.baseline),
        ("peak RSS of pkg load (re-load)", res.reload.pkg, None),
    ):
        peak = max(r.rss_mb for r in runs)
        ok = peak < GOAL_RSS_MB
        rows.append([
            label + " (max over runs)",
            f"{max(r.rss_mb for r in baseline):.0f} MB" if baseline else "",
            f"{peak:.0f} MB",
            "",
            f"< {GOAL_RSS_MB:g} MB",
            verdict(ok),
        ])
        if not ok:
            res.missed.append(f"{label}: {peak:.0f} MB >= {GOAL_RSS_MB:g} MB")


HEADER = ["measure", "baseline (median)", "pkg (median)", "ratio", "goal", "result"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(HEADER, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def runs_rows(res: Results) -> list[list[str]]:
    rows = []
    for pair in (res.create, res.load):
        rows.append([pair.baseline_label] + [r.cell() for r in pair.baseline])
        rows.append([pair.pkg_label] + [r.cell() for r in pair.pkg])
    rows.append(["pkg load again (no changes)"] + [r.cell() for r in res.reload.pkg])
    return rows


def print_report(res: Results) -> None:
    a = res.args
    print()
    print(f"pkg benchmark: {a.units} units, {a.spaces} spaces, {a.runs} run(s) per measure")
    for k, v in res.machine.items():
        print(f"  {k}: {v}")
    print(f"  load average before/after: {fmt_load(res.loadavg[0])} / {fmt_load(res.loadavg[1])}")
    print()
    print("Setup (not measured against a baseline):")
    for k, v in res.setup.items():
        print(f"  {k}: {v}")
    print()
    print("Seconds per run: wall (user+sys CPU). Odd runs ran the baseline first, even runs pkg first.")
    for r in runs_rows(res):
        print(f"  {r[0]:<28} " + "  ".join(r[1:]))
    print()
    print("Phase hints (one run each):")
    for k, r in res.hints.items():
        print(f"  {k}: {r.cell()} s, peak RSS {r.rss_mb:.0f} MB")
    print()
    print(text_table(res.rows))
    print()
    if res.missed:
        print("=" * 72)
        print(f"MISSED {len(res.missed)} goal(s):")
        for m in res.missed:
            print(f"  MISSED: {m}")
        print("=" * 72)
    else:
        print("All goals met.")


def fmt_load(load: tuple[float, ...]) -> str:
    return " ".join(f"{x:.2f}" for x in load) if load else "?"


def write_doc(res: Results) -> None:
    a = res.args
    quick = a.units < 100_000
    lines: list[str] = []
    add = lines.append
    add("# Performance")
    add("")
    add("This file is written by `scripts/bench.py --write-doc` (and its git section by `scripts/bench_git.py --write-doc`); edit the scripts, not the figures.")
    add("")
    add("## How to run")
    add("")
    add("```sh")
    add("cargo build --release                      # the script builds it if target/release/pkg is missing")
    add("python3 scripts/bench.py --write-doc       # full run: 100,000 units, 100 spaces, 3 runs (several minutes)")
    add("python3 scripts/bench.py --quick           # smoke run: --units 2000 --spaces 10 --runs 1")
    add("```")
    add("")
    add("Options: `--units N`, `--spaces N`, `--runs K`, `--work DIR` (default: a fresh directory under /tmp, "
        "removed at the end unless `--keep`), `--pkg PATH` (with `--pkg-commit TEXT` to say which commit it was built from), `--seed S`, `--note TEXT` (added to the Machine section). Python 3.11 standard library only; "
        "the synthetic package comes from `scripts/gen_package.py`, which can also be run on its own.")
    add("")
    add("## Goals")
    add("")
    add(f"* `pkg create` of the whole hub takes at most {GOAL_CREATE_RATIO:g}x as long as `tar -xf` of the same tree;")
    add(f"* `pkg load` into an empty hub takes at most {GOAL_LOAD_RATIO:g}x as long as `cp -r` of the package;")
    add(f"* re-loading the unchanged package (`--on-conflict update`) takes at most {GOAL_RELOAD_RATIO:g}x the first load;")
    add(f"* the peak RSS of create and load stays under {GOAL_RSS_MB:g} MB.")
    add("")
    add(f"## Latest results ({a.units:,} units, {a.spaces} spaces, {a.runs} run(s) per measure)")
    add("")
    if quick:
        add(f"**Note: this is a reduced run ({a.units:,} units), not the 100,000-unit benchmark the goals are about.**")
        add("")
    add(md_table(HEADER, res.rows))
    add("")
    if res.missed:
        add("**MISSED:** " + "; ".join(res.missed) + ".")
    else:
        add("All goals met.")
    add("")
    add("Seconds per run: wall clock (user + sys CPU). Runs 1, 3, ... ran the baseline first and runs 2, 4, ... "
        "ran pkg first, so that neither side always meets the fuller file system.")
    add("")
    add(md_table(["command"] + [f"run {i + 1}" for i in range(a.runs)], runs_rows(res)))
    add("")
    add("Setup steps (timed once, not compared with anything):")
    add("")
    for k, v in res.setup.items():
        add(f"* {k}: {v}")
    add("")
    add("Phase hints (one run each; `load` minus `diff` is roughly the cost of writing the hub):")
    add("")
    for k, r in res.hints.items():
        add(f"* {k}: {r.cell()} s, peak RSS {r.rss_mb:.0f} MB")
    add("")
    add("## Machine")
    add("")
    for k, v in res.machine.items():
        add(f"* {k}: {v}")
    add(f"* Load average (1/5/15 min) before / after the run: {fmt_load(res.loadavg[0])} / {fmt_load(res.loadavg[1])}")
    add("")
    if a.note:
        add(a.note)
        add("")
    add("## Method")
    add("")
    add("* **Data.** `scripts/gen_package.py` writes a package in the `cub package` layout (no `format` or `digests` "
        f"keys), seeded so it is the same every time: {a.units:,} units spread evenly over {a.spaces} spaces, each a "
        "Deployment, ConfigMap or Service with labels, padded to a random 1-4 KB; unit labels; one worker and one "
        "target per space, which most units target. It is loaded once into a *source hub* (setup).")
    add("* **Create vs tar.** A first `pkg create` (setup) writes the reference tree, archived once with an "
        "uncompressed `tar -cf`. Each run then times `tar -xf ref.tar -C <new empty dir>` and "
        "`pkg --hub source.db -q create <new dir>` (with `SOURCE_DATE_EPOCH` set). Both read a warm source "
        "(the archive, the hub file) and write the same tree.")
    add("* **Load vs cp.** Each run times `cp -r ref <new dir>` and `pkg --hub <new hub> -q load ref`, "
        "both reading the same warm reference tree. Right after each first load, "
        "`pkg --hub <same hub> load ref --on-conflict update` is timed (without `-q`, so that its one summary "
        "line can be checked for \"No changes\"); "
        "its ratio is taken against the median first load.")
    add("* **Runs.** Each run times both sides, each on a fresh output "
        "directory or hub file; odd runs start with the baseline and even runs with pkg, because every "
        "kept output leaves the file system fuller and slower to allocate inodes in. The table shows the "
        "median of each side and median(pkg) / median(baseline). "
        "Outputs are kept until the end of the benchmark and removed then: on ext4 without a journal (as "
        "here), deleting a large tree makes inode allocation skip the recently deleted inodes for one to six "
        "minutes (`recently_deleted()` in `find_inode_bit()`), and when outputs were removed between runs this made the next run's file "
        "creation 5-15x slower, for tar and pkg alike (seen with `perf`). Other processes deleting many "
        "files on the same file system during the benchmark can still cause it.")
    add("* **Caches.** The page cache is not dropped (that needs root, and both sides would pay it alike); "
        "instead every timed command starts after `sync()` (not timed), so that writeback of an earlier step does "
        "not land in a later measurement. Neither side's own dirty data is flushed inside its timing; pkg's "
        "SQLite commit may fsync, which `tar` and `cp` never do.")
    add("* **Time and memory.** Wall-clock time (monotonic clock) around the whole command. Each command runs "
        + ("under `/usr/bin/time -f '%M %U %S'` (peak RSS, user and sys CPU), which adds about a millisecond" if GNU_TIME else
           "under a small Python helper (no GNU time on this machine), which adds its start-up time, "
           "about 20-30 ms")
        + "; the peak RSS is that command's own `ru_maxrss`, not the running maximum over every child that "
        "`RUSAGE_CHILDREN` gives, and not inflated by the benchmark's own Python process (the kernel counts "
        "the pre-exec image into a child's `ru_maxrss`, hence the small wrapper).")
    add("* **Noise.** The machine may be shared (other builds can run at the same time on its cores); the load "
        "average above hints at that. Compare the per-run figures to judge the spread.")
    add("")
    os.makedirs(os.path.dirname(DOC), exist_ok=True)
    # scripts/bench_git.py owns the section between its markers: keep it.
    kept = ""
    if os.path.exists(DOC):
        with open(DOC, encoding="utf-8") as f:
            old = f.read()
        start, end = old.find("<!-- bench_git:start -->"), old.find("<!-- bench_git:end -->")
        if start != -1 and end > start:
            kept = "\n" + old[start:end + len("<!-- bench_git:end -->")] + "\n"
    with open(DOC, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + kept)
    log(f"wrote {DOC}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, help="units in the synthetic hub (default 100000)")
    ap.add_argument("--spaces", type=int, help="spaces (default 100)")
    ap.add_argument("--runs", type=int, help="runs per measure (default 3)")
    ap.add_argument("--quick", action="store_true", help="smoke run: --units 2000 --spaces 10 --runs 1")
    ap.add_argument("--work", help="work directory (default: a fresh one under /tmp)")
    ap.add_argument("--pkg", help="the pkg binary (default: target/release/pkg, built if missing)")
    ap.add_argument("--pkg-commit", help="what to report as the pkg commit (default: git HEAD of this checkout)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the synthetic data (default 1)")
    ap.add_argument("--write-doc", action="store_true", help="rewrite docs/performance.md")
    ap.add_argument("--note", default="", help="a sentence to add to the doc's Machine section")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    defaults = (2000, 10, 1) if args.quick else (100_000, 100, 3)
    args.units = defaults[0] if args.units is None else args.units
    args.spaces = defaults[1] if args.spaces is None else args.spaces
    args.runs = defaults[2] if args.runs is None else args.runs
    if args.units < 1 or args.spaces < 1 or args.runs < 1:
        ap.error("--units, --spaces and --runs must be at least 1")
    for tool in ("tar", "cp"):
        if not shutil.which(tool):
            ap.error(f"{tool} is not on PATH")

    pkg = find_pkg(args.pkg)
    created_work = False
    if args.work:
        work = os.path.abspath(args.work)
        if os.path.exists(work) and os.listdir(work):
            ap.error(f"--work {work} must be absent or empty")
        created_work = not os.path.exists(work)
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="pkg-bench-", dir="/tmp")
        created_work = True
    try:
        res = benchmark(args, work, pkg)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            log(f"removing {work} ...")
            if created_work:
                shutil.rmtree(work, ignore_errors=True)
            else:
                for name in os.listdir(work):
                    rm(os.path.join(work, name))
    print_report(res)
    if args.write_doc:
        write_doc(res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
