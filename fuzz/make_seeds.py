#!/usr/bin/env python3
"""Writes the small seed corpora under fuzz/seeds/ from the repo's fixtures.

Run from the repository root after `cargo build` (the archive seeds come
from the real `pkg pack`). The output is committed; rerun only to refresh.
"""
import glob, gzip, io, json, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
PKG = os.path.join(ROOT, "target", "debug", "pkg")


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def slug(path):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", path)


# manifest: every fixture manifest, plus a few shapes.
for m in sorted(glob.glob(os.path.join(ROOT, "fixtures", "*", "manifest.json"))) + [
    os.path.join(ROOT, "examples", "drift-detector", "manifest.json")
]:
    put("manifest", slug(os.path.relpath(m, ROOT)), read(m))
put("manifest", "wrong_types.json", '{"name": 1, "format": "x", "units": {}, "spaces": [{"slug": 3}]}')
put("manifest", "environments.json", json.dumps({
    "name": "envs", "version": "1.0.0", "format": 1,
    "spaces": [{"slug": "s", "details_loc": "/spaces/s.json"}],
    "environments": [{"name": "py", "backend": "uv", "path": "/envs/py",
                      "files": ["/envs/py/pyproject.toml", "/envs/py/uv.lock"]}],
}))

# details: fixture details files (small ones), and edge shapes.
details = sorted(p for p in glob.glob(os.path.join(ROOT, "fixtures", "cub-full", "**", "*.json"), recursive=True)
                 if not p.endswith("manifest.json"))
for p in details[:12]:
    put("details", slug(os.path.relpath(p, ROOT)), read(p))
put("details", "toolchain.json", '{"Slug": "u", "ToolchainType": "Kubernetes/YAML", "Labels": {"a": "b"}}')
put("details", "bad_toolchain.json", '{"ToolchainType": "../../etc"}')
put("details", "deep.json", "[" * 130 + "]" * 130)
put("details", "number.json", '{"a": 1e400}')

# unit data: selector byte (0 YAML, 1 JSON, 2 lines) + data [0xFF local [0xFF base]].
datas = sorted(glob.glob(os.path.join(ROOT, "fixtures", "cub-basic", "units", "**", "*.data.yaml"), recursive=True))
datas += sorted(glob.glob(os.path.join(ROOT, "examples", "src", "*.yaml")))
for p in datas[:8]:
    put("unit_data", "yaml_" + slug(os.path.relpath(p, ROOT)), b"\x00" + read(p))
put("unit_data", "yaml_three_way", b"\x00a: 1\nb: [x, y]\n\xffa: 2\nb: [x, y]\n\xffa: 1\nb: [x]\n")
put("unit_data", "yaml_named_list", b"\x00containers:\n- name: a\n  image: x:2\n- name: b\n  image: y\n\xffcontainers:\n- name: a\n  image: x:1\n- name: b\n  image: z\n\xffcontainers:\n- name: a\n  image: x:1\n- name: b\n  image: y\n")
put("unit_data", "json_three_way", b'\x01{"a": 1, "b": {"c": [1, 2]}}\xff{"a": 2, "b": {"c": [1, 2]}}\xff{"a": 1, "b": {"c": [1]}}')
put("unit_data", "lines_three_way", b"\x02one\ntwo\nthree\n\xffone\n2\nthree\n\xffone\ntwo\nthree\n")
put("unit_data", "binary", b"\x02\x00\x01\x02\xfe")

# where expressions: from the parser's tests and docs/where.md, for a unit
# (kind byte 3) and a few for other kinds.
text = read("src/filter/parser/mod.rs").decode()
exprs = sorted(set(re.findall(r'\("((?:[^"\\]|\\.)+)", (?:true|false)\)', text)))
exprs += re.findall(r'`([A-Z][A-Za-z.]+ (?:=|!=|<|>|LIKE|IN|IS|~)[^`]*)`', read("docs/where.md").decode())
exprs += [
    "Slug = 'api'", "Owner = 'me'", "ProviderType = 'Kubernetes'",
    "LEN(ApprovedBy) > 0 AND ApprovedBy ? '0b5f6a3e-8c1d-4f2a-9e3b-7d6c5b4a3f21'",
    "ApplyGates.policy/no-latest IS TRUE", "Labels.app IN ('web', 'api') AND Annotations.owner IS NOT NULL",
    "Slug ~* '^back.*[[:alpha:]]{2,3}$' OR DisplayName ILIKE '%api'",
]
seen = set()
for i, e in enumerate(exprs):
    e = e.replace('\\"', '"')
    if e in seen:
        continue
    seen.add(e)
    put("where_expr", "unit_%03d" % i, b"\x03" + e.encode())
