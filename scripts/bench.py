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
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing the sibling

import benchlib  # noqa: E402  (a sibling: what bench.py and bench_git.py share)
import gen_package  # noqa: E402  (a sibling script)
from benchlib import (  # noqa: E402
    GNU_TIME, Pair, Run, add_pair_rows, cmd_output, find_pkg, hub_size, log, rm, run_cells, run_pair, tree_size,
    verdict,
)

DOC = os.path.join(ROOT, "docs", "performance.md")
SOURCE_DATE_EPOCH = "1700000000"

# Goals from the issue.
GOAL_CREATE_RATIO = 1.5
GOAL_LOAD_RATIO = 1.5
GOAL_RELOAD_RATIO = 0.3
GOAL_RSS_MB = 150.0


# --------------------------------------------------------------------------
# Running commands


def run(cmd: list[str], env: dict[str, str] | None = None, check: bool = True, sync: bool = True) -> Run:
    """benchlib.run of `cmd` in our environment without PKG_HUB, plus `env`;
    a failed command (with `check`) exits 2."""
    full_env = dict(os.environ)
    full_env.pop("PKG_HUB", None)
    if env:
        full_env.update(env)
    return benchlib.run(cmd, full_env, check, sync)


def rm_hub(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        rm(path + suffix)


def disk_usage(path: str) -> int:
    """Bytes of disk blocks used under `path` (like du)."""
    total = 0
    for dirpath, dirs, names in os.walk(path):
        for name in dirs + names:
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


# --------------------------------------------------------------------------
# The machine


def machine_info(work: str, pkg: str, commit_label: str | None) -> dict[str, str]:
    mem = "unknown"
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
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
        disk = f"{disk}; work dir {work}"
    else:
        disk = work
    tools = [(cmd_output([t, "--version"]).splitlines() or [""])[0] for t in ("tar", "cp")]
    if commit_label:
        commit = commit_label
    else:
        commit = cmd_output(["git", "rev-parse", "HEAD"], cwd=ROOT) or "unknown"
        dirty = cmd_output(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"], cwd=ROOT)
        commit += " + uncommitted changes in src/Cargo files" if dirty else ""
        commit += f" (the binary was built {benchlib.built_at(pkg)}; check it matches)"
    return benchlib.machine_info(
        pkg, commit,
        after_cores={"RAM": mem, "Disk (work dir)": disk},
        after_python={"Tools": "; ".join(t for t in tools if t) or "unknown"},
    )


# --------------------------------------------------------------------------
# The benchmark


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
        b, p = run_pair(i, lambda: run(["tar", "-xf", archive, "-C", tar_out]),
                        lambda: run([pkg, "--hub", source_hub, "-q", "create", create_out], env=epoch))
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
        b, p = run_pair(i, lambda: run(["cp", "-r", ref, out]), lambda: run([pkg, "--hub", hub, "-q", "load", ref]))
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


def build_rows(res: Results) -> None:
    rows = res.rows
    add_pair_rows((res.create, res.load, res.reload), rows, res.missed)
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


def runs_rows(res: Results) -> list[list[str]]:
    rows = []
    for pair in (res.create, res.load):
        rows.append(run_cells(pair.baseline_label, pair.baseline))
        rows.append(run_cells(pair.pkg_label, pair.pkg))
    rows.append(run_cells("pkg load again (no changes)", res.reload.pkg))
    return rows


def print_report(res: Results) -> None:
    a = res.args
    print()
    print(f"pkg benchmark: {a.units} units, {a.spaces} spaces, {a.runs} run(s) per measure")
    benchlib.print_machine(res.machine, res.loadavg)
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
    benchlib.print_verdicts(res.rows, res.missed)


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
    lines += benchlib.doc_verdicts(res.rows, res.missed)
    add("Seconds per run: wall clock (user + sys CPU). Runs 1, 3, ... ran the baseline first and runs 2, 4, ... "
        "ran pkg first, so that neither side always meets the fuller file system.")
    add("")
    add(benchlib.doc_runs_table(a.runs, runs_rows(res)))
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
    lines += benchlib.doc_machine(res.machine, res.loadavg, "the run", a.note)
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
    add(benchlib.NOISE)
    add("")
    os.makedirs(os.path.dirname(DOC), exist_ok=True)
    # Other scripts own the sections between their markers: keep them.
    kept = ""
    if os.path.exists(DOC):
        with open(DOC, encoding="utf-8") as f:
            old = f.read()
        for block in benchlib.marked_sections(old):
            kept += "\n" + block + "\n"
    with open(DOC, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + kept)
    log(f"wrote {DOC}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, help="units in the synthetic hub (default 100000)")
    ap.add_argument("--spaces", type=int, help="spaces (default 100)")
    ap.add_argument("--runs", type=int, help="runs per measure (default 3)")
    ap.add_argument("--quick", action="store_true", help="smoke run: --units 2000 --spaces 10 --runs 1")
    benchlib.add_common_args(ap, write_doc_help="rewrite docs/performance.md")
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

    pkg = find_pkg(args.pkg, "bench")
    work, created_work = benchlib.make_work(ap, args.work, "pkg-bench-")
    try:
        res = benchmark(args, work, pkg)
    finally:
        benchlib.remove_work(work, created_work, args.keep)
    print_report(res)
    if args.write_doc:
        write_doc(res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
