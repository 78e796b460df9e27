"""What scripts/bench.py, scripts/bench_git.py, scripts/bench_env.py and scripts/bench_backup.py share:
running and timing a command, the machine description, the measured pairs,
the result tables and the marked sections of docs/performance.md.

Not a script of its own. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


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


# GNU time reports the peak RSS and CPU times of the command it runs (and of
# its children it waited for, e.g. git clone's index-pack); its own pre-exec
# image (which the kernel counts into the child's ru_maxrss) is about 1 MB.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

# Fallback without GNU time: a fresh Python helper runs the command and
# reports wait4()'s figures for it. Its RSS figure includes the helper's own
# resident size at fork (about 10 MB), so it is an upper bound.
RSS_HELPER = (
    "import os,subprocess,sys\n"
    "p=subprocess.Popen(sys.argv[2:])\n"
    "_,s,u=os.wait4(p.pid,0)\n"
    "open(sys.argv[1],'w').write('%d %.2f %.2f' % (u.ru_maxrss, u.ru_utime, u.ru_stime))\n"
    "sys.exit(os.waitstatus_to_exitcode(s) & 255)\n"
)


def exit_failed(r: Run) -> None:
    """Prints the failed command's output and exits 2."""
    sys.stdout.flush()
    print(f"\nFAILED (exit {r.rc}): {' '.join(r.cmd)}", file=sys.stderr)
    print(r.stdout[-4000:], file=sys.stderr)
    print(r.stderr[-4000:], file=sys.stderr)
    raise SystemExit(2)


