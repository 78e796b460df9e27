#!/usr/bin/env python3
"""Writes a minimal local conda channel for the pixi tests (standard library
only): noarch .tar.bz2 packages with info/index.json and info/paths.json, and
noarch/repodata.json (plus an empty linux-64/repodata.json).

    conda_channel.py OUT_DIR NAME=VERSION[:DEP,DEP...] ...

e.g. `conda_channel.py chan alpha=1.0.0:beta>=1.0 beta=1.0.0 beta=1.1.0`.
Running it again with more packages rewrites repodata.json for all of them.
"""
import bz2
import hashlib
import io
import json
import os
import sys
import tarfile

TIMESTAMP = 1700000000000


def add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = TIMESTAMP // 1000
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def build(out: str, name: str, version: str, depends: list[str]) -> None:
    noarch = os.path.join(out, "noarch")
    os.makedirs(noarch, exist_ok=True)
    fn = f"{name}-{version}-h0_0.tar.bz2"
    payload = f"{name} {version}\n".encode()
    payload_path = f"share/{name}/VERSION"
    index = {
        "name": name, "version": version, "build": "h0_0", "build_number": 0,
        "depends": depends, "subdir": "noarch", "noarch": "generic",
        "license": "MIT", "timestamp": TIMESTAMP,
    }
    paths = {"paths": [{"_path": payload_path, "path_type": "hardlink",
                        "sha256": hashlib.sha256(payload).hexdigest(),
                        "size_in_bytes": len(payload)}], "paths_version": 1}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_file(tar, "info/index.json", json.dumps(index, indent=2).encode())
        add_file(tar, "info/paths.json", json.dumps(paths, indent=2).encode())
        add_file(tar, "info/files", (payload_path + "\n").encode())
        add_file(tar, payload_path, payload)
    data = bz2.compress(raw.getvalue())
    with open(os.path.join(noarch, fn), "wb") as f:
        f.write(data)


def write_repodata(out: str) -> None:
    noarch = os.path.join(out, "noarch")
    packages = {}
    for fn in sorted(os.listdir(noarch)):
        if not fn.endswith(".tar.bz2"):
            continue
        path = os.path.join(noarch, fn)
        data = open(path, "rb").read()
        with tarfile.open(fileobj=io.BytesIO(bz2.decompress(data))) as tar:
            member = tar.extractfile("info/index.json")
            index = json.load(member) if member else {}
        index.update({"md5": hashlib.md5(data).hexdigest(),
                      "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
        packages[fn] = index
    repodata = {"info": {"subdir": "noarch"}, "packages": packages,
                "packages.conda": {}, "repodata_version": 1}
    with open(os.path.join(noarch, "repodata.json"), "w") as f:
        json.dump(repodata, f, indent=2, sort_keys=True)
    linux = os.path.join(out, "linux-64")
    os.makedirs(linux, exist_ok=True)
    with open(os.path.join(linux, "repodata.json"), "w") as f:
        json.dump({"info": {"subdir": "linux-64"}, "packages": {},
                   "packages.conda": {}, "repodata_version": 1}, f)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    for spec in argv[2:]:
        head, _, deps = spec.partition(":")
        name, _, version = head.partition("=")
        build(out, name, version, [d for d in deps.split(",") if d])
    write_repodata(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