for kind, e in [(0, "Slug LIKE 'app-%'"), (1, "Slug = 'w1'"), (2, "ProviderType = 'Kubernetes'"),
                (4, "FromUnitID IS NULL"), (5, "From = 'Unit'")]:
    put("where_expr", "kind%d" % kind, bytes([kind]) + e.encode())
put("where_expr", "with_details", b"\x03Labels.app = 'web' AND HeadRevisionNum > 6\x00" +
    b'{"Labels": {"app": "web"}, "ApprovedBy": ["a", 1], "LiveRevisionNum": 99999999999}')

# pixi.toml / pyproject.toml: the env fixtures.
for p in sorted(glob.glob(os.path.join(ROOT, "fixtures", "envs", "*", "pixi.toml"))):
    put("pixi_toml", slug(os.path.relpath(p, ROOT)), read(p))
for p in sorted(glob.glob(os.path.join(ROOT, "fixtures", "envs", "*", "pyproject.toml"))):
    put("pyproject_toml", slug(os.path.relpath(p, ROOT)), read(p))

# archives: the real `pkg pack` of fixture packages.
def pack(src, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "p." + fmt)
        subprocess.run([PKG, "pack", src, "-o", out], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return open(out, "rb").read()

packs = {}
for name in ["cub-basic", "cub-properties-only"]:
    src = os.path.join(ROOT, "fixtures", name)
    for fmt in ["tar.gz", "zip"]:
        packs[(name, fmt)] = pack(src, fmt)
# A package with name, version and digests (what publish wants): pkg create
# output is not available offline, so pack the copied fixture after adding
# name and version; pack writes digests.
with tempfile.TemporaryDirectory() as tmp:
    dst = os.path.join(tmp, "pub")
    shutil.copytree(os.path.join(ROOT, "fixtures", "cub-basic"), dst)
    mpath = os.path.join(dst, "manifest.json")
    m = json.load(open(mpath))
    m["name"] = "fuzz-basic"
    m["version"] = "1.0.0"
    import hashlib
    digests = {}
    for root, _, files in os.walk(dst):
        for f in files:
            if f == "manifest.json":
                continue
            full = os.path.join(root, f)
            loc = "/" + os.path.relpath(full, dst)
            digests[loc] = "sha256:" + hashlib.sha256(open(full, "rb").read()).hexdigest()
    m["digests"] = dict(sorted(digests.items()))
    json.dump(m, open(mpath, "w"), indent=2)
    for fmt in ["tar.gz", "zip"]:
        packs[("named", fmt)] = pack(dst, fmt)

for (name, fmt), data in packs.items():
    if fmt == "tar.gz":
        put("archive_tar_gz", name + ".tar.gz", data)
        put("archive_tar", name + ".tar", gzip.decompress(data))
        put("server_publish", name + ".tar.gz", data)
        put("server_apply", name + ".tar.gz", b"prefix=fuzz-&on_conflict=merge&external=prefix&strict=true\n" + data)
    else:
        put("archive_zip", name + ".zip", data)
        put("server_publish", name + ".zip", data)
        put("server_apply", name + ".zip", b"on_conflict=skip&diffs=true&stage=true\n" + data)
put("server_apply", "compare.json", b"\n" + json.dumps({"items": [
    {"kind": "unit", "space": "app-dev", "slug": "backend", "source": "sha256:00"},
    {"kind": "space", "slug": "app-dev", "source": "x"}]}).encode())
put("server_apply", "bad_query", b"on_conflict=explode&prefix=..%2F\n{}")
print("seeds written to", SEEDS)