def run(cmd: list[str], env: dict[str, str] | None, check: bool = True, sync: bool = True,
        cwd: str | None = None, rss_prefix: str = "pkg-bench-rss-",
        on_fail: Callable[[Run], None] = exit_failed) -> Run:
    """Runs `cmd` in exactly `env` (None: ours), timing it (wall clock,
    monotonic) and reading its peak RSS and CPU times. With `check`, a
    non-zero exit calls `on_fail` with the finished run.

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
    fd, rss_file = tempfile.mkstemp(prefix=rss_prefix)
    os.close(fd)
    if GNU_TIME:
        wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", rss_file, *cmd]
    else:
        wrapped = [sys.executable, "-c", RSS_HELPER, rss_file, *cmd]
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            proc = subprocess.run(wrapped, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
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
        on_fail(r)
    return r


def run_pair(i: int, baseline: Callable[[], Run], pkg: Callable[[], Run]) -> tuple[Run, Run]:
    """Runs both sides of run `i` (from 0), the baseline first on even `i` and
    pkg first on odd `i`, so that neither side always meets the later state
    (a fuller file system, a busier cache). Returns (baseline, pkg)."""
    if i % 2 == 0:
        b = baseline()
        p = pkg()
    else:
        p = pkg()
        b = baseline()
    return b, p


def cmd_output(cmd: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def log(msg: str) -> None:
    print(msg, flush=True)


class BenchError(Exception):
    """A step failed or a check did not hold: the figures mean nothing."""


def fail(msg: str) -> None:
    sys.stdout.flush()
    raise BenchError(msg)


def failed(r: "Run") -> None:
    fail(f"exit {r.rc}: {' '.join(r.cmd)}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")


def rm(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def tree_size(path: str, skip: str | None = None) -> tuple[int, int]:
    """(files, bytes) under `path`, not descending into directories named `skip`."""
    files = 0
    size = 0
    for dirpath, dirs, names in os.walk(path):
        if skip in dirs:
            dirs.remove(skip)
        for name in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return files, size


def hub_size(path: str) -> int:
    """Bytes of the hub file `path` with its SQLite -wal and -shm files."""
    return sum(os.path.getsize(path + s) for s in ("", "-wal", "-shm") if os.path.exists(path + s))


# --------------------------------------------------------------------------
# The machine, the binary, the work directory


def pkg_commit_label() -> str:
    """`git rev-parse --short HEAD` of this checkout, plus "+dirty" if its tree is dirty."""
    commit = cmd_output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = cmd_output(["git", "-C", ROOT, "status", "--porcelain"])
    return commit + ("+dirty" if dirty else "")


def built_at(pkg: str) -> str:
    """When the binary `pkg` was last written, in UTC."""
    return dt.datetime.fromtimestamp(os.path.getmtime(pkg), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def machine_info(pkg: str, commit: str, after_cores: dict[str, str] | None = None,
                 after_python: dict[str, str] | None = None) -> dict[str, str]:
    """CPU, Cores, `after_cores`, OS, Python, `after_python`, pkg commit
    (`commit`), pkg binary and Date, in that order."""
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
    info.update(after_cores or {})
    info["OS"] = f"{platform.system()} {platform.release()}"
    info["Python"] = platform.python_version()
    info.update(after_python or {})
    info["pkg commit"] = commit
    info["pkg binary"] = f"{os.path.relpath(pkg, ROOT) if pkg.startswith(ROOT) else pkg} ({cmd_output([pkg, '--version']) or '?'})"
    info["Date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return info


def find_pkg(explicit: str | None, prog: str, warn_stale: bool = False) -> str:
    """The pkg binary: `explicit`, else target/release/pkg (built if missing;
    with `warn_stale`, a warning when it is older than src/). `prog` names the
    script in the error."""
    if explicit:
        path = os.path.abspath(explicit)
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{prog}: {path} is not an executable")
        return path
    path = os.path.join(ROOT, "target", "release", "pkg")
    if not os.access(path, os.X_OK):
        log("target/release/pkg is missing: cargo build --release ...")
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    elif warn_stale:
        newest = max(
            (os.path.getmtime(os.path.join(d, n)) for d, _, ns in os.walk(os.path.join(ROOT, "src")) for n in ns),
            default=0.0,
        )
        if newest > os.path.getmtime(path):
            log("WARNING: target/release/pkg is older than src/; run `cargo build --release` for current figures")
    return path


def add_common_args(ap: argparse.ArgumentParser, write_doc_help: str) -> None:
    """--work, --pkg, --pkg-commit, --seed, --write-doc, --note and --keep."""
    ap.add_argument("--work", help="work directory (default: a fresh one under /tmp)")
    ap.add_argument("--pkg", help="the pkg binary (default: target/release/pkg, built if missing)")
    ap.add_argument("--pkg-commit", help="what to report as the pkg commit (default: git HEAD of this checkout)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the synthetic data (default 1)")
    ap.add_argument("--write-doc", action="store_true", help=write_doc_help)
    ap.add_argument("--note", default="", help="a sentence to add to the doc's Machine section")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")


def make_work(ap: argparse.ArgumentParser, explicit: str | None, prefix: str) -> tuple[str, bool]:
    """The work directory: `explicit` (absent or empty), else a fresh one
    under /tmp. Returns it and whether this created it."""
    if explicit:
        work = os.path.abspath(explicit)
        if os.path.exists(work) and os.listdir(work):
            ap.error(f"--work {work} must be absent or empty")
        created = not os.path.exists(work)
        os.makedirs(work, exist_ok=True)
        return work, created
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp"), True


def remove_work(work: str, created: bool, keep: bool) -> None:
    """Removes the work directory (only its contents when it existed before), unless `keep`."""
    if keep:
        log(f"kept {work}")
        return
    log(f"removing {work} ...")
    if created:
        shutil.rmtree(work, ignore_errors=True)
    else:
        for name in os.listdir(work):
            rm(os.path.join(work, name))


def add_size_args(ap: argparse.ArgumentParser, runs_help: str) -> None:
    """--units, --spaces, --runs and --quick of a synthetic hub (see size_defaults)."""
    ap.add_argument("--units", type=int, help="units in the synthetic hub (default 100000)")
    ap.add_argument("--spaces", type=int, help="spaces (default 100)")
    ap.add_argument("--runs", type=int, help=f"{runs_help} (default 3)")
    ap.add_argument("--quick", action="store_true", help="smoke run: --units 2000 --spaces 10 --runs 1")


def size_defaults(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fills in what add_size_args left unset: 100,000 units, 100 spaces and 3
    runs, or 2000, 10 and 1 with --quick; each must be at least 1."""
    defaults = {"units": 2000, "spaces": 10, "runs": 1} if args.quick else {"units": 100_000, "spaces": 100, "runs": 3}
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
        if getattr(args, name) < 1:
            ap.error("--units, --spaces and --runs must be at least 1")


