"""Kubeconfig files (token authentication, CA embedded) and the API server's static token file."""

from __future__ import annotations

import base64
import csv
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

CONTEXT = "eoepca-dev"


@dataclass(frozen=True)
class Identity:
    name: str  # user name the API server sees
    groups: tuple[str, ...]


# The controller manager runs every controller with its own credentials and the scheduler binds
# pods: both get cluster-admin rights through system:masters, as kubeadm's single-node set-ups do.
IDENTITIES: dict[str, Identity] = {
    "admin": Identity("eoepca-dev-admin", ("system:masters",)),
    "kube-controller-manager": Identity("system:kube-controller-manager", ("system:masters",)),
    "kube-scheduler": Identity("system:kube-scheduler", ("system:masters",)),
    "kwok": Identity("system:kwok-controller", ("system:masters",)),
    # The Flux controllers run as host processes with cluster-admin rights, as their own
    # ClusterRoleBindings (cluster-reconciler, crd-controller) give them in a cluster.
    "flux": Identity("system:flux-controllers", ("system:masters",)),
}


def ensure_tokens(token_file: Path) -> dict[str, str]:
    """Returns {identity key: token}, reusing the tokens already in `token_file` (so kubeconfigs
    written earlier stay valid) and adding any missing."""
    tokens: dict[str, str] = {}
    by_user = {ident.name: key for key, ident in IDENTITIES.items()}
    if token_file.is_file():
        for row in csv.reader(token_file.read_text().splitlines()):
            if len(row) >= 2 and row[1] in by_user:
                tokens[by_user[row[1]]] = row[0]
    if set(tokens) == set(IDENTITIES):
        return tokens
    for key in IDENTITIES:
        tokens.setdefault(key, secrets.token_hex(24))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for key, ident in IDENTITIES.items():
        # token,user,uid,"group1,group2"
        writer.writerow([tokens[key], ident.name, ident.name, ",".join(ident.groups)])
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(out.getvalue())
    token_file.chmod(0o600)
    return tokens


def write_kubeconfig(path: Path, server: str, ca_cert: Path, user: str, token: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.chmod(0o600)
    tmp.replace(path)
    return path
