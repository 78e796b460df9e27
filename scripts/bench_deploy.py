#!/usr/bin/env python3
"""Benchmark deployments: `pkg deploy` into three hubs against local loads, and the job queue.

    python3 scripts/bench_deploy.py [--units N] [--spaces N] [--runs K] [--jobs N] [--clients N]
                                    [--work DIR] [--pkg PATH] [--pkg-commit TEXT]
                                    [--seed S] [--note TEXT] [--write-doc] [--keep] [--quick]

Setup (untimed): `scripts/gen_package.py` writes a package of UNITS units in
SPACES spaces; its manifest gets a name (`app`), a version and a digest per
file, so a registry takes it (`pkg validate` checks it). A registry server
(`pkg serve`, SQLite) gets a level-5 token; `pkg remote add bench URL
--token-env PKG_BENCH_TOKEN` names it and `pkg publish DIR --registry bench`
publishes the package and a tiny one (`tiny`: one space). Three hub stores
are made once, each holding only a level-2 token (`pkg serve token create`);
the registry is started with those tokens in PKG_DEPLOY_E1..E3. For every
deploy run, three `pkg serve` hubs start on fresh copies of those stores (so
empty hubs, with the same tokens), and the environments e1..e3 are pointed
at them (`pkg deploy env remove` / `add eN URL --token-env PKG_DEPLOY_EN`).

Measures:
  1. Deploy speed, K runs (medians). Baseline: three sequential `pkg --hub
     PATH load DIR -q` into three fresh local hubs (the sum of their wall
     times). pkg: `pkg deploy app --env e1 --env e2 --env e3 --registry bench
     -o json`, which queues the job and waits for it, into the three fresh
     hubs; every hub must then hold every unit. Runs alternate which side goes
     first. Goal: deploy <= 1.5x the baseline.
  2. Job queue: N dry-run deployments of `tiny` into e1 (one fresh hub), by
     CLIENTS threads POSTing /api/v1/deployments on keep-alive connections;
     then GET /api/v1/jobs?status=... until none is open, and every job and
     deployment is read back. Goal: zero losses (every job `completed`, its
     deployment `succeeded`, every POST answered 202) and zero duplicates
     (every job's `attempts` is 1, distinct ids, one plan per job in the
     hub's log). The rate (jobs/s, from the first POST to the poll that saw
     the last job end) is recorded.

A failed step exits 2; missed goals are reported, the exit status stays 0.
Every server started is stopped on every exit path, Ctrl-C included.
`--quick` is short for `--units 500 --jobs 100 --runs 1` (a smoke run).

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

import benchlib
import gen_package
from benchlib import Run, fail, log, verdict
from bench_serve import (Procs, Server, clean_env, fs_description, on_signal, percentile, post_keepalive, proc_cpu, ram,
                         read_manifest, request, sh, token_create, write_manifest)
from bench_sources import package_files, write_dir

SECTION = "bench_deploy"
DOC = os.path.join(benchlib.ROOT, "docs", "performance.md")
GOAL_DEPLOY = 1.5  # pkg deploy to 3 hubs <= 1.5x three local loads
APP = "app"
TINY = "tiny"
VERSION = "1.0.0"
REMOTE = "bench"
TOKEN_ENV = "PKG_BENCH_TOKEN"
ENVS = ["e1", "e2", "e3"]
OPEN_STATUSES = ["pending", "queued", "retry", "processing"]  # in the order a job goes through them
FINAL = ("completed", "failed", "cancelled", "timeout")
POLL_S = 0.2


def token_env(name: str) -> str:
    return f"PKG_DEPLOY_{name.upper()}"


def run(cmd: list[str], env: dict[str, str]) -> Run:
    return benchlib.run(cmd, env, rss_prefix="pkg-bench-deploy-rss-", on_fail=benchlib.failed)


# --------------------------------------------------------------------------
# Packages


def make_app_package(pkg: str, d: str, units: int, spaces: int, seed: int, env: dict[str, str]) -> tuple[dict, int]:
    """gen_package's package in `d`, named APP@VERSION with a digest per file
    (a registry takes only pinned packages); checked with `pkg validate`.
    Returns gen_package's summary and the resource count validate reports."""
    summary = gen_package.generate(d, units, spaces, seed)
    manifest = read_manifest(d)
    digests = {}
    for dirpath, _, names in os.walk(d):
        for name in names:
            path = os.path.join(dirpath, name)
            rel = "/" + os.path.relpath(path, d).replace(os.sep, "/")
            if rel != "/manifest.json":
                with open(path, "rb") as f:
                    digests[rel] = "sha256:" + hashlib.sha256(f.read()).hexdigest()
    manifest = {"format": 1, "name": APP, "version": VERSION,
                "description": f"Synthetic package: {units} units in {spaces} spaces", **manifest,
                "digests": dict(sorted(digests.items()))}
    write_manifest(d, manifest)
    out = sh([pkg, "validate", d], env)
    m = re.search(r"valid \((\d+) resources\)", out)
    if not m:
        fail(f"pkg validate {d} did not report its resources: {out[:500]}")
    return summary, int(m.group(1))


# --------------------------------------------------------------------------
# Hubs and environments


