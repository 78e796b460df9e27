#!/usr/bin/env python3
"""Benchmark `pkg env add`/`list`/`sync` against calling uv directly.

    python3 scripts/bench_env.py [--runs K] [--uv PATH] [--python PATH]
                                 [--work DIR] [--pkg PATH] [--pkg-commit TEXT]
                                 [--note TEXT] [--write-doc] [--keep] [--quick]

Builds, offline with `uv build --wheel` (uv's own `uv_build` backend, so
nothing is downloaded), a small find-links directory of wheels: 20 packages
`benv-*` in three versions each, with dependencies among them (a 1.x needs
the 1.x of its dependencies, a 2.0.0 the 2.x; `benv-core` 2.0.0 needs
`benv-missing`, which no wheel provides, so the resolver has to back every 2.0.0 off to 1.1.0). A
project made with `uv init --bare --vcs none --author-from none
--no-pin-python` depends on `benv-deploy` (16 packages installed). Both sides
then run with `UV_OFFLINE=1 UV_NO_INDEX=1 UV_FIND_LINKS=<wheels>
UV_CACHE_DIR=<one shared, warm cache> UV_PYTHON_DOWNLOADS=never
UV_PYTHON=<python>` and the same uv binary (pkg gets it as `PKG_UV`), and
the script measures, side by side, on a warm cache:

  * add:   `pkg env add P benv-report benv-notify`  vs  `uv add benv-report
           benv-notify` (cwd P) on the synced project (4 new packages);
  * list:  `pkg env list P -o json`  vs  `uv pip list --format json
           --python P/.venv` on the synced project;
  * sync:  `pkg env sync P --frozen`  vs  `uv sync --frozen` (cwd P) with
           .venv deleted (it installs 16 packages from the cache), and with
           .venv current (a no-op sync: where a fixed overhead shows most);
  * for information: `pkg --version` vs `uv --version` (start-up), and
    `pkg env sync P --frozen` with `PKG_UV` set to `true` vs `true sync
    --frozen` (pkg's own fixed cost around a tool that does nothing).

Each run starts from a fresh copy of a prepared project (copied before the
command, not timed) at the same path for both sides. Each measure runs K times
(default 15), alternating which side goes first; the table shows the
medians, overhead = median(pkg) - median(uv) and ratio = median(pkg) /
median(uv). Goal (from the issue): overhead <= max(5% of the uv median,
20 ms). Both sides' stdout and stderr go to the same kind of file. A failed
command or check exits 2; missed goals are reported as FAIL / MISSED but the
exit status stays 0 (it is a report).

`--write-doc` replaces the section between `<!-- bench_env:start -->` and
`<!-- bench_env:end -->` in docs/performance.md (appending it when absent).
`--quick` is short for `--runs 3`.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing the sibling

import benchlib  # noqa: E402  (a sibling: what the bench scripts share)
from benchlib import GNU_TIME, Run, cmd_output, find_pkg, log, rm, run_pair  # noqa: E402

DOC = os.path.join(ROOT, "docs", "performance.md")
SECTION = "bench_env"

# Goal from the issue: overhead <= max(5% of uv's time, 20 ms).
GOAL_FRACTION = 0.05
GOAL_FLOOR_S = 0.020

# The wheels: name -> dependencies (all in the find-links directory).
PACKAGES: dict[str, list[str]] = {
    "benv-core": [],
    "benv-log": ["benv-core"],
    "benv-util": ["benv-core"],
    "benv-config": ["benv-util", "benv-log"],
    "benv-json": ["benv-util"],
    "benv-yaml": ["benv-util"],
    "benv-crypto": ["benv-core"],
    "benv-retry": ["benv-log"],
    "benv-cache": ["benv-util", "benv-log"],
    "benv-http": ["benv-json", "benv-retry", "benv-crypto"],
    "benv-auth": ["benv-http", "benv-crypto"],
    "benv-db": ["benv-config", "benv-cache"],
    "benv-metrics": ["benv-http", "benv-log"],
    "benv-template": ["benv-yaml", "benv-json"],
    "benv-cli": ["benv-config", "benv-log"],
    "benv-deploy": ["benv-auth", "benv-db", "benv-metrics", "benv-template", "benv-cli"],
    # Only the add measure brings these in.
    "benv-mail": ["benv-template", "benv-http"],
    "benv-charts": ["benv-json", "benv-metrics"],
    "benv-report": ["benv-charts", "benv-db"],
    "benv-notify": ["benv-mail", "benv-auth"],
}
VERSIONS = ("1.0.0", "1.1.0", "2.0.0")
# The project's one direct dependency, and what the add measure adds.
BASE_DEP = "benv-deploy"
ADDED = ["benv-report", "benv-notify"]
PROJECT = "bench-app"
# benv-core 2.0.0 needs it, and no wheel provides it.
MISSING = "benv-missing"


def closure(roots: list[str]) -> set[str]:
    out: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo += PACKAGES[name]
    return out


BASE_SET = closure([BASE_DEP])
ADDED_SET = closure([BASE_DEP, *ADDED])


# --------------------------------------------------------------------------
# Running commands


BenchError, fail, failed = benchlib.BenchError, benchlib.fail, benchlib.failed


def run(cmd: list[str], env: dict[str, str], cwd: str | None = None, check: bool = True) -> Run:
    """benchlib.run of `cmd` in exactly `env` (after `sync()`, not timed); a
    failed command raises BenchError."""
    return benchlib.run(cmd, env, check, True, cwd, rss_prefix="pkg-bench-env-rss-", on_fail=failed)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def cell(r: Run) -> str:
    """Wall-clock milliseconds (GNU time's CPU figures, in 10 ms steps, say
    little at this scale)."""
    return f"{r.seconds * 1000:.0f}"


def is_script(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def find_uv(explicit: str | None) -> str:
    """The real uv binary: `explicit`, else the first `uv` on PATH; a shell
    shim there (pyenv's) is resolved with `pyenv which uv`, since its own
    start-up would be timed on both sides."""
    if explicit:
        path = os.path.abspath(explicit)
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench_env: {path} is not an executable")
        return path
    found = shutil.which("uv")
    if not found:
        raise SystemExit("bench_env: uv is not on PATH; pass --uv PATH")
    if is_script(found) and shutil.which("pyenv"):
        real = cmd_output(["pyenv", "which", "uv"])
        if real and os.access(real, os.X_OK) and not is_script(real):
            return real
    if is_script(found):
        log(f"WARNING: {found} is a script (a shim?); its start-up is timed on both sides. Pass --uv PATH.")
    return os.path.realpath(found)


def find_python(explicit: str | None) -> str:
    path = explicit or sys.executable
    if not os.access(path, os.X_OK):
        raise SystemExit(f"bench_env: {path} is not an executable")
    return os.path.abspath(path)


# --------------------------------------------------------------------------
# The wheels and the projects


def write_source(src: str, name: str, version: str) -> None:
    """A tiny uv_build project: `name` at `version`, two modules."""
    module = name.replace("-", "_")
    deps = PACKAGES[name]
    if version.startswith("2."):
        reqs = [f"{d}>=2" for d in deps]
    else:
        reqs = [f"{d}>={version.rsplit('.', 1)[0]},<2" for d in deps]
    if name == "benv-core" and version.startswith("2."):
        reqs.append(f"{MISSING}>=1")
    os.makedirs(os.path.join(src, "src", module))
    with open(os.path.join(src, "pyproject.toml"), "w", encoding="utf-8") as f:
        f.write(
            "[project]\n"
            f'name = "{name}"\n'
            f'version = "{version}"\n'
            f'description = "A tiny package of the pkg env benchmark"\n'
            'requires-python = ">=3.8"\n'
            f"dependencies = {json.dumps(reqs)}\n"
            "\n[build-system]\n"
            'requires = ["uv_build>=0.13,<0.14"]\n'
            'build-backend = "uv_build"\n'
        )
    imports = "".join(f"import {d.replace('-', '_')}  # noqa: F401\n" for d in deps)
    with open(os.path.join(src, "src", module, "__init__.py"), "w", encoding="utf-8") as f:
        f.write(f'"""{name} {version}."""\n\n{imports}\n__version__ = "{version}"\n\n'
                "def hello(who: str) -> str:\n"
                f'    return f"{name} says hello to {{who}}"\n')
    with open(os.path.join(src, "src", module, "data.py"), "w", encoding="utf-8") as f:
        f.write("TABLE = {\n" + "".join(f"    {i}: {i * i},\n" for i in range(64)) + "}\n")


def build_wheels(work: str, uv: str, env: dict[str, str], wheels: str) -> int:
    """Builds every package version into `wheels`; returns how many."""
    os.makedirs(wheels)
    for name in PACKAGES:
        for version in VERSIONS:
            src = os.path.join(work, "src", f"{name}-{version}")
            write_source(src, name, version)
            run([uv, "build", "--wheel", "-o", wheels, src], env)
    built = [n for n in os.listdir(wheels) if n.endswith(".whl")]
    if len(built) != len(PACKAGES) * len(VERSIONS):
        fail(f"{wheels} holds {len(built)} wheels, expected {len(PACKAGES) * len(VERSIONS)}")
    return len(built)


def copy_tree(src: str, dst: str) -> None:
    """`dst` becomes an exact copy of `src` (symlinks kept, times kept)."""
    rm(dst)
    shutil.copytree(src, dst, symlinks=True)


def site_packages(project: str) -> str:
    lib = os.path.join(project, ".venv", "lib")
    if not os.path.isdir(lib):
        return ""
    for name in os.listdir(lib):
        sp = os.path.join(lib, name, "site-packages")
        if os.path.isdir(sp):
            return sp
    return ""


def installed(project: str) -> set[str]:
    """The distributions in the project's .venv (from the *.dist-info names)."""
    sp = site_packages(project)
    if not sp:
        return set()
    return {n.split("-")[0].replace("_", "-").lower() for n in os.listdir(sp) if n.endswith(".dist-info")}


def dependencies(project: str) -> str:
    with open(os.path.join(project, "pyproject.toml"), encoding="utf-8") as f:
        return f.read()


# --------------------------------------------------------------------------
# Measures


@dataclass
class Measure:
    """One side-by-side measure: uv runs and pkg runs. `goal` False marks a
    measure shown for information."""

    name: str
    uv_label: str
    pkg_label: str
    goal: bool = True
    uv: list[Run] = field(default_factory=list)
    pkg: list[Run] = field(default_factory=list)

    def umed(self) -> float:
        return statistics.median(r.seconds for r in self.uv)

    def pmed(self) -> float:
        return statistics.median(r.seconds for r in self.pkg)

    def overhead(self) -> float:
        return self.pmed() - self.umed()

    def allowed(self) -> float:
        return max(GOAL_FRACTION * self.umed(), GOAL_FLOOR_S)

    def ok(self) -> bool:
        return not self.goal or self.overhead() <= self.allowed()


HEADER = ["measure", "uv (median)", "pkg (median)", "overhead", "ratio", "goal", "result"]


@dataclass
class Results:
    args: argparse.Namespace
    machine: dict[str, str]
    uv: str
    python: str
    measures: list[Measure] = field(default_factory=list)
    setup: dict[str, str] = field(default_factory=dict)
    loadavg: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    rows: list[list[str]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)


def measure(m: Measure, runs: int, fresh: Callable[[], None], uv_cmd: list[str], uv_cwd: str | None,
            pkg_cmd: list[str], uenv: dict[str, str], penv: dict[str, str],
            check: Callable[[str, Run], None] | None = None) -> Measure:
    """Runs one untimed warm-up of each side, then `runs` alternating pairs;
    `fresh()` restores the project before every command (not timed) and
    `check(side, run)` checks the outcome after it (not timed)."""

    def side(name: str, cmd: list[str], env: dict[str, str], cwd: str | None) -> Run:
        fresh()
        r = run(cmd, env, cwd=cwd)
        if check:
            check(name, r)
        return r

    def uv_side() -> Run:
        return side("uv", uv_cmd, uenv, uv_cwd)

    def pkg_side() -> Run:
        return side("pkg", pkg_cmd, penv, None)

    uv_side()
    pkg_side()
    for i in range(runs):
        u, p = run_pair(i, uv_side, pkg_side)
        m.uv.append(u)
        m.pkg.append(p)
        log(f"  {m.name} run {i + 1}/{runs}: uv {cell(u)} ms | pkg {cell(p)} ms")
    log(f"  {m.name}: uv median {ms(m.umed())}, pkg median {ms(m.pmed())}, overhead {m.overhead() * 1000:+.1f} ms")
    return m


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """Ours without any PKG_*, UV_*, XDG_*, PYTHON* or virtualenv/conda
    variable (they could point uv or pkg elsewhere), plus `extra`."""
    drop = ("PKG_", "UV_", "XDG_", "PYTHON", "VIRTUAL_ENV", "CONDA_", "PIP_", "PIXI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def benchmark(args: argparse.Namespace, work: str, pkg: str, uv: str, python: str) -> Results:
    machine = benchlib.machine_info(
        pkg, f"{args.pkg_commit or benchlib.pkg_commit_label()} (the binary was built {benchlib.built_at(pkg)})",
        after_python={"uv": f"{cmd_output([uv, '--version']) or '?'} ({uv})",
                      "Python of the environments": f"{cmd_output([python, '--version']) or '?'} ({python})"},
    )
    res = Results(args, machine, uv, python)
    dirs = {k: os.path.join(work, k) for k in ("home", "config", "cache-xdg", "data", "state", "tmp")}
    for d in dirs.values():
        os.makedirs(d)
    wheels = os.path.join(work, "wheels")
    cache = os.path.join(work, "uv-cache")
    base = clean_env({
        "HOME": dirs["home"],
        "XDG_CONFIG_HOME": dirs["config"],
        "XDG_CONFIG_DIRS": dirs["config"],
        "XDG_CACHE_HOME": dirs["cache-xdg"],
        "XDG_DATA_HOME": dirs["data"],
        "XDG_STATE_HOME": dirs["state"],
        "TMPDIR": dirs["tmp"],
        "PKG_HUB": os.path.join(work, "hub.db"),
        "UV_OFFLINE": "1",
        "UV_NO_INDEX": "1",
        "UV_CACHE_DIR": cache,
        "UV_PYTHON_DOWNLOADS": "never",
    })
    # Building the wheels sees no find-links (nothing to find); the measures do.
    t0 = time.perf_counter()
    n = build_wheels(work, uv, base, wheels)
    res.setup[f"uv build --wheel of {n} wheels ({len(PACKAGES)} packages x {len(VERSIONS)} versions)"] = \
        f"{time.perf_counter() - t0:.1f} s"
    uenv = dict(base, UV_FIND_LINKS=wheels, UV_PYTHON=python)
    penv = dict(uenv, PKG_UV=uv)

    # The project, at one path for every command of both sides.
    proj = os.path.join(work, "run", "app")
    os.makedirs(proj)
    t0 = time.perf_counter()
    run([uv, "init", "--bare", "--vcs", "none", "--author-from", "none", "--no-pin-python", "--name", PROJECT, "."],
        uenv, cwd=proj)
    run([uv, "add", BASE_DEP], uenv, cwd=proj)  # resolves, fills the cache, creates and syncs .venv
    res.setup[f"uv init + uv add {BASE_DEP} (cold cache: resolve, unpack, install)"] = \
        f"{time.perf_counter() - t0:.2f} s"
    if installed(proj) != BASE_SET:
        fail(f"the synced project holds {sorted(installed(proj))}, expected {sorted(BASE_SET)}")
    with open(os.path.join(proj, "uv.lock"), encoding="utf-8") as f:
        lock = f.read()
    if '"2.0.0"' in lock or 'version = "1.1.0"' not in lock:
        fail("uv.lock should pin every benv-* package at 1.1.0 (the resolver backs off 2.0.0)")
    synced = os.path.join(work, "templates", "synced")
    novenv = os.path.join(work, "templates", "novenv")
    copy_tree(proj, synced)
    copy_tree(proj, novenv)
    rm(os.path.join(novenv, ".venv"))
    res.setup["project"] = (f"`{PROJECT}` depending on `{BASE_DEP}`: {len(BASE_SET)} packages installed, "
                            f"uv.lock {os.path.getsize(os.path.join(synced, 'uv.lock')):,} bytes; the uv cache: "
                            "{:,} files, {:,} bytes".format(*benchlib.tree_size(cache)))

    def fresh_from(template: str) -> Callable[[], None]:
        return lambda: copy_tree(template, proj)

    def check_add(side: str, r: Run) -> None:
        text = dependencies(proj)
        if not all(a in text for a in ADDED) or installed(proj) != ADDED_SET:
            fail(f"{side}: after the add the project lists / holds {sorted(installed(proj))}, "
                 f"expected {sorted(ADDED_SET)}\n{r.stderr[-2000:]}")

    def check_list(side: str, r: Run) -> None:
        try:
            names = {p["name"] for p in json.loads(r.stdout)}
        except (ValueError, KeyError, TypeError) as e:
            fail(f"{side}: the list is not the expected JSON ({e}): {r.stdout[:500]}")
        if names != BASE_SET:
            fail(f"{side}: the list names {sorted(names)}, expected {sorted(BASE_SET)}")

    def check_synced(side: str, r: Run) -> None:
        if installed(proj) != BASE_SET:
            fail(f"{side}: after the sync .venv holds {sorted(installed(proj))}, expected {sorted(BASE_SET)}")

    def check_noop(side: str, r: Run) -> None:
        check_synced(side, r)
        if "Installed" in r.stderr or "Uninstalled" in r.stderr:
            fail(f"{side}: the no-op sync installed something:\n{r.stderr[-2000:]}")

    runs = args.runs
    load_before = os.getloadavg()
    log(f"measuring, {runs} run(s) per measure (plus one untimed warm-up of each side) ...")
    res.measures.append(measure(
        Measure("add 2 packages (4 new, 20 resolved)", f"uv add {' '.join(ADDED)}",
                f"pkg env add P {' '.join(ADDED)}"),
        runs, fresh_from(synced), [uv, "add", *ADDED], proj, [pkg, "env", "add", proj, *ADDED], uenv, penv,
        check_add))
    res.measures.append(measure(
        Measure(f"list ({len(BASE_SET)} packages)", "uv pip list --format json --python P/.venv",
                "pkg env list P -o json"),
        runs, fresh_from(synced), [uv, "pip", "list", "--format", "json", "--python", os.path.join(proj, ".venv")],
        proj, [pkg, "env", "list", proj, "-o", "json"], uenv, penv, check_list))
    res.measures.append(measure(
        Measure(f"sync, no .venv (installs {len(BASE_SET)} from the cache)", "uv sync --frozen",
                "pkg env sync P --frozen"),
        runs, fresh_from(novenv), [uv, "sync", "--frozen"], proj, [pkg, "env", "sync", proj, "--frozen"],
        uenv, penv, check_synced))
    res.measures.append(measure(
        Measure("sync, .venv current (no-op)", "uv sync --frozen", "pkg env sync P --frozen"),
        runs, fresh_from(synced), [uv, "sync", "--frozen"], proj, [pkg, "env", "sync", proj, "--frozen"],
        uenv, penv, check_noop))
    # For information: start-up, and pkg's fixed cost around a tool that does nothing.
    res.measures.append(measure(
        Measure("start-up", "uv --version", "pkg --version", goal=False),
        runs, lambda: None, [uv, "--version"], None, [pkg, "--version"], uenv, penv))
    true = shutil.which("true") or "/bin/true"
    res.measures.append(measure(
        Measure("fixed cost around a no-op tool", f"{true} sync --frozen",
                f"pkg env sync P --frozen with PKG_UV={true}", goal=False),
        runs, fresh_from(synced), [true, "sync", "--frozen"], proj, [pkg, "env", "sync", proj, "--frozen"],
        uenv, dict(penv, PKG_UV=true)))
    res.loadavg = (load_before, os.getloadavg())
    build_rows(res)
    return res


def build_rows(res: Results) -> None:
    for m in res.measures:
        u, p = m.umed(), m.pmed()
        res.rows.append([
            f"{m.name}: {m.pkg_label} vs {m.uv_label}",
            ms(u),
            ms(p),
            f"{m.overhead() * 1000:+.1f} ms",
            f"{p / u:.2f}" if u > 0 else "inf",
            f"<= {m.allowed() * 1000:.0f} ms" if m.goal else "(information)",
            benchlib.verdict(m.ok()) if m.goal else "",
        ])
        if not m.ok():
            res.missed.append(f"{m.name}: overhead {m.overhead() * 1000:.0f} ms > {m.allowed() * 1000:.0f} ms")


def runs_rows(res: Results) -> list[list[str]]:
    rows = []
    for m in res.measures:
        rows.append([f"{m.name}: uv"] + [cell(r) for r in m.uv])
        rows.append([f"{m.name}: pkg"] + [cell(r) for r in m.pkg])
    return rows


# --------------------------------------------------------------------------
# Reports


def print_report(res: Results) -> None:
    a = res.args
    print()
    print(f"pkg env benchmark (uv backend): {a.runs} run(s) per measure, warm cache")
    benchlib.print_machine(res.machine, res.loadavg)
    print()
    print("Setup (not timed against anything):")
    for k, v in res.setup.items():
        print(f"  {k}: {v}")
    print()
    print("Milliseconds per run (wall clock). Odd runs ran uv first, even runs pkg first.")
    for r in runs_rows(res):
        print(f"  {r[0]:<58} " + "  ".join(r[1:]))
    print()
    benchlib.print_verdicts(res.rows, res.missed, HEADER)


def doc_section(res: Results) -> str:
    a = res.args
    lines: list[str] = []
    add = lines.append
    add("## Python environments (scripts/bench_env.py)")
    add("")
    add("This section is written by `scripts/bench_env.py --write-doc`, which replaces only the text between the "
        "`bench_env` markers; edit the script, not the figures.")
    add("")
    add("### How to run")
    add("")
    add("```sh")
    add("python3 scripts/bench_env.py --write-doc   # full run: 15 runs per measure (about a minute)")
    add("python3 scripts/bench_env.py --quick       # smoke run: --runs 3")
    add("```")
    add("")
    add("Options: `--runs K`, `--uv PATH` (default: the first `uv` on PATH; a pyenv shim is resolved to the real "
        "binary), `--python PATH` (the interpreter of the environments, default the one running the script), "
        "`--work DIR` (default: a fresh directory under /tmp, removed at the end unless `--keep`), `--pkg PATH` "
        "(default `target/release/pkg`, built if missing; with `--pkg-commit TEXT`), `--note TEXT`. Needs uv "
        "0.13 (its `uv_build` backend builds the wheels offline); no network. Python 3.11 standard library only.")
    add("")
    add("### Goal")
    add("")
    add(f"The overhead of `pkg env add`/`list`/`sync` over calling uv directly for the same operation, measured side "
        f"by side on a warm cache, is at most {GOAL_FRACTION:.0%} of uv's time or {GOAL_FLOOR_S * 1000:.0f} ms, "
        "whichever is larger (overhead = median(pkg) - median(uv)).")
    add("")
    add(f"### Latest results ({a.runs} run(s) per measure)")
    add("")
    if a.runs < 15:
        add(f"**Note: this is a reduced run ({a.runs} runs per measure), not the 15-run benchmark.**")
        add("")
    lines += benchlib.doc_verdicts(res.rows, res.missed, HEADER)
    add("Milliseconds per run, wall clock. Runs 1, 3, ... ran uv first and runs 2, 4, ... pkg first.")
    add("")
    add(benchlib.doc_runs_table(a.runs, runs_rows(res)))
    add("")
    add("Setup (timed once, not compared with anything):")
    add("")
    for k, v in res.setup.items():
        add(f"* {k}: {v}")
    add("")
    add("### Machine")
    add("")
    lines += benchlib.doc_machine(res.machine, res.loadavg, "the measured runs", a.note)
    add("### Method")
    add("")
    add(f"* **Wheels.** {len(PACKAGES)} tiny packages `benv-*` (two modules each) in versions "
        f"{', '.join(VERSIONS)}, built with `uv build --wheel` (build backend `uv_build>=0.13,<0.14`, which uv "
        "runs itself, offline) into one find-links directory. A 1.x needs `>=1.x,<2` of its dependencies and a "
        f"2.0.0 needs `>=2` of them; `benv-core` 2.0.0 needs `{MISSING}`, which no wheel provides, so every "
        "resolution has to back the "
        "2.0.0s off to 1.1.0.")
    add(f"* **Project.** `uv init --bare --vcs none --author-from none --no-pin-python --name {PROJECT}` and "
        f"`uv add {BASE_DEP}` (untimed) give a project with uv.lock and a .venv of {len(BASE_SET)} packages; it "
        "is saved as two templates, with and without .venv. Before every timed command (both sides) the project "
        "directory is replaced by a copy of the template the measure needs, at the same path, outside the "
        "timing; after it the script checks the outcome (the added requirements and installed packages, the "
        "listed names, the synced .venv, that the no-op sync installed nothing).")
    add("* **Environment.** Both sides: `UV_OFFLINE=1 UV_NO_INDEX=1 UV_FIND_LINKS=<wheels> UV_CACHE_DIR=<one "
        "shared cache> UV_PYTHON_DOWNLOADS=never UV_PYTHON=<python>`, `HOME`, `XDG_*` and `TMPDIR` inside the "
        "work dir, `PKG_HUB` a file there, no other `PKG_*`/`UV_*` variables; pkg gets the same uv binary as "
        "`PKG_UV`. The cache is warm: the project's setup fills it, and every measure starts with one untimed "
        "run of each side.")
    add("* **Commands.** uv runs with the project as its working directory; pkg runs from the work dir with the "
        "project's absolute path. pkg's default behaviour is measured (no `-q`): it streams uv's output to its "
        "stderr line by line with a `[uv]` prefix. Both sides' stdout and stderr go to temporary files.")
    add("* **For information.** `pkg --version` vs `uv --version` is each binary's start-up; `pkg env sync P "
        "--frozen` with `PKG_UV` set to `true` (coreutils) vs `true sync --frozen` is pkg's own fixed cost around "
        "a tool: "
        "start-up, argument parsing, backend detection (reading pyproject.toml), the `.pkg-env.lock` lock, "
        "spawning the tool with pipes and reader threads, and noticing that it exited.")
    add("* **Time.** Wall-clock time (monotonic clock) around the whole command, under "
        + ("`/usr/bin/time -f '%M %U %S'`" if GNU_TIME else "a small Python helper")
        + " on both sides, after `sync()` (not timed). Each measure runs K times alternating which side goes "
        "first; the table shows the medians, their difference and their ratio.")
    add(benchlib.NOISE)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, help="runs per measure (default 15)")
    ap.add_argument("--quick", action="store_true", help="smoke run: --runs 3")
    ap.add_argument("--uv", help="the uv binary (default: the first uv on PATH, a pyenv shim resolved)")
    ap.add_argument("--python", help="the Python of the environments (default: the one running this script)")
    ap.add_argument("--work", help="work directory (default: a fresh one under /tmp)")
    ap.add_argument("--pkg", help="the pkg binary (default: target/release/pkg, built if missing)")
    ap.add_argument("--pkg-commit", help="what to report as the pkg commit (default: git HEAD of this checkout)")
    ap.add_argument("--write-doc", action="store_true", help="replace the bench_env section of docs/performance.md")
    ap.add_argument("--note", default="", help="a sentence to add to the doc's Machine section")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    args.runs = (3 if args.quick else 15) if args.runs is None else args.runs
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    uv = find_uv(args.uv)
    python = find_python(args.python)
    pkg = find_pkg(args.pkg, "bench_env", warn_stale=True)
    work, created_work = benchlib.make_work(ap, args.work, "pkg-bench-env-")
    try:
        res = benchmark(args, work, pkg, uv, python)
    except BenchError as e:
        print(f"\nbench_env: FAILED: {e}", file=sys.stderr)
        return 2
    finally:
        benchlib.remove_work(work, created_work, args.keep)
    print_report(res)
    if args.write_doc:
        benchlib.write_marked_section(DOC, doc_section(res), SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