def bench_main(ap: argparse.ArgumentParser, args: argparse.Namespace, prog: str,
               benchmark: Callable[[str, str], Any], report: Callable[[Any], None],
               doc_section: Callable[[Any], str], doc: str, section: str) -> int:
    """The common run of a bench script: finds pkg (see find_pkg), makes the
    work directory, runs `benchmark(work, pkg)` and removes the work directory
    (see remove_work); a BenchError prints `prog: FAILED` and returns 2. Then
    `report(result)` and, with --write-doc, the `section` of `doc`."""
    pkg = find_pkg(args.pkg, prog, warn_stale=True)
    work, created_work = make_work(ap, args.work, f"pkg-{prog.replace('_', '-')}-")
    try:
        res = benchmark(work, pkg)
    except BenchError as e:
        print(f"\n{prog}: FAILED: {e}", file=sys.stderr)
        return 2
    finally:
        remove_work(work, created_work, args.keep)
    report(res)
    if args.write_doc:
        write_marked_section(doc, doc_section(res), section)
    return 0


# --------------------------------------------------------------------------
# Measures and results


@dataclass
class Pair:
    """Timings of one measure: baseline runs and pkg runs. A goal of None
    marks a measure shown for information."""

    name: str
    baseline_label: str
    pkg_label: str
    goal: float | None
    baseline: list[Run] = field(default_factory=list)
    pkg: list[Run] = field(default_factory=list)

    def bmed(self) -> float:
        return statistics.median(r.seconds for r in self.baseline)

    def pmed(self) -> float:
        return statistics.median(r.seconds for r in self.pkg)

    def ratio(self) -> float:
        b = self.bmed()
        return self.pmed() / b if b > 0 else float("inf")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def add_pair_rows(pairs: tuple[Pair, ...], rows: list[list[str]], missed: list[str]) -> None:
    """Appends a table row per pair to `rows`, and each missed goal to `missed`."""
    for pair in pairs:
        ratio = pair.ratio()
        ok = pair.goal is None or ratio <= pair.goal
        rows.append([
            f"{pair.name}: {pair.pkg_label} vs {pair.baseline_label}",
            f"{pair.bmed():.2f} s",
            f"{pair.pmed():.2f} s",
            f"{ratio:.2f}",
            f"<= {pair.goal:g}" if pair.goal is not None else "(information)",
            verdict(ok) if pair.goal is not None else "",
        ])
        if not ok:
            missed.append(f"{pair.name}: ratio {ratio:.2f} > {pair.goal:g}")


HEADER = ["measure", "baseline (median)", "pkg (median)", "ratio", "goal", "result"]


def text_table(rows: list[list[str]], header: list[str] = HEADER) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def rss_row(label: str, baseline: list[Run], pkg: list[Run]) -> list[str]:
    """A table row (HEADER) of both sides' peak RSS, for information: the max over runs."""
    return [f"{label} (max over runs)", f"{max(r.rss_mb for r in baseline):.0f} MB",
            f"{max(r.rss_mb for r in pkg):.0f} MB", "", "(information)", ""]


def run_cells(label: str, runs: list[Run]) -> list[str]:
    """A row of the per-run table: `label`, then each run's cell."""
    return [label] + [r.cell() for r in runs]


def fmt_load(load: tuple[float, ...]) -> str:
    return " ".join(f"{x:.2f}" for x in load) if load else "?"


# --------------------------------------------------------------------------
# Reports


def print_head(title: str, machine: dict[str, str], loadavg: tuple[tuple[float, ...], tuple[float, ...]],
               setup: dict[str, str]) -> None:
    """The start of a report: `title`, the machine, then the setup steps."""
    print()
    print(title)
    print_machine(machine, loadavg)
    print()
    print("Setup (not measured against a baseline):")
    for k, v in setup.items():
        print(f"  {k}: {v}")


def print_machine(machine: dict[str, str], loadavg: tuple[tuple[float, ...], tuple[float, ...]]) -> None:
    for k, v in machine.items():
        print(f"  {k}: {v}")
    print(f"  load average before/after: {fmt_load(loadavg[0])} / {fmt_load(loadavg[1])}")


def print_runs_and_verdicts(note: str, runs: list[list[str]], rows: list[list[str]], missed: list[str],
                            header: list[str] = HEADER) -> None:
    """`note`, the per-run cells (rows from run_cells), then print_verdicts."""
    print()
    print(note)
    width = max(len(r[0]) for r in runs)
    for r in runs:
        print(f"  {r[0]:<{width}} " + "  ".join(r[1:]))
    print()
    print_verdicts(rows, missed, header)