def start_hubs(procs: Procs, pkg: str, templates: list[str], d: str, env: dict[str, str]) -> list[Server]:
    """One `pkg serve` per template store, each on a fresh copy of it (an
    empty hub holding the template's level-2 token), its files under `d`/eN."""
    hubs = []
    for name, template in zip(ENVS, templates):
        hd = os.path.join(d, name)
        os.makedirs(hd)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(os.path.join(template, "server.db" + suffix)):
                shutil.copy2(os.path.join(template, "server.db" + suffix), os.path.join(hd, "server.db" + suffix))
        hubs.append(Server(procs, pkg, f"sqlite:{os.path.join(hd, 'server.db')}", hd, env))
    return hubs


class Environments:
    """The registry's environments e1..eN, pointed at the current hubs."""

    def __init__(self, pkg: str, env: dict[str, str]):
        self.pkg = pkg
        self.env = env
        self.added: set[str] = set()

    def point(self, name: str, url: str) -> None:
        if name in self.added:
            sh([self.pkg, "deploy", "env", "remove", name, "--registry", REMOTE], self.env)
            self.added.discard(name)
        sh([self.pkg, "deploy", "env", "add", name, url, "--token-env", token_env(name), "--registry", REMOTE],
           self.env)
        self.added.add(name)


def hub_units(hub: Server, token: str, spaces: int) -> int:
    total = 0
    for i in range(spaces):
        status, body, _ = request(hub.url, "GET", f"/api/v1/hub/units?space={gen_package.space_slug(i)}",
                                  token=token)
        if status != 200:
            fail(f"GET {hub.url}/api/v1/hub/units: {status} {body[:300]!r}")
        total += len(json.loads(body))
    return total


LOG_LINE = re.compile(r"^(\S+Z)\s+INFO request\{[^}]*method=(\S+) route=([^}\s]+)\}.*?status=(\d+) "
                      r"elapsed_ms=([\d.]+)", re.M)


def timed_requests(server: Server, offset: int) -> list[tuple[float, str, str, int, float]]:
    """(end as Unix seconds, method, route, status, elapsed ms) of each
    request `server` logged after byte `offset` of its log (writes only:
    successful reads are logged at debug)."""
    with open(server.log, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    return [(dt.datetime.fromisoformat(m.group(1)).timestamp(), m.group(2), m.group(3), int(m.group(4)),
             float(m.group(5))) for m in LOG_LINE.finditer(text)]


def get_json(base: str, path: str, token: str):
    status, body, _ = request(base, "GET", path, token=token)
    if status != 200:
        fail(f"GET {base}{path}: {status} {body[:500]!r}")
    return json.loads(body)


# --------------------------------------------------------------------------
# Results


@dataclass
class DeployRun:
    """One pkg deploy run and what the servers say about it."""

    run: Run
    start: float  # Unix seconds, around the command
    end: float
    deployment: dict
    job: dict
    units: list[int]  # per hub, afterwards
    registry_requests: list[tuple[float, str, str, int, float]]
    hub_requests: list[list[tuple[float, str, str, int, float]]]
    registry_cpu: float
    hub_cpu: list[float]

    @property
    def reported_seconds(self) -> float:
        """The deployment's duration_ms, as the server reports it."""
        return (self.deployment.get("duration_ms") or 0) / 1000

    @property
    def post(self) -> tuple[float, float]:
        """(end, ms) of the registry's POST /api/v1/deployments."""
        posts = [(t, ms) for t, m, r, _, ms in self.registry_requests if m == "POST" and r == "/api/v1/deployments"]
        return posts[0] if posts else (self.start, 0.0)

    def apply_spans(self) -> list[tuple[float, float]]:
        """(start, end) in Unix seconds of each hub's POST /api/v1/hub/apply
        (the first start and last end when it was tried again)."""
        spans = []
        for reqs in self.hub_requests:
            mine = [(t - ms / 1000, t) for t, m, r, _, ms in reqs if r == "/api/v1/hub/apply"]
            spans.append((min(a for a, _ in mine), max(b for _, b in mine)) if mine else (self.end, self.end))
        return spans

    def applies(self) -> list[float]:
        """Each hub's POST /api/v1/hub/apply time in seconds (summed over tries)."""
        return [sum(ms for _, m, r, _, ms in reqs if r == "/api/v1/hub/apply") / 1000 for reqs in self.hub_requests]

    def phases(self) -> dict[str, float]:
        """The command's wall time cut at the registry's answer to the POST,
        the first hub apply's start and the last one's end (the servers' log
        timestamps; one machine, one clock)."""
        spans = self.apply_spans()
        queued = self.post[0]
        first = min(a for a, _ in spans)
        last = max(b for _, b in spans)
        return {"start to queued": queued - self.start, "queued to first apply": first - queued,
                "hub applies": last - first, "last apply to exit": self.end - last}


@dataclass
class Queue:
    n: int
    clients: int
    post_seconds: float = 0.0
    seconds: float = 0.0  # first POST to the poll that saw none open
    answers: dict[int, int] = field(default_factory=dict)  # status (0: no answer) -> count
    samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # ms
    jobs: list[str] = field(default_factory=list)
    deployments: list[str] = field(default_factory=list)
    job_status: dict[str, int] = field(default_factory=dict)
    deployment_status: dict[str, int] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    lost: int = 0
    duplicated: int = 0
    lost_detail: list[str] = field(default_factory=list)
    dup_detail: list[str] = field(default_factory=list)
    plans: int = 0  # POST /api/v1/hub/plan in the hub's log
    plan_ms: list[float] = field(default_factory=list)
    post_ms_server: list[float] = field(default_factory=list)
    registry_cpu: float = 0.0
    hub_cpu: float = 0.0
    last_finished: str = ""
    timed_out: bool = False

    @property
    def rate(self) -> float:
        """Jobs completed per second."""
        return self.job_status.get("completed", 0) / self.seconds if self.seconds > 0 else 0.0

    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0


@dataclass
class Results:
    args: argparse.Namespace
    machine: dict[str, str]
    setup: dict[str, str] = field(default_factory=dict)
    resources: int = 0
    baseline: list[list[Run]] = field(default_factory=list)  # per run, the three loads
    deploys: list[DeployRun] = field(default_factory=list)
    queue: Queue | None = None
    loadavg: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())

    def base_totals(self) -> list[float]:
        return [sum(r.seconds for r in loads) for loads in self.baseline]


