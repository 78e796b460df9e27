#!/usr/bin/env python3
"""Generate a synthetic package in the `cub package` layout, for benchmarks.

    python3 scripts/gen_package.py OUT [--units N] [--spaces N] [--seed S]

The package is what `cub package create` writes (see
docs of the cub format: manifest.json, spaces/<space>.json,
units/<space>/<unit>.json + units/<space>/<unit>.data.yaml,
targets/<space>/<target>.json, workers/<space>/<worker>.json), with no
`format` or `digests` keys, so pkg reads it as a cub package.

Every space gets one worker (`w1`) and one target (`k8s`) using it; most
units target it. Unit data is realistic Kubernetes YAML (Deployment,
ConfigMap or Service with labels), padded to a random size of 1-4 KB.
The output is deterministic for a given (units, spaces, seed): the same
arguments always give byte-identical files.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
ZERO_TIME = "0001-01-01T00:00:00Z"

MIN_DATA = 1024
MAX_DATA = 4096

ENVIRONMENTS = ["dev", "staging", "prod", "qa"]
TEAMS = ["payments", "search", "checkout", "identity", "platform", "data", "growth", "infra"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"]
APPS = [
    "api", "web", "worker", "cache", "gateway", "auth", "billing", "ledger",
    "catalog", "cart", "orders", "notify", "search", "index", "report", "sync",
]
KINDS = ["deployment", "configmap", "service"]
KIND_WEIGHTS = [5, 3, 2]
WORDS = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
    "omicron pi rho sigma tau upsilon phi chi psi omega"
).split()


def space_slug(i: int) -> str:
    env = ENVIRONMENTS[i % len(ENVIRONMENTS)]
    team = TEAMS[(i // len(ENVIRONMENTS)) % len(TEAMS)]
    return f"{team}-{env}-{i:03d}"


def rand_word(rng: random.Random, n: int = 2) -> str:
    return "-".join(rng.choice(WORDS) for _ in range(n))


def padding_lines(rng: random.Random, budget: int, indent: str, style: str) -> list[str]:
    """Lines adding about `budget` bytes (newlines included) at `indent`."""
    lines: list[str] = []
    used = 0
    k = 0
    while used < budget:
        k += 1
        if style == "env":
            # A container env entry: two lines.
            name = f"{rng.choice(WORDS).upper()}_{rng.choice(WORDS).upper()}_{k}"
            value = f"{rand_word(rng, 3)}.{rng.randrange(10**6)}"
            entry = [f"{indent}- name: {name}", f"{indent}  value: \"{value}\""]
        elif style == "data":
            key = f"{rng.choice(WORDS)}.{rng.choice(WORDS)}.{k}"
            value = f"{rand_word(rng, 4)}-{rng.randrange(10**9)}"
            entry = [f"{indent}{key}: \"{value}\""]
        else:  # annotations
            key = f"example.com/{rng.choice(WORDS)}-{k}"
            value = f"{rand_word(rng, 3)} {rng.randrange(10**6)}"
            entry = [f"{indent}{key}: \"{value}\""]
        size = sum(len(line) + 1 for line in entry)
        if used + size > budget:
            # The last entry: trim its value so the total is close to exact.
            over = used + size - budget
            last = entry[-1]
            # Value is the quoted part at the end; keep at least one char.
            head, _, val = last.rpartition('"')[0].rpartition('"')
            if len(val) - over < 1:
                break  # cannot trim enough: stop just under the budget
            entry[-1] = f'{head}"{val[: len(val) - over]}"'
            size = sum(len(line) + 1 for line in entry)
        lines.extend(entry)
        used += size
    return lines


def labels_yaml(labels: dict[str, str], indent: str) -> str:
    return "".join(f"{indent}{k}: {v}\n" for k, v in labels.items())


def unit_yaml(rng: random.Random, kind: str, name: str, space: str, labels: dict[str, str]) -> str:
    # The padding stops at most one entry (< 100 bytes) short of the target.
    target = rng.randint(MIN_DATA + 100, MAX_DATA)
    if kind == "deployment":
        image = f"registry.example.com/{labels['app']}:{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 200)}"
        head = (
            "apiVersion: apps/v1\n"
            "kind: Deployment\n"
            "metadata:\n"
            f"  name: {name}\n"
            f"  namespace: {space}\n"
            "  labels:\n"
            f"{labels_yaml(labels, '    ')}"
            "spec:\n"
            f"  replicas: {rng.randint(1, 12)}\n"
            "  selector:\n"
            "    matchLabels:\n"
            f"      app: {labels['app']}\n"
            f"      unit: {name}\n"
            "  template:\n"
            "    metadata:\n"
            "      labels:\n"
            f"        app: {labels['app']}\n"
            f"        unit: {name}\n"
            "    spec:\n"
            "      containers:\n"
            f"        - name: {labels['app']}\n"
            f"          image: {image}\n"
            "          ports:\n"
            f"            - containerPort: {rng.choice([80, 8080, 8443, 9090, 3000])}\n"
            "          resources:\n"
            "            requests:\n"
            f"              cpu: {rng.choice(['100m', '250m', '500m', '1'])}\n"
            f"              memory: {rng.choice(['128Mi', '256Mi', '512Mi', '1Gi'])}\n"
            "            limits:\n"
            f"              memory: {rng.choice(['256Mi', '512Mi', '1Gi', '2Gi'])}\n"
            "          env:\n"
        )
        pad = padding_lines(rng, target - len(head), "            ", "env")
        return head + "".join(line + "\n" for line in pad)
    if kind == "configmap":
        head = (
            "apiVersion: v1\n"
            "kind: ConfigMap\n"
            "metadata:\n"
            f"  name: {name}\n"
            f"  namespace: {space}\n"
            "  labels:\n"
            f"{labels_yaml(labels, '    ')}"
            "data:\n"
            f"  LOG_LEVEL: {rng.choice(['debug', 'info', 'warn'])}\n"
            f"  REGION: {labels['region']}\n"
        )
        pad = padding_lines(rng, target - len(head), "  ", "data")
        return head + "".join(line + "\n" for line in pad)
    # service: annotations pad the metadata, the spec follows.
    port = rng.choice([80, 443, 8080, 9090])
    head = (
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"  namespace: {space}\n"
        "  labels:\n"
        f"{labels_yaml(labels, '    ')}"
        "  annotations:\n"
    )
    tail = (
        "spec:\n"
        f"  type: {rng.choice(['ClusterIP', 'ClusterIP', 'LoadBalancer', 'NodePort'])}\n"
        "  selector:\n"
        f"    app: {labels['app']}\n"
        "  ports:\n"
        f"    - name: http\n"
        f"      port: {port}\n"
        f"      targetPort: {port}\n"
        "      protocol: TCP\n"
    )
    pad = padding_lines(rng, target - len(head) - len(tail), "    ", "annotations")
    return head + "".join(line + "\n" for line in pad) + tail


def dump(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)


def generate(out: str, units: int, spaces: int, seed: int = 1) -> dict:
    """Writes the package to `out` (created; must not exist or be empty).
    Returns a summary: unit count, data bytes, file count."""
    if spaces < 1 or units < 0:
        raise ValueError("need at least one space and a non-negative unit count")
    os.makedirs(out, exist_ok=True)
    if os.listdir(out):
        raise ValueError(f"{out} is not empty")
    rng = random.Random(seed)
    manifest: dict[str, list] = {"spaces": [], "units": [], "targets": [], "workers": []}
    data_bytes = 0
    files = 1
    base_time = 1_700_000_000
    for s in range(spaces):
        space = space_slug(s)
        env = ENVIRONMENTS[s % len(ENVIRONMENTS)]
        team = TEAMS[(s // len(ENVIRONMENTS)) % len(TEAMS)]
        region = REGIONS[s % len(REGIONS)]
        for sub in ("spaces", f"units/{space}", f"targets/{space}", f"workers/{space}"):
            os.makedirs(os.path.join(out, sub), exist_ok=True)
        stamp = f"2025-08-{1 + s % 28:02d}T09:{s % 60:02d}:00Z"
        dump(os.path.join(out, "spaces", f"{space}.json"), {
            "CreatedAt": stamp, "DisplayName": space, "EntityType": "Space",
            "Labels": {"environment": env, "team": team, "region": region},
            "OrganizationID": ZERO_UUID, "Slug": space, "SpaceID": ZERO_UUID,
            "UpdatedAt": stamp, "Version": 1,
        })
        manifest["spaces"].append({"slug": space, "details_loc": f"/spaces/{space}.json"})
        dump(os.path.join(out, "workers", space, "w1.json"), {
            "BridgeWorkerID": ZERO_UUID, "CreatedAt": stamp, "DisplayName": "w1",
            "EntityType": "BridgeWorker", "IPAddress": f"10.{s % 256}.0.17",
            "LastSeenAt": ZERO_TIME, "OrganizationID": ZERO_UUID,
            "ProvidedInfo": {"BridgeWorkerInfo": {"SupportedConfigTypes": [{
                "AvailableTargets": [{"Name": f"kind-{space}", "Params": {"KubeContext": f"kind-{space}"}}],
                "ProviderType": "Kubernetes", "ToolchainType": "Kubernetes/YAML"}]}},
            "Slug": "w1", "SpaceID": ZERO_UUID, "UpdatedAt": stamp,
            "UserID": "5f0c2a9e-8b1d-4c47-9e0a-3d2b7c61f4a8", "Version": 2,
        })
        manifest["workers"].append({
            "slug": "w1", "space_slug": space, "details_loc": f"/workers/{space}/w1.json",
        })
        dump(os.path.join(out, "targets", space, "k8s.json"), {
            "BridgeWorkerID": ZERO_UUID, "CreatedAt": stamp, "DisplayName": "k8s",
            "EntityType": "Target", "OrganizationID": ZERO_UUID,
            "Parameters": json.dumps({"KubeContext": f"kind-{space}", "KubeNamespace": space,
                                      "WaitTimeout": "2m0s"}, separators=(",", ":")),
            "ProviderType": "Kubernetes", "Slug": "k8s", "SpaceID": ZERO_UUID,
            "TargetID": ZERO_UUID, "ToolchainType": "Kubernetes/YAML",
            "UpdatedAt": stamp, "Version": 1,
        })
        manifest["targets"].append({
            "slug": "k8s", "space_slug": space, "details_loc": f"/targets/{space}/k8s.json",
            "worker": f"{space}/w1",
        })
        files += 3
        # Units of this space: an even share, the remainder to the first spaces.
        count = units // spaces + (1 if s < units % spaces else 0)
        for u in range(count):
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            app = rng.choice(APPS)
            slug = f"{app}-{kind}-{u:05d}"
            labels = {
                "app": app,
                "tier": {"deployment": "backend", "configmap": "config", "service": "frontend"}[kind],
                "team": team,
                "environment": env,
                "region": region,
            }
            data = unit_yaml(rng, kind, slug, space, labels)
            data_bytes += len(data)
            with open(os.path.join(out, "units", space, f"{slug}.data.yaml"), "w", encoding="utf-8") as f:
                f.write(data)
            updated = base_time + rng.randrange(10**7)
            dump(os.path.join(out, "units", space, f"{slug}.json"), {
                "ApprovedBy": None,
                "ContentHash": rng.randrange(2**32),
                "CreatedAt": ZERO_TIME,
                "DisplayName": slug,
                "EntityType": "Unit",
                "Labels": labels,
                "MutationSources": None,
                "OrganizationID": ZERO_UUID,
                "SetID": None,
                "Slug": slug,
                "SpaceID": ZERO_UUID,
                "TargetID": None,
                "ToolchainType": "Kubernetes/YAML",
                "UnitID": ZERO_UUID,
                "UpdatedAt": f"2025-{1 + updated % 12:02d}-{1 + updated % 28:02d}T{updated % 24:02d}:{updated % 60:02d}:00Z",
                "UpstreamOrganizationID": None,
                "UpstreamRevisionNum": 0,
                "UpstreamSpaceID": None,
                "UpstreamUnitID": None,
                "Version": 1 + rng.randrange(20),
            })
            # ConfigMaps are not deployed on their own in about half the cases.
            has_target = not (kind == "configmap" and rng.random() < 0.5)
            manifest["units"].append({
                "slug": slug,
                "space_slug": space,
                "details_loc": f"/units/{space}/{slug}.json",
                "unit_data_loc": f"/units/{space}/{slug}.data.yaml",
                "target": f"{space}/k8s" if has_target else "",
            })
            files += 2
    dump(os.path.join(out, "manifest.json"), manifest)
    return {"units": units, "spaces": spaces, "data_bytes": data_bytes, "files": files}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="directory to write (must not exist or be empty)")
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--spaces", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    try:
        summary = generate(args.out, args.units, args.spaces, args.seed)
    except ValueError as e:
        print(f"gen_package: {e}", file=sys.stderr)
        return 2
    print(f"wrote {summary['units']} units in {summary['spaces']} spaces, "
          f"{summary['data_bytes'] / 1e6:.1f} MB of YAML, {summary['files']} files, to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