def print_verdicts(rows: list[list[str]], missed: list[str], header: list[str] = HEADER) -> None:
    """The results table, then the missed goals (or that all were met)."""
    print(text_table(rows, header))
    print()
    if missed:
        print("=" * 72)
        print(f"MISSED {len(missed)} goal(s):")
        for m in missed:
            print(f"  MISSED: {m}")
        print("=" * 72)
    else:
        print("All goals met.")


def doc_verdicts(rows: list[list[str]], missed: list[str], header: list[str] = HEADER) -> list[str]:
    """Markdown lines: the results table, then the missed goals (or that all were met)."""
    return [
        md_table(header, rows),
        "",
        "**MISSED:** " + "; ".join(missed) + "." if missed else "All goals met.",
        "",
    ]


def doc_head(title: str, section: str, commands: list[tuple[str, str]]) -> list[str]:
    """Markdown lines opening the marked `section` of scripts/`section`.py:
    its `title`, who writes it, and "How to run" with `commands`, each
    (arguments, comment)."""
    cmds = [f"python3 scripts/{section}.py {args}" for args, _ in commands]
    width = max(len(c) for c in cmds)
    return [
        f"## {title}", "",
        f"This section is written by `scripts/{section}.py --write-doc`, which replaces only the text between the "
        f"`{section}` markers; edit the script, not the figures.", "",
        "### How to run", "",
        "```sh", *(f"{c:<{width}}   # {comment}" for c, (_, comment) in zip(cmds, commands)), "```", "",
    ]


def doc_list(title: str, items: list[str]) -> list[str]:
    """Markdown lines: `title`, then `items` as a bullet list."""
    return [title, "", *(f"* {item}" for item in items), ""]


def doc_runs_table(runs: int, rows: list[list[str]]) -> str:
    """The markdown table of every run's cells (rows from run_cells)."""
    return md_table(["command"] + [f"run {i + 1}" for i in range(runs)], rows)


def doc_machine(machine: dict[str, str], loadavg: tuple[tuple[float, ...], tuple[float, ...]], when: str,
                note: str) -> list[str]:
    """Markdown lines of the Machine section below its heading: the machine,
    the load average before / after `when`, then `note` if any."""
    lines = [f"* {k}: {v}" for k, v in machine.items()]
    lines.append(f"* Load average (1/5/15 min) before / after {when}: "
                 f"{fmt_load(loadavg[0])} / {fmt_load(loadavg[1])}")
    lines.append("")
    if note:
        lines += [note, ""]
    return lines


NOISE = ("* **Noise.** The machine may be shared (other builds can run at the same time on its cores); the load "
         "average above hints at that. Compare the per-run figures to judge the spread.")


# --------------------------------------------------------------------------
# docs/performance.md: sections between markers


def replace_marked_section(text: str, section: str, name: str) -> str:
    """`text` with the text between `<!-- NAME:start -->` and `<!-- NAME:end -->`
    replaced by `section`, or the markers and `section` appended when absent."""
    start_mark, end_mark = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start_mark}\n{section.rstrip()}\n{end_mark}"
    start = text.find(start_mark)
    end = text.find(end_mark, start + len(start_mark)) if start != -1 else -1
    if start != -1 and end != -1:
        return text[:start] + block + text[end + len(end_mark):]
    if start != -1 or end_mark in text:
        raise SystemExit(f"{name}: the document has only one of the {start_mark} / {end_mark} markers; fix it by hand")
    if not text.strip():
        return f"# Performance\n\n{block}\n"
    return text.rstrip("\n") + "\n\n" + block + "\n"


def marked_sections(text: str) -> list[str]:
    """Every `<!-- NAME:start -->` ... `<!-- NAME:end -->` block of `text`,
    markers included, in order: the sections other scripts own."""
    return [m.group(0) for m in re.finditer(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", text, re.S)]


def write_marked_section(doc: str, section: str, name: str) -> None:
    """Replaces (or appends) the `name` section of the file `doc`, keeping the rest."""
    try:
        with open(doc, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    new = replace_marked_section(text, section, name)
    os.makedirs(os.path.dirname(doc), exist_ok=True)
    with open(doc, "w", encoding="utf-8") as f:
        f.write(new)
    log(f"wrote the {name} section of {doc}")