# --------------------------------------------------------------------------
# The measures


def baseline_run(res: Results, pkg: str, src: str, d: str, env: dict[str, str], i: int) -> None:
    log(f"[run {i}] baseline: 3 x pkg --hub NEW load DIR -q ...")
    os.makedirs(d, exist_ok=True)
    loads = [run([pkg, "--hub", os.path.join(d, f"local-{j}.db"), "load", src, "-q"], env) for j in (1, 2, 3)]
    res.baseline.append(loads)
    log(f"  {sum(r.seconds for r in loads):.2f} s: " + ", ".join(r.cell() for r in loads))


def deploy_run(res: Results, procs: Procs, pkg: str, registry: Server, templates: list[str], envs: Environments,
               hub_token: list[str], d: str, env: dict[str, str], cli_env: dict[str, str], reg_token: str,
               i: int) -> None:
    a = res.args
    hubs: list[Server] = []
    try:
        hubs = start_hubs(procs, pkg, templates, d, env)
        for name, hub in zip(ENVS, hubs):
            envs.point(name, hub.url)
        log(f"[run {i}] pkg deploy {APP} to {', '.join(ENVS)} (fresh hubs: "
            f"{', '.join(h.url for h in hubs)}) ...")
        reg_off = registry.log_size()
        hub_off = [h.log_size() for h in hubs]
        reg_cpu = proc_cpu(registry.pid)
        hub_cpu = [proc_cpu(h.pid) for h in hubs]
        cmd = [pkg, "deploy", APP]
        for name in ENVS:
            cmd += ["--env", name]
        os.sync()
        start = time.time()
        r = run(cmd + ["--registry", REMOTE, "-o", "json"], cli_env)
        end = time.time()
        reg_cpu = proc_cpu(registry.pid) - reg_cpu
        hub_cpu = [proc_cpu(h.pid) - c for h, c in zip(hubs, hub_cpu)]
        try:
            dep = json.loads(r.stdout)
        except ValueError:
            fail(f"pkg deploy -o json printed no JSON:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        if dep.get("status") != "succeeded":
            fail(f"the deployment ended {dep.get('status')}:\n{json.dumps(dep, indent=2)[:3000]}")
        for e in dep.get("environments", []):
            created = (e.get("counts") or {}).get("created")
            if e.get("status") != "succeeded" or created != res.resources:
                fail(f"environment {e.get('name')}: {e.get('status')}, created {created} of {res.resources}:\n"
                     f"{json.dumps(e, indent=2)}")
        units = [hub_units(h, t, a.spaces) for h, t in zip(hubs, hub_token)]
        if any(u != a.units for u in units):
            fail(f"after the deployment the hubs hold {units} units, not {a.units} each")
        job = get_json(registry.url, f"/api/v1/jobs/{dep['job']}", reg_token)
        dr = DeployRun(r, start, end, dep, job, units, timed_requests(registry, reg_off),
                       [timed_requests(h, o) for h, o in zip(hubs, hub_off)], reg_cpu, hub_cpu)
        res.deploys.append(dr)
        log(f"  {r.cell()} s: " + ", ".join(f"{k} {v:.2f} s" for k, v in dr.phases().items()) + "; hub applies "
            + ", ".join(f"{x:.2f}" for x in dr.applies()) + f" s; registry CPU {reg_cpu:.1f} s, hubs CPU "
            + ", ".join(f"{c:.1f}" for c in hub_cpu) + " s")
    finally:
        for h in hubs:
            procs.stop(h.proc)


def post_jobs(url: str, token: str, q: Queue) -> float:
    """POSTs q.n dry-run deployments of TINY into e1 from q.clients threads
    (keep-alive connections, started together). Returns the start time."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    body = json.dumps({"package": TINY, "environments": [ENVS[0]], "dry_run": True}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lock = threading.Lock()
    left = [q.n]
    start = threading.Barrier(q.clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        start.wait()
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            conn, status, answer, ms = post_keepalive(conn, "/api/v1/deployments", body, headers)
            with lock:
                q.answers[status] = q.answers.get(status, 0) + 1
                q.latencies.append(ms)
                if status == 202:
                    queued = json.loads(answer)
                    q.jobs.append(queued["job"]["id"])
                    q.deployments.append(queued["deployment"]["id"])
                elif len(q.samples) < 5:
                    q.samples.append(f"{status} {answer[:300].decode('utf-8', 'replace')}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(q.clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    q.post_seconds = time.perf_counter() - t0
    return t0


def queue_run(res: Results, procs: Procs, pkg: str, registry: Server, templates: list[str], envs: Environments,
              d: str, env: dict[str, str], reg_token: str) -> Queue:
    a = res.args
    q = Queue(a.jobs, a.clients)
    hub = None
    try:
        os.makedirs(d)
        hub = start_hubs(procs, pkg, templates[:1], d, env)[0]
        envs.point(ENVS[0], hub.url)
        log(f"[queue] {q.n:,} dry-run deployments of {TINY} into {ENVS[0]} ({hub.url}) from {q.clients} clients ...")
        reg_off, hub_off = registry.log_size(), hub.log_size()
        reg_cpu, hub_cpu = proc_cpu(registry.pid), proc_cpu(hub.pid)
        t0 = post_jobs(registry.url, reg_token, q)
        log(f"  queued {len(q.jobs):,} in {q.post_seconds:.2f} s; answers {dict(sorted(q.answers.items()))}")
        ours = set(q.jobs)
        deadline = time.monotonic() + 120 + 1.0 * q.n
        polls = 0
        while True:
            completed = {j["id"] for j in get_json(registry.url, "/api/v1/jobs?status=completed&limit=1000",
                                                   reg_token)}
            ended = ours <= completed
            if not ended and polls % 5 == 4:
                # Some may have ended otherwise: is any still open?
                open_now: set[str] = set()
                for status in OPEN_STATUSES:
                    jobs = get_json(registry.url, f"/api/v1/jobs?status={status}&limit=1000", reg_token)
                    open_now |= ours & {j["id"] for j in jobs}
                ended = not open_now
            if ended:
                q.seconds = time.perf_counter() - t0
                q.registry_cpu = proc_cpu(registry.pid) - reg_cpu
                q.hub_cpu = proc_cpu(hub.pid) - hub_cpu
                # Read every job back: one caught between two statuses by the
                # polls shows here as not final; then poll on.
                finals = read_jobs(registry.url, reg_token, q.jobs)
                if all(j.get("status") in FINAL for j in finals.values()):
                    break
            if time.monotonic() > deadline:
                q.timed_out = True
                q.seconds = time.perf_counter() - t0
                q.registry_cpu = proc_cpu(registry.pid) - reg_cpu
                q.hub_cpu = proc_cpu(hub.pid) - hub_cpu
                finals = read_jobs(registry.url, reg_token, q.jobs)
                log(f"  {sum(j.get('status') not in FINAL for j in finals.values())} job(s) still open after "
                    f"{q.seconds:.0f} s: counted as lost")
                break
            polls += 1
            time.sleep(POLL_S)
        check_queue(q, finals, registry, reg_token, reg_off, hub, hub_off)
        log(f"  all ended {q.seconds:.2f} s after the first POST: {q.rate:.1f} jobs/s; jobs {q.job_status}; "
            f"deployments {q.deployment_status}; attempts {q.attempts}; plans in the hub {q.plans:,}; lost "
            f"{q.lost}, duplicated {q.duplicated}; registry CPU {q.registry_cpu:.1f} s, hub CPU {q.hub_cpu:.1f} s")
    finally:
        procs.stop(hub.proc if hub else None)
    return q


def read_jobs(url: str, token: str, ids: list[str]) -> dict[str, dict]:
    """GET /api/v1/jobs/{id} of every id, from 4 threads."""
    out: dict[str, dict] = {}
    lock = threading.Lock()
    chunks = [ids[k::4] for k in range(4)]

    def worker(chunk: list[str]) -> None:
        for job_id in chunk:
            status, body, _ = request(url, "GET", f"/api/v1/jobs/{job_id}", token=token)
            value = json.loads(body) if status == 200 else {"status": f"answered {status}"}
            with lock:
                out[job_id] = value

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def check_queue(q: Queue, finals: dict[str, dict], registry: Server, token: str, reg_off: int, hub: Server,
                hub_off: int) -> None:
    """Losses: a POST not answered 202, a job not `completed`, a deployment
    not `succeeded`. Duplicates: a job or deployment id twice, a job run more
    than once (`attempts`), more plans in the hub than jobs."""
    not_queued = sum(c for s, c in q.answers.items() if s != 202)
    if not_queued:
        q.lost += not_queued
        q.lost_detail.append(f"{not_queued} POST(s) not answered 202: {'; '.join(q.samples)}")
    for job in finals.values():
        st = job.get("status", "?")
        q.job_status[st] = q.job_status.get(st, 0) + 1
        att = int(job.get("attempts", -1))
        q.attempts[att] = q.attempts.get(att, 0) + 1
        if st != "completed":
            q.lost += 1
            if len(q.lost_detail) < 6:
                q.lost_detail.append(f"job {job.get('id')}: {st} {job.get('error') or ''}".strip())
        if att != 1:
            q.duplicated += 1 if att > 1 else 0
            if att > 1 and len(q.dup_detail) < 6:
                q.dup_detail.append(f"job {job.get('id')}: attempts {att}")
        q.last_finished = max(q.last_finished, job.get("finished_at") or "")
    if len(set(q.jobs)) != len(q.jobs) or len(set(q.deployments)) != len(q.deployments):
        q.duplicated += (len(q.jobs) - len(set(q.jobs))) + (len(q.deployments) - len(set(q.deployments)))
        q.dup_detail.append("the same job or deployment id was answered twice")
    deployments = get_json(registry.url, f"/api/v1/deployments?package={TINY}&limit=1000", token)
    by_id = {x["id"]: x for x in deployments}
    for dep_id in q.deployments:
        dep = by_id.get(dep_id)
        st = dep.get("status", "?") if dep else "missing"
        q.deployment_status[st] = q.deployment_status.get(st, 0) + 1
        if st != "succeeded":
            q.lost += 1
            if len(q.lost_detail) < 12:
                q.lost_detail.append(f"deployment {dep_id}: {st} {(dep or {}).get('error') or ''}".strip())
        elif not dep.get("dry_run"):
            fail(f"deployment {dep_id} is not a dry run")
    plans = [(st, ms) for m, rt, st, ms in hub.requests_since(hub_off) if m == "POST" and rt == "/api/v1/hub/plan"]
    q.plans = len(plans)
    q.plan_ms = sorted(ms for _, ms in plans)
    if q.plans > len(q.jobs):
        q.duplicated += q.plans - len(q.jobs)
        q.dup_detail.append(f"the hub planned {q.plans} times for {len(q.jobs)} jobs")
    q.post_ms_server = sorted(ms for m, rt, _, ms in registry.requests_since(reg_off)
                              if m == "POST" and rt == "/api/v1/deployments")


def benchmark(work: str, pkg: str, args: argparse.Namespace) -> Results:
    label = args.pkg_commit or benchlib.pkg_commit_label()
    res = Results(args, benchlib.machine_info(
        pkg, f"{label} (the binary was built {benchlib.built_at(pkg)})",
        after_cores={"RAM": ram(), "Disk (work dir)": fs_description(work)}))
    env = clean_env(work)
    procs = Procs()
    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    log(f"work dir: {work}")
    log(f"pkg: {pkg}")
    try:
        if "deploy" not in benchlib.cmd_output([pkg, "--help"]):
            fail(f"{pkg} has no `deploy` command: build it from this checkout (cargo build --release)")
        # -- Setup ------------------------------------------------------------
        t0 = time.perf_counter()
        src = os.path.join(work, "app")
        summary, res.resources = make_app_package(pkg, src, args.units, args.spaces, args.seed, env)
        res.setup["package"] = (f"{APP}@{VERSION}: {args.units:,} units in {args.spaces} spaces "
                                f"({res.resources:,} resources, {summary['files']:,} files, "
                                f"{summary['data_bytes'] / 1e6:.1f} MB of YAML), generated in "
                                f"{time.perf_counter() - t0:.1f} s")
        log(res.setup["package"])
        tiny = os.path.join(work, "tiny")
        write_dir(tiny, package_files(TINY, VERSION, {}))
        sh([pkg, "validate", tiny], env)

        t0 = time.perf_counter()
        templates, hub_tokens = [], []
        for name in ENVS:
            d = os.path.join(work, "templates", name)
            os.makedirs(d)
            hub_tokens.append(token_create(pkg, f"sqlite:{os.path.join(d, 'server.db')}", env))
            templates.append(d)
        reg_dir = os.path.join(work, "registry")
        os.makedirs(reg_dir)
        reg_store = f"sqlite:{os.path.join(reg_dir, 'server.db')}"
        reg_token = json.loads(sh([pkg, "serve", "token", "create", "--store", reg_store, "--level", "5",
                                   "--name", "bench", "-o", "json"], env))["token"]
        reg_env = {**env, **{token_env(n): t for n, t in zip(ENVS, hub_tokens)}}
        registry = Server(procs, pkg, reg_store, reg_dir, reg_env)
        cli_env = {**env, TOKEN_ENV: reg_token}
        sh([pkg, "remote", "add", REMOTE, registry.url, "--token-env", TOKEN_ENV], cli_env)
        for d in (src, tiny):
            sh([pkg, "publish", d, "--registry", REMOTE], cli_env)
        archive = get_json(registry.url, f"/api/v1/packages/{APP}", reg_token)["versions"][0]["size"]
        res.setup["registry"] = (f"pkg serve at {registry.url} (pid {registry.pid}), SQLite; {APP} and {TINY} "
                                 f"published with pkg publish ({APP}'s archive: {archive:,} bytes) in "
                                 f"{time.perf_counter() - t0:.1f} s")
        log(res.setup["registry"])
        envs = Environments(pkg, cli_env)

        # -- 1. Deploy speed ---------------------------------------------------
        sh([pkg, "validate", src], env)  # the package into the page cache, for the baseline
        res.loadavg = (os.getloadavg(), ())
        for i in range(1, args.runs + 1):
            d = os.path.join(work, f"run-{i}")

            def base(i=i, d=d) -> None:
                baseline_run(res, pkg, src, os.path.join(d, "local"), env, i)

            def dep(i=i, d=d) -> None:
                deploy_run(res, procs, pkg, registry, templates, envs, hub_tokens, os.path.join(d, "hubs"), env,
                           cli_env, reg_token, i)

            benchlib.run_pair(i - 1, base, dep)

        # -- 2. Job queue ------------------------------------------------------
        res.queue = queue_run(res, procs, pkg, registry, templates, envs, os.path.join(work, "queue"), env,
                              reg_token)
        res.loadavg = (res.loadavg[0], os.getloadavg())
        bad = [ln for ln in benchlib.cmd_output(["grep", "-E", "WARN|ERROR", registry.log]).splitlines()]
        res.setup["registry log"] = (f"{len(bad)} WARN/ERROR line(s)" + (f", e.g. {bad[0][:300]}" if bad else ""))
    finally:
        procs.stop_all()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return res


# --------------------------------------------------------------------------
# Reports


def verdict_rows(res: Results) -> tuple[list[list[str]], list[str]]:
    a = res.args
    rows: list[list[str]] = []
    missed: list[str] = []
    base = statistics.median(res.base_totals())
    dep = statistics.median(d.run.seconds for d in res.deploys)
    ratio = dep / base if base else float("inf")
    ok = ratio <= GOAL_DEPLOY
    rows.append([f"deploy {a.units:,} units to 3 hubs: pkg deploy (3 environments in parallel) vs 3 sequential "
                 "local pkg load", f"{base:.2f} s", f"{dep:.2f} s", f"{ratio:.2f}", f"<= {GOAL_DEPLOY:g}",
                 verdict(ok)])
    if not ok:
        missed.append(f"pkg deploy took {ratio:.2f}x three local loads (goal <= {GOAL_DEPLOY:g})")
    span = statistics.median(d.phases()["hub applies"] for d in res.deploys)
    rows.append(["deploy: the three hub applies, first start to last end (hubs' logs) vs the same baseline",
                 f"{base:.2f} s", f"{span:.2f} s", f"{span / base:.2f}" if base else "", "(information)", ""])
    q = res.queue
    if q:
        ok = q.ok()
        rows.append([f"job queue: {q.n:,} dry-run deployments, lost / duplicated", "", f"{q.lost} / {q.duplicated}",
                     "", "0 / 0", verdict(ok)])
        if not ok:
            missed.append(f"the job queue lost {q.lost} and duplicated {q.duplicated} of {q.n:,} jobs: "
                          + "; ".join(q.lost_detail + q.dup_detail))
        rows.append([f"job queue: rate, first POST to last job ended ({q.clients} clients)", "",
                     f"{q.rate:.1f} jobs/s ({q.job_status.get('completed', 0):,} in {q.seconds:.2f} s)", "",
                     "(information)", ""])
    return rows, missed


def deploy_details(d: DeployRun) -> str:
    dep, job = d.deployment, d.job
    envs = "; ".join(f"{e['name']} {e.get('started_at', '?')[11:19]}-{e.get('finished_at', '?')[11:19]}"
                     for e in dep.get("environments", []))
    t0 = d.start
    hub_req = "; ".join(f"{name}: " + ", ".join(f"{m} {rt} {st} from +{t - ms / 1000 - t0:.2f} to +{t - t0:.2f} s"
                                                for t, m, rt, st, ms in reqs)
                        for name, reqs in zip(ENVS, d.hub_requests))
    post_end, post_ms = d.post
    return (f"{d.run.cell()} s for pkg deploy; times from its start: POST /api/v1/deployments answered 202 at "
            f"+{post_end - t0:.2f} s ({post_ms:.0f} ms in the registry); hub requests: {hub_req}; the command "
            f"exited at +{d.end - t0:.2f} s. The records: job {job.get('started_at', '?')[11:19]} to "
            f"{job.get('finished_at', '?')[11:19]}, attempts {job.get('attempts')}; environments {envs} (whole "
            f"seconds); duration_ms {dep.get('duration_ms')}. CPU: registry {d.registry_cpu:.1f} s, hubs "
            + ", ".join(f"{c:.1f}" for c in d.hub_cpu) + " s")


def queue_details(q: Queue) -> list[str]:
    lat = sorted(q.latencies)
    out = [f"{q.n:,} POST /api/v1/deployments from {q.clients} clients in {q.post_seconds:.2f} s "
           f"({q.n / q.post_seconds if q.post_seconds else 0:.1f}/s); answers "
           + ", ".join(f"{s or 'no answer'}: {c:,}" for s, c in sorted(q.answers.items()))
           + (f"; client latency median {statistics.median(lat):.0f} ms, p99 {percentile(lat, 99):.0f} ms, max "
              f"{lat[-1]:.0f} ms" if lat else "")
           + (f"; in the registry's log median {statistics.median(q.post_ms_server):.0f} ms, p99 "
              f"{percentile(q.post_ms_server, 99):.0f} ms" if q.post_ms_server else ""),
           f"every job ended {q.seconds:.2f} s after the first POST ({q.rate:.1f} jobs/s; the last finished_at "
           f"{q.last_finished}){' — TIMED OUT' if q.timed_out else ''}; jobs {q.job_status}; deployments "
           f"{q.deployment_status}; attempts {q.attempts}",
           f"the hub planned {q.plans:,} times"
           + (f" (POST /api/v1/hub/plan median {statistics.median(q.plan_ms):.1f} ms, p99 "
              f"{percentile(q.plan_ms, 99):.1f} ms)" if q.plan_ms else "")
           + f"; CPU over the phase: registry {q.registry_cpu:.1f} s ({q.registry_cpu * 1000 / q.n:.0f} ms per "
           f"job), hub {q.hub_cpu:.1f} s"]
    out += [f"lost: {x}" for x in q.lost_detail] + [f"duplicated: {x}" for x in q.dup_detail]
    return out


def run_table(res: Results) -> tuple[list[str], list[list[str]]]:
    header = ["command"] + [f"run {i + 1}" for i in range(len(res.deploys))]
    rows = [["3 x pkg load (sum)"] + [f"{t:.2f}" for t in res.base_totals()]]
    for j in range(3):
        rows.append([f"  pkg load into local hub {j + 1}"] + [loads[j].cell() for loads in res.baseline])
    rows.append(["pkg deploy (3 environments)"] + [d.run.cell() for d in res.deploys])
    for phase in res.deploys[0].phases() if res.deploys else []:
        rows.append([f"  {phase}"] + [f"{d.phases()[phase]:.2f}" for d in res.deploys])
    rows.append(["  duration_ms, as reported"] + [f"{d.reported_seconds:.2f}" for d in res.deploys])
    for j, name in enumerate(ENVS):
        rows.append([f"  POST /api/v1/hub/apply in {name}"] + [f"{d.applies()[j]:.2f}" for d in res.deploys])
    rows.append(["ratio (deploy / loads)"] + [f"{d.run.seconds / t:.2f}" for d, t in
                                               zip(res.deploys, res.base_totals())])
    return header, rows


def report(res: Results) -> None:
    a = res.args
    benchlib.print_head(f"pkg deploy benchmark: {a.units:,} units to 3 hubs x {a.runs} run(s); {a.jobs:,} queued "
                        "dry runs", res.machine, res.loadavg, res.setup)
    print()
    print("Seconds per run, wall clock (user+sys CPU of the command):")
    header, rows = run_table(res)
    print(benchlib.text_table(rows, header))
    print()
    print("Details:")
    for i, d in enumerate(res.deploys, 1):
        print(f"  deploy run {i}: {deploy_details(d)}")
    if res.queue:
        for line in queue_details(res.queue):
            print(f"  queue: {line}")
    print()
    rows, missed = verdict_rows(res)
    benchlib.print_verdicts(rows, missed)


def doc_section(res: Results) -> str:
    a = res.args
    rows, missed = verdict_rows(res)
    lines = benchlib.doc_head("Deployments (scripts/bench_deploy.py)", SECTION, [
        ("--write-doc", f"full run: {a.units:,} units, {a.runs} runs, {a.jobs:,} queued jobs"),
        ("--quick", "smoke run: --units 500 --jobs 100 --runs 1"),
    ])
    lines += ["Options: `--units N`, `--spaces N` (default 5), `--runs K`, `--jobs N` (at most 1,000: the page size "
              "of `GET /api/v1/jobs` and `/deployments`), `--clients N` (threads queuing the jobs, default 8), "
              "`--work DIR` (default: a fresh directory under /tmp, removed at the end unless `--keep`), "
              "`--pkg PATH` (default `target/release/pkg`, with `--pkg-commit TEXT`), `--seed S`, `--note TEXT`. "
              "Python 3.11 standard library only.", ""]
    lines += benchlib.doc_list("### Goals", [
        f"**Deploy speed.** `pkg deploy` of a {a.units:,}-unit package to three environments (three `pkg serve` "
        f"hubs, applied in parallel by the registry server) takes at most {GOAL_DEPLOY:g}x three sequential local "
        "`pkg load`s of the same package into three fresh hubs.",
        f"**Job queue.** {a.jobs:,} queued dry-run deployments all complete, with zero losses (every job "
        "`completed`, every deployment `succeeded`) and zero duplicates (every job ran once: `attempts` 1, and "
        "one plan per job in the hub). The rate, jobs per second, is recorded.",
    ])
    lines += [f"### Latest results ({a.units:,} units, {a.runs} run(s); {a.jobs:,} jobs)", ""]
    if a.quick:
        lines += ["**Note: this is a reduced run, not the full benchmark the goals are about.**", ""]
    lines += benchlib.doc_verdicts(rows, missed)
    lines += ["Seconds per run, wall clock (user+sys CPU of the command); the hub applies are each hub's "
              "`answered ... elapsed_ms` for `POST /api/v1/hub/apply`:", ""]
    header, trows = run_table(res)
    lines += [benchlib.md_table(header, trows), ""]
    details = [f"deploy run {i}: {deploy_details(d)}" for i, d in enumerate(res.deploys, 1)]
    details += [f"queue: {x}" for x in (queue_details(res.queue) if res.queue else [])]
    lines += benchlib.doc_list("Details:", details)
    lines += benchlib.doc_list("Setup (untimed):", [f"{k}: {v}" for k, v in res.setup.items()])
    lines += ["### Machine", ""]
    lines += benchlib.doc_machine(res.machine, res.loadavg, "the measured runs", a.note)
    lines += benchlib.doc_list("### Method", [
        f"**Servers.** Everything runs on the loopback interface of one machine: the registry and three hubs, "
        "each `pkg serve --addr 127.0.0.1:0 --store sqlite:FILE --blobs DIR` in its default configuration (text "
        "log to a file). The registry gets the hubs' level-2 tokens in `PKG_DEPLOY_E1..E3` at its start; the "
        "environments are added with `pkg deploy env add eN URL --token-env PKG_DEPLOY_EN --registry bench`.",
        f"**Package.** `scripts/gen_package.py` writes {a.units:,} units (1-4 KB of Kubernetes YAML each) in "
        f"{a.spaces} spaces; the script adds `format`, `name` (`{APP}`), `version` and a sha256 digest per file "
        "to its manifest (a registry refuses unpinned packages) and publishes it with `pkg publish`.",
        "**Fresh hubs.** Three template stores, each holding only a level-2 token, are made once; every deploy "
        "run starts three hubs on fresh copies of them (empty hubs, the same tokens, so the registry keeps its "
        "environment variables) and re-points e1..e3 at their new ports (`pkg deploy env remove` / `add`, "
        "untimed). The baseline loads into three new local hub files (`pkg --hub PATH load DIR -q`) after an "
        "untimed `pkg validate` that reads the package into the page cache; its figure is the sum of the three "
        "loads' wall times. Odd runs time the baseline first, even runs the deployment.",
        "**What the deploy time covers.** `pkg deploy app --env e1 --env e2 --env e3 --registry bench -o json` "
        "from its start to its exit: the POST that resolves and queues the deployment, the registry's worker "
        "claiming the job, reading the package from its blobs (digest checked), applying it to the three hubs "
        "at once (each through the hub API: the package packed to tar.gz and uploaded, then loaded in one "
        "transaction), recording each step, and the CLI polling the job every 250 ms until it ends. "
        "Afterwards every hub must list every unit. **Phases:** the command's wall time is cut at the "
        "registry's answer to the POST and at the first hub apply's start and the last one's end, from the "
        "servers' log lines (each request's end time and `elapsed_ms`; one machine, one clock): start to "
        "queued (the CLI's start, resolving and queuing), queued to first apply (the worker claiming the job, "
        "reading the package from the blobs, then per environment an HTTP client and the packed upload), the "
        "hub applies, and last apply to exit (recording the end, the CLI's next poll, its exit). The "
        "deployment's own `duration_ms` is shown as reported: its start is stored in whole seconds, so it "
        "reads up to 1 s long.",
        f"**Job queue.** A fresh hub is e1; {a.clients} Python threads, each with a keep-alive `http.client` "
        f"connection, start together and POST `{{\"package\": \"{TINY}\", \"environments\": [\"e1\"], "
        "\"dry_run\": true}` (a one-space package, so the measure is the queue, not the plan) until "
        f"{a.jobs:,} are queued. Then `GET /api/v1/jobs?status=completed&limit=1000` every {POLL_S:g} s (and, "
        "every fifth poll, `?status=` each open status: pending, queued, retry, processing) until every job is "
        "completed or none is open; the rate is the number of "
        "jobs over the time from the first POST to that poll. Then every job is read back (`GET "
        "/api/v1/jobs/{id}`) and every deployment (`GET /api/v1/deployments?package=tiny&limit=1000`), and the "
        "hub's log is counted for `POST /api/v1/hub/plan`.",
        "**Time and CPU.** Commands are timed with the monotonic clock after `sync()` (untimed), under "
        "`/usr/bin/time` for their CPU; the servers' CPU comes from `/proc/PID/stat` before and after.",
        benchlib.NOISE.removeprefix("* "),
    ])
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, help="units in the deployed package (default 5000)")
    ap.add_argument("--spaces", type=int, help="spaces in the deployed package (default 5)")
    ap.add_argument("--runs", type=int, help="runs of the deploy measure, the medians count (default 3)")
    ap.add_argument("--jobs", type=int, help="dry-run deployments queued (default 1000, at most 1000)")
    ap.add_argument("--clients", type=int, default=8, help="threads queuing the jobs (default 8)")
    ap.add_argument("--quick", action="store_true", help="smoke run: --units 500 --jobs 100 --runs 1")
    benchlib.add_common_args(ap, write_doc_help=f"replace the {SECTION} section of docs/performance.md")
    args = ap.parse_args(argv)
    defaults = ({"units": 500, "spaces": 5, "runs": 1, "jobs": 100} if args.quick else
                {"units": 5000, "spaces": 5, "runs": 3, "jobs": 1000})
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.jobs > 1000:
        ap.error("--jobs must be at most 1000 (the page size of GET /api/v1/jobs and /api/v1/deployments)")
    if args.clients < 1:
        ap.error("--clients must be at least 1")
    try:
        return benchlib.bench_main(ap, args, SECTION, lambda work, pkg: benchmark(work, pkg, args), report,
                                   doc_section, DOC, SECTION)
    except KeyboardInterrupt:
        print(f"\n{SECTION}: interrupted (every process it started was stopped)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
