#!/usr/bin/env python3
"""Benchmark dated backups with `pkg create --link-dest`.

    python3 scripts/bench_backup.py [--units N] [--spaces N] [--runs K]
                                    [--work DIR] [--pkg PATH] [--pkg-commit TEXT]
                                    [--seed S] [--note TEXT] [--write-doc]
                                    [--keep] [--quick]

Generates a synthetic hub (default 100,000 units of 1-4 KB Kubernetes YAML in
100 spaces, like scripts/bench.py) and measures, in one run, two daily
backups of the unchanged hub:

  * the first backup: `pkg --hub source.db -q create backups/day1 --name
    backup --created-at hub` (the baseline);
  * the second backup: `pkg --hub source.db -q create backups/day2 --name
    backup --created-at hub --link-dest backups/day1`, which hard-links
    every file whose bytes equal day1's file at the same path (as
    examples/backup.sh runs it: with `--created-at hub` the manifest of an
    unchanged hub is the same bytes too);
  * for information, `cp -al backups/day1 backups/cp-al` (a hard-link copy of
    the whole tree, with no comparison: about the least such a backup can
    cost) and `cp -r backups/day1 backups/cp-r` (writing the same files
    without pkg: shows how fast the file system creates files just then).

Goals: the second backup takes at most 0.5x the time of the first, and adds
at most 5% of the first one's disk use, as one `du -sk day1 day2` counts it
(du counts a hard-linked inode once per invocation, so day2's figure is what
it adds). After every pair the script checks that `diff -rq day1 day2`
finds no difference, that the `linked` count of `-o json` is the file count
(manifest.json included) and that exactly those files share day1's inodes; a
failed check exits 2 (it is a bug). Missed goals are reported as FAIL / MISSED, but the exit status
stays 0 (it is a report).

Each run writes fresh day1/day2 directories; outputs are kept until the end.
`--write-doc` replaces the section between `<!-- bench_backup:start -->` and
`<!-- bench_backup:end -->` in docs/performance.md (appending it when absent).
`--quick` is short for `--units 2000 --spaces 10 --runs 1` (a smoke run).

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing the siblings

import benchlib  # noqa: E402  (a sibling: what the bench scripts share)
import gen_package  # noqa: E402  (a sibling script)
from benchlib import GNU_TIME, Pair, Run, cmd_output, fail, failed, hub_size, log, run_cells, tree_size  # noqa: E402

DOC = os.path.join(benchlib.ROOT, "docs", "performance.md")
SECTION = "bench_backup"
SOURCE_DATE_EPOCH = "1700000000"
NAME = "backup"
MANIFEST = "manifest.json"

# Goals from the issue.
GOAL_TIME_RATIO = 0.5
GOAL_DISK_RATIO = 0.05


# --------------------------------------------------------------------------
# Running commands


def run(cmd: list[str], cwd: str | None = None) -> Run:
    """benchlib.run of `cmd` (after `sync()`, not timed) in our environment
    without any PKG_* variable, with SOURCE_DATE_EPOCH fixed; a failed
    command raises BenchError."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKG_")}
    env["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    return benchlib.run(cmd, env, cwd=cwd, rss_prefix="pkg-bench-backup-rss-", on_fail=failed)


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def kb_mb(kb: int) -> str:
    return f"{kb / 1024:.1f} MiB"


def fs_description(work: str) -> str:
    """The work directory's file system: device, type, block size, free space."""
    df = cmd_output(["df", "-PT", work]).splitlines()
    dev, fstype = (df[1].split()[:2]) if len(df) >= 2 else ("?", "?")
    st = os.statvfs(work)
    return (f"{dev}, {fstype}, {st.f_frsize}-byte blocks, {st.f_bavail * st.f_frsize / 2**30:.0f} GiB free; "
            f"work dir {work}")


# --------------------------------------------------------------------------
# One backup pair and its checks


@dataclass
class Pairing:
    """What one pair of backups wrote, and the checks on it."""

    files: int = 0  # files in day1
    bytes: int = 0  # their apparent size
    manifest_bytes: int = 0
    linked: int = 0  # the second create's `linked` count
    shared: int = 0  # files of day2 that are day1's inode
    du_day1_kb: int = 0
    du_day2_kb: int = 0  # what day2 adds (one du invocation)
    differ: list[str] = field(default_factory=list)  # diff -rq's lines

    def disk_ratio(self) -> float:
        return self.du_day2_kb / self.du_day1_kb if self.du_day1_kb else float("inf")


def outcome(r: Run) -> dict:
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as e:
        fail(f"`{' '.join(r.cmd)}` printed no JSON ({e}): {r.stdout[:500]}")
        raise AssertionError("unreachable")


def create_pair(pkg: str, hub: str, backups: str, units: int) -> tuple[Run, Run, Pairing]:
    """Times the first backup (day1) and the second (day2, --link-dest day1)
    under `backups`, then checks them. `-o json` (with `-q`, which keeps
    the JSON) gives the `linked` count of the very run that was timed."""
    os.makedirs(backups)
    day1, day2 = os.path.join(backups, "day1"), os.path.join(backups, "day2")
    base = [pkg, "--hub", hub, "-q", "-o", "json", "create"]
    # As examples/backup.sh: created_at records when the hub last changed.
    first = run([*base, day1, "--name", NAME, "--created-at", "hub"])
    second = run([*base, day2, "--name", NAME, "--created-at", "hub", "--link-dest", day1])
    p = Pairing(linked=int(outcome(second).get("linked", -1)))
    if outcome(first).get("counts", {}).get("units") != units:
        fail(f"the first backup holds {outcome(first).get('counts')}, expected {units} units")
    if outcome(first).get("linked", 0) != 0:
        fail(f"the first backup (no --link-dest) reports linked = {outcome(first).get('linked')}")
    p.files, p.bytes = tree_size(day1)
    p.manifest_bytes = os.path.getsize(os.path.join(day1, MANIFEST))
    for dirpath, _dirs, names in os.walk(day1):
        for name in names:
            a = os.lstat(os.path.join(dirpath, name))
            b = os.lstat(os.path.join(day2, os.path.relpath(os.path.join(dirpath, name), day1)))
            p.shared += (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    # One du invocation: an inode already counted under day1 is not counted again under day2.
    du = subprocess.run(["du", "-sk", "day1", "day2"], cwd=backups, capture_output=True, text=True)
    sizes = {line.split("\t", 1)[1]: int(line.split("\t", 1)[0]) for line in du.stdout.splitlines()}
    if du.returncode != 0 or set(sizes) != {"day1", "day2"}:
        fail(f"du -sk day1 day2 failed (exit {du.returncode}): {du.stdout}{du.stderr}")
    p.du_day1_kb, p.du_day2_kb = sizes["day1"], sizes["day2"]
    diff = subprocess.run(["diff", "-rq", "day1", "day2"], cwd=backups, capture_output=True, text=True)
    p.differ = diff.stdout.splitlines()
    if diff.returncode not in (0, 1) or diff.stderr:
        fail(f"diff -rq day1 day2 failed (exit {diff.returncode}): {diff.stderr}")
    check(p, backups)
    return first, second, p


def check(p: Pairing, backups: str) -> None:
    """Fails unless day2 is day1's tree with every file hard-linked (the
    manifest too: the same hub and options give the same bytes)."""
    if p.differ:
        fail(f"diff -rq day1 day2 in {backups} finds differences ({len(p.differ)} lines):\n"
             + "\n".join(p.differ[:20]))
    if p.linked != p.files:
        fail(f"the second backup reports linked = {p.linked}, expected all {p.files} files of day1 in {backups}")
    if p.shared != p.linked:
        fail(f"{p.shared} files of day2 share day1's inode, but the second backup reports linked = {p.linked} "
             f"in {backups}")


def check_line(p: Pairing) -> str:
    return (f"diff -rq day1 day2: no difference; linked = {p.linked:,} = every file ({p.files:,}, "
            f"{MANIFEST} included); {p.shared:,} files of day2 share day1's inode")


# --------------------------------------------------------------------------
# The benchmark


@dataclass
class Results:
    args: argparse.Namespace
    machine: dict[str, str]
    setup: dict[str, str]
    first: Pair
    cp_al: Pair
    cp_r: Pair
    pairings: list[Pairing] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    day2_parts: str = ""
    rows: list[list[str]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    loadavg: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())


def benchmark(args: argparse.Namespace, work: str, pkg: str) -> Results:
    label = args.pkg_commit or benchlib.pkg_commit_label()
    tools = "; ".join(cmd_output([t, "--version"]).splitlines()[0] for t in ("du", "diff", "cp")
                      if cmd_output([t, "--version"]))
    machine = benchlib.machine_info(pkg, f"{label} (the binary was built {benchlib.built_at(pkg)})",
                                    after_cores={"Disk (work dir)": fs_description(work)},
                                    after_python={"Tools": tools or "unknown"})
    setup: dict[str, str] = {}
    src = os.path.join(work, "source-pkg")
    hub = os.path.join(work, "source.db")

    # -- Setup (not compared with anything) -----------------------------------
    log(f"work dir: {work}")
    log(f"pkg: {pkg}")
    log(f"generating {args.units} units in {args.spaces} spaces (cub layout) ...")
    t0 = time.perf_counter()
    summary = gen_package.generate(src, args.units, args.spaces, args.seed)
    setup["generate the source package"] = (f"{time.perf_counter() - t0:.1f} s ({summary['files']} files, "
                                            f"{mb(summary['data_bytes'])} of YAML)")
    log(f"  {setup['generate the source package']}")
    log("setup: loading it into the source hub ...")
    r = run([pkg, "--hub", hub, "-q", "load", src])
    setup["load it into the source hub"] = f"{r.cell()} s, hub {mb(hub_size(hub))}"
    log(f"  {setup['load it into the source hub']}")

    # A warm-up pair (untimed as a measure): reads the hub into the page
    # cache, and checks the feature before the long runs.
    log("warm-up: first and second backup, checks ...")
    first, second, p = create_pair(pkg, hub, os.path.join(work, "warmup"), args.units)
    setup["warm-up pair (first / second backup)"] = f"{first.cell()} s / {second.cell()} s"
    setup["a backup"] = (f"{p.files:,} files, {mb(p.bytes)} (manifest.json {mb(p.manifest_bytes)}); "
                         f"du -sk: {kb_mb(p.du_day1_kb)}")
    log(f"  {setup['warm-up pair (first / second backup)']}; {setup['a backup']}")
    log(f"  ok: {check_line(p)}")

    # Outputs are kept until the end (deleting a large tree slows ext4's
    # inode allocation for minutes afterwards; see scripts/bench.py).
    need = args.runs * 1024 * (3 * p.du_day1_kb + 2 * p.du_day2_kb)
    free = shutil.disk_usage(work).free
    log(f"the measured runs keep their outputs: about {need / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free")
    if need > free * 0.9:
        raise SystemExit("bench_backup: not enough free disk space in the work dir for the measured runs")

    # -- The measured runs ----------------------------------------------------
    load_before = os.getloadavg()
    res = Results(args, machine, setup,
                  first=Pair("second backup of the unchanged hub", "first backup", "create --link-dest",
                             GOAL_TIME_RATIO),
                  cp_al=Pair("hard-link copy of the tree", "first backup", "cp -al day1", None),
                  cp_r=Pair("plain copy of the tree", "first backup", "cp -r day1", None))
    res.checks.append(f"warm-up: {check_line(p)}")
    for i in range(args.runs):
        backups = os.path.join(work, f"run-{i}")
        first, second, p = create_pair(pkg, hub, backups, args.units)
        cp = run(["cp", "-al", "day1", "cp-al"], cwd=backups)
        cp_r = run(["cp", "-r", "day1", "cp-r"], cwd=backups)
        res.first.baseline.append(first)
        res.first.pkg.append(second)
        for pair, r in ((res.cp_al, cp), (res.cp_r, cp_r)):
            pair.baseline.append(first)
            pair.pkg.append(r)
        res.pairings.append(p)
        res.checks.append(f"run {i + 1}: {check_line(p)}")
        log(f"run {i + 1}/{args.runs}: first {first.cell()} s (RSS {first.rss_mb:.0f} MB) | second "
            f"{second.cell()} s (RSS {second.rss_mb:.0f} MB) | cp -al {cp.cell()} s | cp -r {cp_r.cell()} s | du day1 "
            f"{kb_mb(p.du_day1_kb)}, day2 adds {kb_mb(p.du_day2_kb)} ({p.disk_ratio():.1%})")
        log(f"  ok: {check_line(p)}")
    res.loadavg = (load_before, os.getloadavg())
    res.day2_parts = day2_parts(os.path.join(work, f"run-{args.runs - 1}"), res.pairings[-1])
    build_rows(res)
    return res


def build_rows(res: Results) -> None:
    benchlib.add_pair_rows((res.first,), res.rows, res.missed)
    worst = max(res.pairings, key=Pairing.disk_ratio)
    ok = worst.disk_ratio() <= GOAL_DISK_RATIO
    res.rows.append([
        "disk use of the second backup (du -sk day1 day2; max ratio over runs)",
        kb_mb(worst.du_day1_kb),
        kb_mb(worst.du_day2_kb),
        f"{worst.disk_ratio():.3f} ({worst.disk_ratio():.1%})",
        f"<= {GOAL_DISK_RATIO:g} ({GOAL_DISK_RATIO:.0%})",
        benchlib.verdict(ok),
    ])
    if not ok:
        res.missed.append(f"disk use of the second backup: {worst.disk_ratio():.1%} of the first > "
                          f"{GOAL_DISK_RATIO:.0%}")
    benchlib.add_pair_rows((res.cp_al, res.cp_r), res.rows, res.missed)
    res.rows.append(benchlib.rss_row("peak RSS: second vs first backup", res.first.baseline, res.first.pkg))


def runs_rows(res: Results) -> list[list[str]]:
    return [
        run_cells("first backup: pkg create", res.first.baseline),
        run_cells("second backup: pkg create --link-dest", res.first.pkg),
        run_cells("cp -al day1", res.cp_al.pkg),
        run_cells("cp -r day1", res.cp_r.pkg),
        ["du -sk day1 day2: day1 / day2 (KiB)"] + [f"{p.du_day1_kb:,} / {p.du_day2_kb:,}" for p in res.pairings],
    ]


def day2_parts(backups: str, p: Pairing) -> str:
    """What day2's du figure under `backups` is made of: manifest.json and directories."""
    day2 = os.path.join(backups, "day2")
    dirs = dir_kb = 0
    for dirpath, _dirs, _names in os.walk(day2):
        dirs += 1
        dir_kb += os.lstat(dirpath).st_blocks // 2
    manifest_kb = os.lstat(os.path.join(day2, MANIFEST)).st_blocks // 2
    shared = os.path.samefile(os.path.join(day2, MANIFEST), os.path.join(backups, "day1", MANIFEST))
    how = "linked to day1's" if shared else f"{manifest_kb:,} KiB, written anew"
    return (f"day2 adds {p.du_day2_kb:,} KiB: its {dirs:,} directories {dir_kb:,} KiB; its manifest.json "
            f"({mb(p.manifest_bytes)}) is {how}; everything else is day1's inodes")


# --------------------------------------------------------------------------
# Reports


def print_report(res: Results) -> None:
    a = res.args
    benchlib.print_head(f"pkg backup benchmark (--link-dest): {a.units} units, {a.spaces} spaces, {a.runs} run(s)",
                        res.machine, res.loadavg, res.setup)
    print()
    print("Checks:")
    for line in res.checks:
        print(f"  {line}")
    print(f"  {res.day2_parts}")
    benchlib.print_runs_and_verdicts("Seconds per run: wall (user+sys CPU); each run: first backup, second backup, "
                                     "cp -al, cp -r.", runs_rows(res), res.rows, res.missed)


def doc_section(res: Results) -> str:
    a = res.args
    lines: list[str] = []
    add = lines.append
    lines += benchlib.doc_head("Deduplicated backups (`--link-dest`)", SECTION, [
        ("--write-doc", "full run: 100,000 units, 100 spaces, 3 runs (several minutes)"),
        ("--quick", "smoke run: --units 2000 --spaces 10 --runs 1"),
    ])
    add("Options: `--units N`, `--spaces N`, `--runs K`, `--work DIR` (default: a fresh directory under /tmp, "
        "removed at the end unless `--keep`), `--pkg PATH` (default `target/release/pkg`, built if missing; with "
        "`--pkg-commit TEXT`), `--seed S`, `--note TEXT`. Needs `du`, `diff` and `cp` (GNU); Python 3.11 "
        "standard library only.")
    add("")
    add("### Goals")
    add("")
    add("A daily backup of an unchanged hub, `pkg create DIR --link-dest PREV` with PREV the previous day's "
        "backup, measured against the first backup in the same run:")
    add("")
    add(f"* takes at most {GOAL_TIME_RATIO:g}x the time of the first backup;")
    add(f"* adds at most {GOAL_DISK_RATIO:.0%} of the first backup's disk use (as one `du -sk day1 day2` counts "
        "it);")
    add("* and is still complete and byte-identical to a plain create (checked; not a ratio).")
    add("")
    add(f"### Latest results ({a.units:,} units, {a.spaces} spaces, {a.runs} run(s))")
    add("")
    if a.units < 100_000:
        add(f"**Note: this is a reduced run ({a.units:,} units), not the 100,000-unit benchmark the goals are "
            "about.**")
        add("")
    lines += benchlib.doc_verdicts(res.rows, res.missed)
    add("Seconds per run: wall clock (user + sys CPU). In every run the first backup runs first (the second "
        "links to it), then the second, then `cp -al` and `cp -r`.")
    add("")
    add(benchlib.doc_runs_table(a.runs, runs_rows(res)))
    add("")
    lines += benchlib.doc_list("Checks (all held):", [*res.checks, res.day2_parts])
    lines += benchlib.doc_list("Setup (timed once, not compared with anything):",
                               [f"{k}: {v}" for k, v in res.setup.items()])
    add("### Machine")
    add("")
    lines += benchlib.doc_machine(res.machine, res.loadavg, "the measured runs", a.note)
    add("### Method")
    add("")
    add("* **Data.** The same synthetic package as the first section (`scripts/gen_package.py`, seeded: "
        f"{a.units:,} units in {a.spaces} spaces, 1-4 KB of YAML each, one worker and one target per space), "
        "loaded once into a *source hub*, which no run changes.")
    add(f"* **Backups.** Each run makes a new directory `run-K` and times `pkg --hub source.db -q -o json create "
        f"run-K/day1 --name {NAME} --created-at hub` (the first backup, the baseline), then `pkg --hub source.db "
        f"-q -o json create run-K/day2 --name {NAME} --created-at hub --link-dest run-K/day1` (the second), as "
        "examples/backup.sh runs them: `--created-at hub` makes `created_at` the time the hub last changed, so "
        "the two are byte-identical, manifest.json included; `-o json` (which `-q` does not silence) prints the small outcome "
        "whose `linked` count the checks use. The order within a run cannot alternate (the second needs the "
        "first), so the second always meets the fuller file system. For information, `cp -al run-K/day1 "
        "run-K/cp-al` (coreutils: one `linkat` per file, no comparison) and `cp -r run-K/day1 run-K/cp-r` "
        "(the same files written without pkg: a reference for how fast the file system creates files at that "
        "moment, which the first backup's time, and so the ratio, depends on) are timed after them. An untimed "
        "warm-up pair first reads the hub into the page cache; the second backup reads day1's files (to compare their "
        "bytes) seconds after they were written, so mostly from the page cache: a backup whose previous day "
        "was evicted reads it from disk.")
    add("* **Disk use.** `du -sk day1 day2` in one invocation: du counts a hard-linked inode once, at its first "
        "path, so day2's figure is what the second backup adds (its directories and any file it wrote). The ratio is day2 / day1; the table shows the run with the largest ratio.")
    add("* **Checks.** After each pair: `diff -rq day1 day2` must find no difference; the second backup's "
        "`linked` count must be the number of files in day1 (manifest.json included); exactly that many files "
        "of day2 must have the same device and inode as day1's file at the same path. A failed check stops the "
        "benchmark (exit 2).")
    add("* **Runs.** Outputs are kept until the end of the benchmark (see the first section's Method: deleting "
        "large trees slows ext4's inode allocation for minutes). The table shows the median of each side and "
        "median(second) / median(first). The first backup creates an inode per file, the second only its "
        "directories and manifest.json, so a file system that is slow to allocate inodes at the time (after "
        "someone deleted many files on it) slows the first far more and makes the ratio look better: compare "
        "the first backup with `cp -r`, and bench.py's `pkg create` vs `tar -xf` above.")
    add("* **Time and memory.** Wall-clock time (monotonic clock) around the whole command, after `sync()` (not "
        "timed), under "
        + ("`/usr/bin/time -f '%M %U %S'`" if GNU_TIME else "a small Python helper")
        + " for the CPU times and the command's own peak RSS. The page cache is not dropped.")
    add(benchlib.NOISE)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    benchlib.add_size_args(ap, runs_help="runs")
    benchlib.add_common_args(ap, write_doc_help=f"replace the {SECTION} section of docs/performance.md")
    args = ap.parse_args(argv)
    benchlib.size_defaults(ap, args)
    for tool in ("du", "diff", "cp"):
        if not shutil.which(tool):
            ap.error(f"{tool} is not on PATH")
    return benchlib.bench_main(ap, args, "bench_backup", lambda work, pkg: benchmark(args, work, pkg),
                               print_report, doc_section, DOC, SECTION)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
