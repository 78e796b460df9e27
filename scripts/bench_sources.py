#!/usr/bin/env python3
"""Benchmark package sources: the merged index, its cache, and dependency resolution.

    python3 scripts/bench_sources.py [--versions N] [--dir-packages N] [--graph-names N]
                                     [--graph-versions N] [--runs K] [--work DIR] [--pkg PATH]
                                     [--note TEXT] [--write-doc] [--keep] [--quick]

Setup (untimed): tiny packages (a manifest with digests and one space) are
generated in Python: DIR-PACKAGES directories for a directory source, and
the rest of VERSIONS (half each) published to two `pkg serve` registries
(SQLite) over HTTP. A third registry holds the resolution graph:
GRAPH-NAMES names with GRAPH-VERSIONS versions each, where g_i needs
g_{i+1} and g_{i+2} (`^1`) and each name's newest version needs a `^2`
nobody has, so the resolver must back off every name once.

Measures, each K times:
  1. Memory: peak RSS of `pkg index -o json` over the three sources with
     empty caches (VERSIONS versions merged). Goal: < 60 MB.
  2. Cache: `pkg search QUERY` with empty caches (cold: two registry
     indexes fetched, every directory package read) against the same search
     right after (warm: the cached indexes, the directory's remembered
     packages). Goal: warm <= 0.1x cold (medians).
  3. Resolution: `pkg tree g000` (warm index) against `pkg load g000`
     (the same resolution, then fetching the GRAPH-NAMES packages from the
     registry and loading them in one transaction) into a fresh hub.
     Goal: tree <= 0.1x load (medians).

A failed step exits 2; missed goals are reported, the exit status stays 0.
Every server started is stopped on every exit path.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import json
import os
import shutil
import statistics
import sys
import tarfile
import time
from dataclasses import dataclass, field

import benchlib
from benchlib import BenchError, Run, fail, log, verdict
from bench_serve import Procs, Server, clean_env, request, sh

SECTION = "bench_sources"
DOC = os.path.join(benchlib.ROOT, "docs", "performance.md")
GOAL_RSS_MB = 60
GOAL_WARM = 0.1
GOAL_RESOLVE = 0.1
QUERY = "team-00"


def run(cmd: list[str], env: dict[str, str]) -> Run:
    return benchlib.run(cmd, env, rss_prefix="pkg-bench-sources-rss-", on_fail=benchlib.failed)


def package_files(name: str, version: str, deps: dict[str, str]) -> dict[str, bytes]:
    """A tiny valid package: a manifest with digests and one space."""
    space = json.dumps({"Slug": f"s-{name}", "Labels": {"bench": "sources"}}, indent=2).encode() + b"\n"
    loc = f"/spaces/s-{name}.json"
    manifest = {
        "format": 1,
        "name": name,
        "version": version,
        "description": f"Synthetic package {name}",
        "dependencies": deps,
        "spaces": [{"slug": f"s-{name}", "details_loc": loc}],
        "digests": {loc: "sha256:" + hashlib.sha256(space).hexdigest()},
    }
    return {"manifest.json": json.dumps(manifest, indent=2).encode() + b"\n", loc[1:]: space}


def tar_gz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_dir(root: str, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)


def publish_all(server: Server, token: str, archives: list[bytes]) -> None:
    def one(body: bytes) -> int:
        status, reply, _ = request(server.url, "POST", "/api/v1/packages", body=body, token=token)
        if status not in (200, 201):
            raise BenchError(f"publish answered {status}: {reply[:300]!r}")
        return status

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, archives))


@dataclass
class Results:
    args: argparse.Namespace
    machine: dict[str, str]
    setup: dict[str, str] = field(default_factory=dict)
    index_runs: list[Run] = field(default_factory=list)
    cold: list[Run] = field(default_factory=list)
    warm: list[Run] = field(default_factory=list)
    tree: list[Run] = field(default_factory=list)
    load: list[Run] = field(default_factory=list)
    listed: int = 0
    loadavg: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())


def benchmark(work: str, pkg: str, args: argparse.Namespace) -> Results:
    res = Results(args=args, machine=benchlib.machine_info(pkg, args.pkg_commit or benchlib.pkg_commit_label()))
    env = clean_env(work, {"PKG_CACHE_DIR": os.path.join(work, "cache")})
    procs = Procs()
    try:
        t0 = time.perf_counter()
        registry_versions = max(0, args.versions - args.dir_packages)
        per_name = 20
        vetted = os.path.join(work, "vetted")
        for i in range(args.dir_packages):
            name = f"local-{i // per_name:04d}"
            write_dir(os.path.join(vetted, f"{name}-{i % per_name}"),
                      package_files(name, f"1.{i % per_name}.0", {}))
        res.setup["directory source"] = f"{args.dir_packages:,} package directories"
        servers = []
        for label, count in (("team", registry_versions // 2), ("mirror", registry_versions - registry_versions // 2)):
            d = os.path.join(work, label)
            store = f"sqlite:{os.path.join(d, 'server.db')}"
            server = Server(procs, pkg, store, d, env)
            token = sh([pkg, "serve", "token", "create", "--store", store, "--level", "6", "--name", "bench",
                        "-o", "json"], env)
            token = json.loads(token)["token"]
            archives = [tar_gz(package_files(f"{label}-{i // per_name:04d}", f"1.{i % per_name}.0", {}))
                        for i in range(count)]
            log(f"[setup] publishing {count:,} versions to {label} ...")
            publish_all(server, token, archives)
            servers.append((label, server, token))
        # The resolution graph, in its own registry.
        d = os.path.join(work, "graph")
        store = f"sqlite:{os.path.join(d, 'server.db')}"
        graph = Server(procs, pkg, store, d, env)
        graph_token = json.loads(sh([pkg, "serve", "token", "create", "--store", store, "--level", "6", "--name",
                                     "bench", "-o", "json"], env))["token"]
        archives = []
        for i in range(args.graph_names):
            for v in range(args.graph_versions):
                newest = v == args.graph_versions - 1
                deps = {f"g{j:03d}": ("^2" if newest else "^1") for j in (i + 1, i + 2) if j < args.graph_names}
                archives.append(tar_gz(package_files(f"g{i:03d}", f"1.{v}.0", deps)))
        log(f"[setup] publishing the graph: {len(archives):,} versions ...")
        publish_all(graph, graph_token, archives)
        res.setup["publishing"] = f"{time.perf_counter() - t0:.1f} s"

        index_env = {**env, "PKG_CONFIG": os.path.join(work, "index.toml")}
        sh([pkg, "source", "add", "vetted", vetted, "--priority", "10"], index_env)
        for label, server, token in servers:
            index_env[f"TOKEN_{label.upper()}"] = token
            sh([pkg, "source", "add", label, server.url, "--token-env", f"TOKEN_{label.upper()}"], index_env)
        graph_env = {**env, "PKG_CONFIG": os.path.join(work, "graph.toml"), "TOKEN_GRAPH": graph_token}
        sh([pkg, "source", "add", "graph", graph.url, "--token-env", "TOKEN_GRAPH"], graph_env)

        res.loadavg = (os.getloadavg(), ())
        for i in range(1, args.runs + 1):
            log(f"[run {i}] pkg index over 3 sources, empty caches ...")
            shutil.rmtree(env["PKG_CACHE_DIR"], ignore_errors=True)
            r = run([pkg, "index", "-o", "json"], index_env)
            res.listed = len(json.loads(r.stdout))
            if res.listed != args.versions:
                fail(f"the merged index lists {res.listed} versions, not {args.versions}")
            res.index_runs.append(r)
            log(f"  {r.cell()} s, peak RSS {r.rss_mb:.1f} MB, {res.listed:,} versions")
            shutil.rmtree(env["PKG_CACHE_DIR"], ignore_errors=True)
            cold = run([pkg, "search", QUERY], index_env)
            warm = run([pkg, "search", QUERY], index_env)
            if cold.stdout != warm.stdout or QUERY not in warm.stdout:
                fail(f"the warm search printed something else than the cold one:\n{cold.stdout}\n{warm.stdout}")
            res.cold.append(cold)
            res.warm.append(warm)
            log(f"  search: cold {cold.cell()} s, warm {warm.cell()} s")
            run([pkg, "tree", "g000"], graph_env)  # fills the cache (untimed here)
            tree = run([pkg, "tree", "g000"], graph_env)
            if tree.stdout.count("\n") < args.graph_names or f"1.{args.graph_versions - 2}.0" not in tree.stdout:
                fail(f"pkg tree g000 did not resolve the graph:\n{tree.stdout[:2000]}")
            hub = os.path.join(work, f"hub-{i}.db")
            load = run([pkg, "--hub", hub, "load", "g000", "-q"], graph_env)
            res.tree.append(tree)
            res.load.append(load)
            log(f"  resolution: tree {tree.cell()} s, load {load.cell()} s")
        res.loadavg = (res.loadavg[0], os.getloadavg())
    finally:
        procs.stop_all()
    return res


def median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def verdict_rows(res: Results) -> tuple[list[list[str]], list[str]]:
    rows: list[list[str]] = []
    missed: list[str] = []
    peak = max(r.rss_mb for r in res.index_runs)
    ok = peak < GOAL_RSS_MB
    rows.append([f"merged index of 3 sources, {res.listed:,} versions: peak RSS of pkg index (max)", "",
                 f"{peak:.1f} MB", "", f"< {GOAL_RSS_MB} MB", verdict(ok)])
    if not ok:
        missed.append(f"pkg index peaked at {peak:.1f} MB (goal < {GOAL_RSS_MB} MB)")
    cold, warm = median(res.cold), median(res.warm)
    ratio = warm / cold if cold else 0.0
    ok = ratio <= GOAL_WARM
    rows.append([f"pkg search {QUERY}: warm (cached) vs cold (median)", f"{cold:.3f} s", f"{warm:.3f} s",
                 f"{ratio:.2f}", f"<= {GOAL_WARM}", verdict(ok)])
    if not ok:
        missed.append(f"the warm search took {ratio:.2f}x the cold one (goal <= {GOAL_WARM})")
    tree, load = median(res.tree), median(res.load)
    ratio = tree / load if load else 0.0
    ok = ratio <= GOAL_RESOLVE
    rows.append([f"resolve {res.args.graph_names} packages x {res.args.graph_versions} versions: pkg tree vs "
                 "pkg load of the graph (median)", f"{load:.3f} s", f"{tree:.3f} s", f"{ratio:.2f}",
                 f"<= {GOAL_RESOLVE}", verdict(ok)])
    if not ok:
        missed.append(f"resolving took {ratio:.2f}x the load (goal <= {GOAL_RESOLVE})")
    return rows, missed


def report(res: Results) -> None:
    rows, missed = verdict_rows(res)
    print()
    for k, v in res.setup.items():
        print(f"  {k}: {v}")
    for label, runs in (("index", res.index_runs), ("cold search", res.cold), ("warm search", res.warm),
                        ("tree", res.tree), ("load", res.load)):
        print(f"  {label}: " + ", ".join(f"{r.cell()} s / {r.rss_mb:.0f} MB" for r in runs))
    print()
    benchlib.print_verdicts(rows, missed)


def doc_section(res: Results) -> str:
    a = res.args
    rows, missed = verdict_rows(res)
    lines = benchlib.doc_head("Package sources (scripts/bench_sources.py)", SECTION, [
        ("--write-doc", f"full run: {a.versions:,} versions, a graph of {a.graph_names} x {a.graph_versions}"),
        ("--quick", "smoke run: --versions 2000 --dir-packages 200 --graph-names 20 --graph-versions 5 --runs 1"),
    ])
    lines += benchlib.doc_list("### Goals", [
        f"the merged index of 3 sources (a directory of {a.dir_packages:,} packages and two registries) holding "
        f"{a.versions:,} package versions: `pkg index` peaks below {GOAL_RSS_MB} MB;",
        f"a warm (cached) `pkg search` takes at most {GOAL_WARM}x the cold one;",
        f"resolving a graph of {a.graph_names} packages with {a.graph_versions} versions each (`pkg tree`) takes "
        f"at most {GOAL_RESOLVE}x loading the resolved packages (`pkg load`).",
    ])
    lines += [f"### Latest results ({a.runs} run(s) per measure)", ""]
    lines += benchlib.doc_verdicts(rows, missed)
    lines += ["Seconds per run, wall clock (user+sys CPU), and peak RSS:", ""]
    table = [["command"] + [f"run {i + 1}" for i in range(a.runs)]]
    for label, runs in (("pkg index -o json (empty caches)", res.index_runs), ("pkg search, cold", res.cold),
                        ("pkg search, warm", res.warm), ("pkg tree g000 (warm)", res.tree),
                        ("pkg load g000 (fresh hub)", res.load)):
        table.append([label] + [f"{r.cell()}, {r.rss_mb:.0f} MB" for r in runs])
    lines += [benchlib.md_table(table[0], table[1:]), ""]
    lines += ["### Machine", ""]
    lines += benchlib.doc_machine(res.machine, res.loadavg, "the measured runs", a.note)
    lines += benchlib.doc_list("### Method", [
        "**Packages.** Each package is a manifest.json (name, version, description, dependencies, digests) and "
        "one space file, generated in Python; the registries receive them as tar.gz archives over HTTP (8 "
        "concurrent clients), the directory source as package directories.",
        "**Cold and warm.** Cold: `PKG_CACHE_DIR` is removed first, so both registry indexes are fetched and "
        "every directory package is read and checked. Warm: the same command right after, within the 5-minute "
        "TTL: the cached indexes are read, and the directory's unchanged packages are taken from what was "
        "remembered (one stat each).",
        "**Resolution.** `pkg tree g000` runs once untimed to fill the cache, then is timed: reading the cached "
        "index and resolving with PubGrub, where every name's newest version needs a `^2` that does not exist, "
        "so each is backed off once. `pkg load g000` resolves the same way, downloads every resolved package "
        "from the registry (digest checked), combines them and loads them in one transaction into a fresh hub.",
        "**Time and memory.** Wall-clock time around the whole command, under `/usr/bin/time` for CPU and the "
        "command's own peak RSS, after `sync()`.",
        benchlib.NOISE.removeprefix("* "),
    ])
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", type=int, help="package versions in the merged index (default 20000)")
    ap.add_argument("--dir-packages", type=int, help="of which in the directory source (default 2000)")
    ap.add_argument("--graph-names", type=int, help="names in the resolution graph (default 200)")
    ap.add_argument("--graph-versions", type=int, help="versions of each graph name (default 20)")
    ap.add_argument("--runs", type=int, help="runs of each measure (default 3)")
    ap.add_argument("--quick", action="store_true", help="smoke run")
    benchlib.add_common_args(ap, write_doc_help=f"replace the {SECTION} section of docs/performance.md")
    args = ap.parse_args(argv)
    defaults = ({"versions": 2000, "dir_packages": 200, "graph_names": 20, "graph_versions": 5, "runs": 1}
                if args.quick else
                {"versions": 20000, "dir_packages": 2000, "graph_names": 200, "graph_versions": 20, "runs": 3})
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.graph_versions < 2 or args.dir_packages > args.versions:
        ap.error("--graph-versions must be at least 2 and --dir-packages at most --versions")
    return benchlib.bench_main(ap, args, SECTION, lambda work, pkg: benchmark(work, pkg, args), report,
                               doc_section, DOC, SECTION)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
