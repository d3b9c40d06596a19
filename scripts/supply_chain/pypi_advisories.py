"""Checks pinned PyPI packages against the PyPA advisory database (OSV records, YAML).

usage: pypi_advisories.py REQUIREMENTS DB_DIR
An advisory hits a pin when the pinned version is among the record's affected versions.
Prints each hit and exits 1 when there is one; prints the number of pins and records read.
"""

import pathlib
import re
import sys

import yaml


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: pathlib.Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if not m:
            sys.exit(f"{path}: not an exact pin: {line!r}")
        out[canonical(m.group(1))] = m.group(2)
    return out


def main() -> int:
    reqs, db = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    pinned = pins(reqs)
    hits, read = [], 0
    for folder in (db / "vulns").iterdir():
        if canonical(folder.name) not in pinned:
            continue
        for record in folder.glob("*.yaml"):
            read += 1
            doc = yaml.safe_load(record.read_text())
            if doc.get("withdrawn"):
                continue
            for affected in doc.get("affected", []):
                name = canonical(affected.get("package", {}).get("name", ""))
                version = pinned.get(name)
                if version is not None and version in [str(v) for v in affected.get("versions", [])]:
                    hits.append(f"{name}=={version}: {doc['id']} {doc.get('summary') or doc.get('details', '')[:100]}")
    for hit in hits:
        print(f"advisory: {hit}")
    print(f"PyPI: {len(pinned)} pinned packages, {read} advisory records of theirs read, {len(hits)} hitting a pin")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
