"""The poller image's software bill of materials (SPDX 2.3, JSON), from what the image holds:
Debian's packages (dpkg's status file), the Python distributions of the interpreter that runs this
(the image's venv), and the Go modules of the Pulumi binaries (`go version -m`, run where the image
is staged: the image has no Go).

Standard library only: it runs inside the image build (Containerfile). Tested in tests/test_image.py.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

NOASSERTION = "NOASSERTION"


def dpkg_packages(status: str) -> Iterator[dict[str, str]]:
    """The installed packages of a dpkg status file: Package, Version, Architecture, ..."""
    for stanza in status.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            yield fields


def go_modules(text: str) -> Iterator[tuple[str, str, str]]:
    """(binary, module, version) for each binary's Go toolchain, main module and dependencies in
    `go version -m` output; a replaced module counts as its replacement."""
    binary = ""
    for line in text.splitlines():
        if not line.startswith("\t"):
            binary, _, go = line.rpartition(": ")
            yield Path(binary).name, "stdlib", go.strip()
            continue
        parts = line.strip().split("\t")
        if parts[0] in ("mod", "dep", "=>") and len(parts) >= 3:
            yield Path(binary).name, parts[1], parts[2]


class Document:
    def __init__(self, name: str, version: str, revision: str, created: str) -> None:
        self._ids: set[str] = set()
        self.root = self._id("image", name)
        self.doc: dict[str, Any] = {
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": f"{name}-{version}",
            "documentNamespace": f"https://github.com/EOEPCA/eoepca-gitops/sbom/{version}/{revision}",
            "creationInfo": {"created": created, "creators": ["Tool: eoepca-gitops image/sbom.py"]},
            "packages": [
                {
                    "SPDXID": self.root,
                    "name": name,
                    "versionInfo": version,
                    "primaryPackagePurpose": "CONTAINER",
                    "downloadLocation": NOASSERTION,
                    "sourceInfo": f"git revision {revision}",
                    "licenseConcluded": NOASSERTION,
                    "licenseDeclared": NOASSERTION,
                    "copyrightText": NOASSERTION,
                }
            ],
            "relationships": [
                {
                    "spdxElementId": "SPDXRef-DOCUMENT",
                    "relationshipType": "DESCRIBES",
                    "relatedSpdxElement": self.root,
                }
            ],
        }

    def _id(self, kind: str, name: str) -> str:
        base = f"SPDXRef-{kind}-" + re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-")
        spdx_id, n = base, 1
        while spdx_id in self._ids:
            n += 1
            spdx_id = f"{base}-{n}"
        self._ids.add(spdx_id)
        return spdx_id

    def add(self, kind: str, name: str, version: str, purl: str, license_: str = NOASSERTION) -> None:
        spdx_id = self._id(kind, f"{name}-{version}")
        self.doc["packages"].append(
            {
                "SPDXID": spdx_id,
                "name": name,
                "versionInfo": version,
                "downloadLocation": NOASSERTION,
                "licenseConcluded": NOASSERTION,
                "licenseDeclared": license_,
                "copyrightText": NOASSERTION,
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": purl,
                    }
                ],
            }
        )
        self.doc["relationships"].append(
            {"spdxElementId": self.root, "relationshipType": "CONTAINS", "relatedSpdxElement": spdx_id}
        )


def _spdx_license(expression: str | None) -> str:
    """A distribution's License-Expression when it declares one (SPDX already), else NOASSERTION."""
    return expression if expression and re.fullmatch(r"[A-Za-z0-9.+() -]+", expression) else NOASSERTION


def build(args: argparse.Namespace) -> dict[str, Any]:
    doc = Document(args.name, args.version, args.revision, args.created)
    for pkg in dpkg_packages(Path(args.dpkg_status).read_text()):
        name, version, arch = pkg["Package"], pkg.get("Version", ""), pkg.get("Architecture", "")
        doc.add("deb", name, version, f"pkg:deb/debian/{name}@{version}?arch={arch}")
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        name, version = dist.metadata["Name"], dist.version
        purl = f"pkg:pypi/{name.lower().replace('_', '-')}@{version}"
        doc.add("pypi", name, version, purl, _spdx_license(dist.metadata.get("License-Expression")))
    seen: set[tuple[str, str]] = set()
    for binary, module, version in go_modules(Path(args.go_modules).read_text()):
        if (module, version) in seen:
            continue
        seen.add((module, version))
        purl = f"pkg:golang/{module}@{version}"
        doc.add("go", f"{module} ({binary})" if module == "stdlib" else module, version, purl)
    return doc.doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--created", required=True)
    parser.add_argument("--go-modules", required=True, help="`go version -m` output of the Go binaries")
    parser.add_argument("--dpkg-status", default="/var/lib/dpkg/status")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build(args), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
