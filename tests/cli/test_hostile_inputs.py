"""Hostile and careless inputs against every command that needs no cluster, one table.

Each case sets up a project (stack file, blocks, folders around it), runs one command and checks
what a user must be able to rely on: exit code 2; one `error:` line naming the file and key (or
line, or option) and the problem; no traceback; nothing written or deleted outside the command's
own output folder (the whole test folder, $HOME included, is compared before and after); no
credential in anything printed or written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer._click.core import Context  # the click typer carries
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.owned_folder import MARKER
from tests.fuzz.inputs import chain
from tests.fuzz.world import snapshot
from tests.helpers import FIXTURES
from tests.importer.trees import flux_kustomization
from tests.outside_data import link_shared_flux

FIXTURE = FIXTURES / "project"
NS = "eoepca-gitops"
SECRET = "hunter2-Zq8xW3vT"  # a credential that must never be printed or written
STACK = (FIXTURE / "Pulumi.test.yaml").read_text()
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
)  # 9**8 strings once expanded, in 8 lines


def indented(text: str, by: int) -> str:
    return "".join(f"{' ' * by}{line}\n" for line in text.splitlines())


Setup = Callable[[Path, Path], None]  # (project, test folder)


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]  # {project}, {tmp}, {home} are filled in
    expect: tuple[str, ...]  # each must be in the one error line
    setup: Setup = field(default=lambda project, tmp: None)
    own_output: str = ""  # a folder the command may write into ({tmp}-relative), if any
    flux: bool = False  # the command gets as far as reading Flux's install manifest


def _config(project: Path) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((project / "Pulumi.test.yaml").read_text())
    return raw


def stack(**changes: Any) -> Setup:
    """Pulumi.test.yaml with top-level keys (without the namespace) set; None removes one."""

    def setup(project: Path, tmp: Path) -> None:
        raw = _config(project)
        for key, value in changes.items():
            full = key if ":" in key else f"{NS}:{key}"
            if value is None:
                raw["config"].pop(full, None)
            else:
                raw["config"][full] = value
        (project / "Pulumi.test.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))

    return setup


def stack_with(path: str, value: Any) -> Setup:
    """Pulumi.test.yaml with one nested key set, e.g. stack_with("cluster.publicIp", 1)."""

    def setup(project: Path, tmp: Path) -> None:
        raw = _config(project)
        top, *rest = path.split(".")
        node = raw["config"].setdefault(f"{NS}:{top}", {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = value
        (project / "Pulumi.test.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))

    return setup


def stack_text(text: str | bytes) -> Setup:
    def setup(project: Path, tmp: Path) -> None:
        data = text.encode() if isinstance(text, str) else text
        (project / "Pulumi.test.yaml").write_bytes(data)

    return setup


def stack_is_link(target: str) -> Setup:
    def setup(project: Path, tmp: Path) -> None:
        (project / FILE).unlink()
        (project / FILE).symlink_to(target)

    return setup


def block(name: str, doc: dict[str, Any] | str | bytes) -> Setup:
    """clusters/blocks/<name>.yaml (a dict, or raw text), enabled in the stack."""

    def setup(project: Path, tmp: Path) -> None:
        path = project / "clusters" / "blocks" / f"{name}.yaml"
        if isinstance(doc, dict):
            path.write_text(yaml.safe_dump(doc))
        else:
            path.write_bytes(doc.encode() if isinstance(doc, str) else doc)
        raw = _config(project)
        raw["config"][f"{NS}:blocks"] = [*raw["config"][f"{NS}:blocks"], name]
        (project / "Pulumi.test.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))

    return setup


def release(name: str = "app", namespace: str = "demo", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "chart": "app",
        "version": "1.0.0",
        "sourceRef": {"name": "eoepca", "namespace": "common"},
        **extra,
    }


def a_block(name: str = "extra", **fields: Any) -> dict[str, Any]:
    return {"name": name, "namespaces": ["demo"], "dependsOn": ["base"], **fields}


def both(*setups: Setup) -> Setup:
    def setup(project: Path, tmp: Path) -> None:
        for s in setups:
            s(project, tmp)

    return setup


def file_at(rel: str, content: str | bytes) -> Setup:
    def setup(project: Path, tmp: Path) -> None:
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)

    return setup


def link_at(rel: str, target: str) -> Setup:
    def setup(project: Path, tmp: Path) -> None:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).symlink_to(tmp / target)

    return setup


def fifo_at(rel: str) -> Setup:
    def setup(project: Path, tmp: Path) -> None:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).unlink(missing_ok=True)
        os.mkfifo(tmp / rel)

    return setup


def link_to(rel: str, target: str) -> Setup:
    """tmp/rel, a symlink to `target` as given (an absolute path: /dev/zero; or rel itself: a loop)."""

    def setup(project: Path, tmp: Path) -> None:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        if (tmp / rel).is_dir() and not (tmp / rel).is_symlink():
            shutil.rmtree(tmp / rel)
        (tmp / rel).unlink(missing_ok=True)
        (tmp / rel).symlink_to(target)

    return setup


def chain_at(rel: str, depth: int) -> Setup:
    """tmp/rel/d/d/... `depth` folders deep, a manifest at the bottom."""

    def setup(project: Path, tmp: Path) -> None:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        chain(tmp / rel, depth)

    return setup


def named(rel: str, name: bytes) -> Setup:
    """A manifest named `name` (bytes, as the file system has them) in the folder tmp/rel."""

    def setup(project: Path, tmp: Path) -> None:
        (tmp / rel).mkdir(parents=True, exist_ok=True)
        (tmp / rel / os.fsdecode(name)).write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: odd}\n")

    return setup


def sparse_at(rel: str, size: int) -> Setup:
    def setup(project: Path, tmp: Path) -> None:
        with (tmp / rel).open("wb") as handle:
            handle.truncate(size)

    return setup


def git_repo(project: Path, tmp: Path) -> None:
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=project,
            check=True,
            capture_output=True,
        )


def previous_render(project: Path, tmp: Path) -> None:
    """tmp/out as a render left it, then its source/ folder swapped for a link to tmp/victim."""
    runner.invoke(app, ["render", "-s", "test", "-o", str(tmp / "out"), "--project", str(project)])
    shutil.rmtree(tmp / "out" / "source")
    (tmp / "out" / "source").symlink_to(tmp / "victim")


def apps_kustomization(path: str = "./apps", **spec: Any) -> str:
    """The Flux Kustomization clusters/dev applies (the tree's one block)."""
    return yaml.safe_dump(flux_kustomization("apps", path, **spec))


DEMO = "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo, namespace: demo}\ndata: {host: demo.example.org}\n"


def flux_tree(files: dict[str, str] | None = None, links: dict[str, str] | None = None) -> Setup:
    """tmp/repo, a Flux tree whose clusters/dev applies apps/ (a Namespace and a ConfigMap), with
    `files` (path -> text) written over it and `links` (path -> target, {tmp}-relative) made; and
    tmp/imported, a project to import it into."""

    def setup(project: Path, tmp: Path) -> None:
        (tmp / "imported").mkdir(exist_ok=True)
        (tmp / "imported" / "Pulumi.yaml").write_text("name: eoepca-gitops\nruntime: python\n")
        tree = {
            "clusters/dev/apps.yaml": apps_kustomization(),
            "apps/kustomization.yaml": "resources: [demo.yaml]\n",
            "apps/demo.yaml": DEMO,
            **(files or {}),
        }
        for rel, text in tree.items():
            (tmp / "repo" / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / "repo" / rel).write_text(text)
        for rel, target in (links or {}).items():
            if (tmp / "repo" / rel).is_dir():
                shutil.rmtree(tmp / "repo" / rel)
            (tmp / "repo" / rel).unlink(missing_ok=True)
            (tmp / "repo" / rel).symlink_to(tmp / target)

    return setup


def helm_repository(url: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": {"name": "charts", "namespace": "flux-system"},
            "spec": {"interval": "1h", "url": url},
        }
    )


def kustomization_file(**doc: Any) -> dict[str, str]:
    """apps/kustomization.yaml with these fields besides its resources."""
    return {"apps/kustomization.yaml": yaml.safe_dump({"resources": ["demo.yaml"], **doc})}


RENDER = ["render", "-s", "test", "-o", "{tmp}/out", "--project", "{project}"]
IMPORT = [
    "import",
    "{tmp}/repo/clusters/dev",
    "--stack",
    "dev",
    "--repo-root",
    "{tmp}/repo",
    "--out",
    "{tmp}/imported",
]
FILE = "Pulumi.test.yaml"
SSH_URL = {"url": "ssh://git@example.org/gitops", "branch": "main", "auth": {"type": "ssh"}}
POLLER = {"image": "registry.example/eoepca-gitops:1.0", "backendUrl": "s3://state"}
POLL = ["poll", "--repo", "https://example.org/r.git", "--stack", "s", "--state-file", "{tmp}/state/s.json"]
STATUS = ["status", "--state-file", "{tmp}/state.json"]
NEW = ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"]
P = "a/b/c/project/"  # the project, relative to the test folder

CASES = [
    # -- stack files: YAML ------------------------------------------------------------------------
    Case("stack-alias-bomb", RENDER, (FILE, "line 29", "aliases expand"), stack_text(STACK + f"  {NS}:overrides:\n    portal:\n      releases:\n        eoepca-portal:\n          values:\n" + indented(BOMB, 12))),
    Case("stack-self-alias", RENDER, (FILE, "line 2", "refers to its own anchor"), stack_text("config:\n  a: &a [*a]\n")),
    Case("stack-duplicate-key", RENDER, (FILE, "line 20", f"'{NS}:blocks' given twice (first on line 19)"), stack_text(STACK + f"  {NS}:blocks: [base]\n")),
    Case("stack-duplicate-nested-key", RENDER, (FILE, "line 5", "'publicIp' given twice"), stack_text(STACK.replace("    publicIp: 10.0.0.1\n", "    publicIp: 10.0.0.1\n    publicIp: 10.0.0.2\n"))),
    Case("stack-not-utf8", RENDER, (FILE, "line 3", "not UTF-8"), stack_text(b"config:\n  eoepca-gitops:cluster:\n    name: caf\xe9\n")),
    Case("stack-broken-after-salt", RENDER, (FILE, "line 3", "mapping values", "quoted"), stack_text(f"encryptionsalt: v1:abc\nconfig:\n  {NS}:git: url: x\n")),
    Case("stack-tab-indent", RENDER, (FILE, "line 3", "tabs"), stack_text("config:\n  a:\n\tb: 1\n")),
    Case("stack-deep-nesting", RENDER, (FILE, "line 1", "nested deeper"), stack_text("config: " + "[" * 5000 + "]" * 5000 + "\n")),
    Case("stack-control-character", RENDER, (FILE, "line 2", "U+0007"), stack_text("config:\n  a: b\x07\n")),
    Case("stack-empty", RENDER, (FILE, "config", "needs a 'config:' mapping"), stack_text("")),
    Case("stack-a-list", RENDER, (FILE, "config", "needs a 'config:' mapping"), stack_text("- config\n")),
    Case("stack-link-to-passwd", RENDER, (FILE, "config", "needs a 'config:' mapping"), stack_is_link("/etc/passwd")),
    Case("stack-key-with-terminal-escape", RENDER, (FILE, "x\\x1b[2J", "unknown key"), stack_text(STACK + f'  "{NS}:x\\e[2J": 1\n')),
    # -- stack files: values --------------------------------------------------------------------------
    Case("public-ip-integer", RENDER, (FILE, "cluster.publicIp", "valid string"), stack_with("cluster.publicIp", 167772161)),
    Case("public-ip-three-parts", RENDER, (FILE, "cluster.publicIp", "not an IPv4 address"), stack_with("cluster.publicIp", "10.0.0")),
    Case("public-ip-leading-zero", RENDER, (FILE, "cluster.publicIp", "not an IPv4 address"), stack_with("cluster.publicIp", "010.0.0.1")),
    Case("cluster-name-64", RENDER, (FILE, "cluster.name", "at most 63"), stack_with("cluster.name", "a" * 64)),
    Case("cluster-name-upper", RENDER, (FILE, "cluster.name", "not a DNS label"), stack_with("cluster.name", "Test")),
    Case("domain-not-dns", RENDER, (FILE, "cluster.domain", "not a DNS name"), stack_with("cluster.domain", "not a domain!")),
    Case("flux-namespace-64", RENDER, (FILE, "flux.namespace", "at most 63"), stack_with("flux.namespace", "n" * 64)),
    Case("flux-manifest-passwd", RENDER, (FILE, "flux.manifest", "not a Flux install manifest"), stack_with("flux.manifest", "/etc/passwd")),
    Case("flux-manifest-not-utf8", RENDER, ("install.yaml", "line 2", "not UTF-8"), both(file_at("m/install.yaml", b"# Flux\nkind: \xff\n"), stack_with("flux.manifest", "../../../../m/install.yaml"))),
    Case("flux-manifest-alias-bomb", RENDER, ("install.yaml", "line 5", "aliases expand"), both(file_at("m/install.yaml", BOMB), stack_with("flux.manifest", "../../../../m/install.yaml"))),
    Case("flux-manifest-empty-folder", RENDER, (FILE, "flux.version", "no install manifest"), both(file_at("m/README", "x"), stack_with("flux.manifest", "../../../../m"))),
    Case("flux-version-no-v", RENDER, (FILE, "flux.version", "not a Flux release version"), stack_with("flux.version", "2.9.3")),
    Case("flux-patch-unknown-controller", RENDER, (FILE, "flux", "no such controller"), stack_with("flux.patches", {"nope": {"args": []}})),
    Case("git-url-user-token", RENDER, (FILE, "git.url", "credentials in plain text"), stack(git={**SSH_URL, "url": f"https://user:{SECRET}@example.org/r"})),
    Case("git-url-token-user", RENDER, (FILE, "git.url", "credentials in plain text"), stack(git={**SSH_URL, "url": f"https://{SECRET}@example.org/r"})),
    Case("git-url-query-token", RENDER, (FILE, "git.url", "URL's query"), stack(git={**SSH_URL, "url": f"https://example.org/r?access_token={SECRET}"})),
    Case("git-url-scp-form", RENDER, (FILE, "git.url", "not a URL with scheme"), stack(git={**SSH_URL, "url": "git@example.org:r.git"})),
    Case("git-two-refs", RENDER, (FILE, "git", "give one Git ref"), stack(git={**SSH_URL, "tag": "v1"})),
    Case("git-ssh-key-in-plain-text", RENDER, (FILE, "gitSshPrivateKey", "plain text where a secret is required"), stack(gitSshPrivateKey=f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n-----END OPENSSH PRIVATE KEY-----\n")),
    Case("known-hosts-holds-a-key", RENDER, (FILE, "git.auth.knownHosts", "a private key"), stack(git={**SSH_URL, "auth": {"type": "ssh", "knownHosts": f"-----BEGIN RSA PRIVATE KEY-----{SECRET}"}})),
    Case("charts-mirror-token", RENDER, (FILE, "charts.mirror", "credentials"), stack(charts={"mirror": f"https://ci:{SECRET}@charts.example.org"})),
    Case("bucket-endpoint-signature", RENDER, (FILE, "buckets[0].endpoint", "URL's query"), stack(buckets=[{"name": "b", "bucketName": "b", "endpoint": f"https://s3.example.org/?X-Amz-Signature={SECRET}"}])),
    Case("bucket-twice", RENDER, (FILE, "buckets", "same bucket name"), stack(buckets=[{"name": "b", "bucketName": "b", "endpoint": "s3.example.org"}] * 2)),
    Case("webhook-in-plain-text", RENDER, (FILE, "slackUrl", "plain text where a secret is required"), stack(notifications={"providers": [{"name": "slack", "type": "slack", "addressSecret": "slackUrl"}]}, slackUrl=f"https://hooks.slack.com/services/T0/B0/{SECRET}")),
    Case("webhook-as-a-channel", RENDER, (FILE, "notifications.providers[0].channel", "webhook URL"), stack(notifications={"providers": [{"name": "slack", "type": "slack", "addressSecret": "slackUrl", "channel": f"https://hooks.slack.com/services/T0/B0/{SECRET}"}]}, slackUrl={"secure": "v1:AAAA"})),
    Case("provider-twice", RENDER, (FILE, "notifications.providers", "same provider name"), stack(notifications={"providers": [{"name": "s", "type": "slack", "addressSecret": "u"}] * 2}, u={"secure": "v1:AAAA"})),
    Case("poller-env-token", RENDER, (FILE, "poller", "env.GITHUB_TOKEN", "credentialSecrets"), stack(poller={**POLLER, "env": {"GITHUB_TOKEN": SECRET}}, pollerPassphrase={"secure": "v1:AAAA"})),
    Case("poller-env-authorization", RENDER, (FILE, "poller.env.EXTRA_HEADER", "Authorization header"), stack(poller={**POLLER, "env": {"EXTRA_HEADER": f"Authorization: Basic {SECRET}"}}, pollerPassphrase={"secure": "v1:AAAA"})),
    Case("poller-backend-credentials", RENDER, (FILE, "poller.backendUrl", "credentials"), stack(poller={**POLLER, "backendUrl": f"postgres://pulumi:{SECRET}@db/state"}, pollerPassphrase={"secure": "v1:AAAA"})),
    Case("poller-git-url-token", RENDER, (FILE, "poller.gitUrl", "credentials"), stack(poller={**POLLER, "gitUrl": f"https://x:{SECRET}@example.org/r"}, pollerPassphrase={"secure": "v1:AAAA"})),
    Case("poller-namespace", RENDER, (FILE, "poller.namespace", "not a DNS label"), stack(poller={**POLLER, "namespace": "Bad_NS"}, pollerPassphrase={"secure": "v1:AAAA"})),
    Case("poller-name-digit-first", RENDER, (FILE, "poller.name", "Service name"), stack(poller={**POLLER, "name": "1poller"}, pollerPassphrase={"secure": "v1:AAAA"})),
    Case("poller-port", RENDER, (FILE, "poller.port", "less than 65536"), stack(poller={**POLLER, "port": 70000}, pollerPassphrase={"secure": "v1:AAAA"})),
    Case("poller-in-flux-namespace", RENDER, (FILE, f"{NS}:poller", "Namespace flux-system is declared twice"), stack(poller={**POLLER, "namespace": "flux-system"}, pollerPassphrase={"secure": "v1:AAAA"}), flux=True),
    Case("unknown-block", RENDER, (FILE, "blocks[2]", "unknown building block"), stack(blocks=["base", "portal", "nope"])),
    Case("block-enabled-twice", RENDER, (FILE, "blocks", "duplicate block name"), stack(blocks=["base", "portal", "base"])),
    Case("override-unknown-release", RENDER, (FILE, "overrides.portal.releases.nope", "no HelmRelease"), stack(overrides={"portal": {"releases": {"nope": {"version": "1"}}}})),
    Case("unknown-top-level-key", RENDER, (FILE, f"{NS}:nope", "unknown key"), stack(nope=1)),
    Case("kubeconfig-missing", RENDER, (FILE, "kubeconfig", "no such file"), stack(kubeconfig="nowhere/config")),
    Case("await-timeout", RENDER, (FILE, "await.timeout", "not a Go duration"), stack(**{"await": {"timeout": "5 minutes"}})),
    Case("drift-exempt-object", RENDER, (FILE, "driftExempt[0].object", "pattern"), stack(driftExempt=[{"object": "../etc"}])),
    # -- block files ---------------------------------------------------------------------------------
    Case("block-release-twice", RENDER, ("extra.yaml", "helmReleases", "same HelmRelease name 'app'"), block("extra", a_block(helmReleases=[release(), release(namespace="other")]))),
    Case("block-release-name-54", RENDER, ("extra.yaml", "helmReleases[0]", "Helm release name"), block("extra", a_block(helmReleases=[release(name="r" * 54)]))),
    Case("block-release-name-field", RENDER, ("extra.yaml", "helmReleases[0].releaseName", "Helm release name"), block("extra", a_block(helmReleases=[release(releaseName="App_1")]))),
    Case("block-target-namespace-name-too-long", RENDER, ("extra.yaml", "helmReleases[0]", "set releaseName"), block("extra", a_block(helmReleases=[release(name="r" * 30, targetNamespace="t" * 30)]))),
    Case("block-namespace-64", RENDER, ("extra.yaml", "namespaces[0]", "at most 63"), block("extra", a_block(namespaces=["n" * 64]))),
    Case("block-release-namespace-upper", RENDER, ("extra.yaml", "helmReleases[0].namespace", "not a DNS label"), block("extra", a_block(helmReleases=[release(namespace="Demo")]))),
    Case("block-name-dots", RENDER, ("extra.yaml", "name", "not a Kubernetes object name"), block("extra", a_block(name="a..b"))),
    Case("block-not-utf8", RENDER, ("extra.yaml", "line 2", "not UTF-8"), block("extra", b"name: extra\ndescription: \xfe\n")),
    Case("block-alias-bomb", RENDER, ("extra.yaml", "line 15", "aliases expand"), block("extra", "name: extra\nhelmReleases:\n" + indented(yaml.safe_dump([release()]), 2) + "    values:\n" + indented(BOMB, 6))),
    Case("block-duplicate-key", RENDER, ("extra.yaml", "line 3", "'name' given twice"), block("extra", "name: extra\nnamespaces: [x]\nname: other\n")),
    Case("block-repository-credentials", RENDER, ("extra.yaml", "helmRepositories[0].url", "credentials"), block("extra", a_block(helmRepositories=[{"name": "r", "namespace": "demo", "url": f"https://u:{SECRET}@charts.example.org"}]))),
    Case("block-substitute-webhook", RENDER, ("extra.yaml", "kustomization.substitute.hook", "webhook URL"), block("extra", a_block(kustomization={"path": "extra", "substitute": {"hook": f"https://discord.com/api/webhooks/1/{SECRET}"}}))),
    Case("block-same-release-as-another", RENDER, (FILE, f"{NS}:blocks", "HelmRelease demo/eoepca-portal is declared twice (blocks/portal and blocks/extra)"), block("extra", a_block(namespaces=["other"], helmReleases=[release(name="eoepca-portal")])), flux=True),
    Case("block-claims-flux-system", RENDER, (FILE, f"{NS}:blocks", "Namespace flux-system is declared twice"), block("extra", a_block(namespaces=["flux-system"])), flux=True),
    Case("block-depends-on-itself", RENDER, ("extra.yaml", "dependsOn", "dependency cycle"), block("extra", a_block(dependsOn=["extra"]))),
    Case("block-a-list", RENDER, ("extra.yaml", "(document)", "valid dictionary"), block("extra", "- name: extra\n")),
    # -- render --out ----------------------------------------------------------------------------------
    Case("out-dot", ["render", "-s", "test", "-o", ".", "--project", "{project}"], ("--out .", "it is or holds")),
    Case("out-project", ["render", "-s", "test", "-o", "{project}", "--project", "{project}"], ("--out", "it is or holds")),
    Case("out-parent-of-project", ["render", "-s", "test", "-o", "{tmp}/a", "--project", "{project}"], ("--out", "it is or holds")),
    Case("out-home", ["render", "-s", "test", "-o", "{home}", "--project", "{project}"], ("--out", "it is or holds")),
    Case("out-root", ["render", "-s", "test", "-o", "/", "--project", "{project}"], ("--out /", "it is or holds")),
    Case("out-a-file", ["render", "-s", "test", "-o", "{project}/Pulumi.yaml", "--project", "{project}"], ("Pulumi.yaml", "not a folder")),
    Case("out-a-symlink", RENDER, ("--out", "a symlink"), link_at("out", "victim")),
    Case("out-not-empty", RENDER, ("--out", "not empty and not written by render"), file_at("out/notes.txt", "mine")),
    Case("out-clusters-folder", ["render", "-s", "test", "-o", "{project}/clusters", "--project", "{project}"], ("clusters", "not empty")),
    Case("out-hostile-marker", RENDER, (MARKER, "line 2", "not a file of this folder"), file_at(f"out/{MARKER}", "# x\n../victim/keep\n")),
    Case("out-subfolder-swapped-for-link", RENDER, ("out/source", "a symlink"), previous_render, own_output="out", flux=True),
    Case("out-under-a-file", ["render", "-s", "test", "-o", "{project}/Pulumi.yaml/out", "--project", "{project}"], ("Pulumi.yaml/out", "cannot create the folder"), flux=True),
    Case("out-in-proc", ["render", "-s", "test", "-o", "/proc/eoepca/out", "--project", "{project}"], ("/proc/eoepca/out", "cannot create the folder"), flux=True),
    Case("stack-name-escapes", ["render", "-s", "../../etc/passwd", "-o", "{tmp}/out", "--project", "{project}"], ("--stack", "not a stack name")),
    Case("stack-missing", ["render", "-s", "nope", "-o", "{tmp}/out", "--project", "{project}"], ("Pulumi.nope.yaml", "no such stack file")),
    Case("project-missing", ["render", "-s", "test", "-o", "{tmp}/out", "--project", "{tmp}/nowhere"], ("no Pulumi.yaml", "nowhere")),
    Case("render-option-missing", ["render", "-o", "{tmp}/out"], ("Missing option", "--stack")),
    # -- new-cluster ----------------------------------------------------------------------------------
    Case("new-name-escapes", ["new-cluster", "../evil", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], ("NAME", "not a stack name")),
    Case("new-name-exists", ["new-cluster", "test", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], ("Pulumi.test.yaml", "exists already", "git checkout --")),
    Case("new-ip-short", ["new-cluster", "demo", "--from", "test", "--ip", "1.2.3", "--project", "{project}"], ("--ip", "not an IPv4 address")),
    Case("new-ip-out-of-range", ["new-cluster", "demo", "--from", "test", "--ip", "999.1.1.1", "--project", "{project}"], ("--ip", "not an IPv4 address")),
    Case("new-from-missing", ["new-cluster", "demo", "--from", "nope", "--ip", "10.0.0.2", "--project", "{project}"], ("Pulumi.nope.yaml", "no such stack file")),
    Case("new-from-escapes", ["new-cluster", "demo", "--from", "../x", "--ip", "10.0.0.2", "--project", "{project}"], ("--from", "not a stack name")),
    Case("new-name-not-a-cluster-name", ["new-cluster", "Demo_1", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], ("NAME 'Demo_1'", "not a DNS label")),
    Case("new-name-too-long", ["new-cluster", "a" * 64, "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], ("NAME", "not a DNS label", "at most 63")),
    Case("new-domain", ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--domain", "x y", "--project", "{project}"], ("--domain 'x y'", "not a DNS name")),
    Case("new-domain-an-ip", ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--domain", "10.0.0.2", "--project", "{project}"], ("--domain", "not a DNS name")),
    Case("new-ip-unspecified", ["new-cluster", "demo", "--from", "test", "--ip", "0.0.0.0", "--project", "{project}"], ("--ip '0.0.0.0'", "not a usable unicast address", "unspecified")),
    Case("new-ip-broadcast", ["new-cluster", "demo", "--from", "test", "--ip", "255.255.255.255", "--project", "{project}"], ("--ip", "not a usable unicast address", "broadcast")),
    Case("new-ip-multicast", ["new-cluster", "demo", "--from", "test", "--ip", "224.0.0.251", "--project", "{project}"], ("--ip", "not a usable unicast address", "multicast")),
    Case("new-ip-ipv6", ["new-cluster", "demo", "--from", "test", "--ip", "::1", "--project", "{project}"], ("--ip", "not an IPv4 address")),
    Case("new-without-from", ["new-cluster", "demo", "--ip", "10.0.0.2", "--project", "{project}"], ("--from STACK", "--ip ADDRESS", "--check")),
    Case("new-from-a-list", ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], (FILE, "(document)", "a mapping"), stack_text("- config\n- x\n")),
    Case("new-from-config-a-list", ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], (FILE, "config", "a 'config:' mapping"), stack_text("config: [a, b]\n")),
    Case("new-from-secure-a-number", ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], (FILE, f"{NS}:gitSshPrivateKey", "secure: <ciphertext>"), stack(gitSshPrivateKey={"secure": 12})),
    Case("new-from-secure-and-more", ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], (FILE, f"{NS}:gitSshPrivateKey", "and nothing else"), stack(gitSshPrivateKey={"secure": "v1:abc", "plain": SECRET})),
    Case("new-check-missing", ["new-cluster", "--check", "nope", "--project", "{project}"], ("Pulumi.nope.yaml", "no such stack file")),
    Case("new-check-escapes", ["new-cluster", "--check", "../x", "--project", "{project}"], ("NAME", "not a stack name")),
    Case("new-target-dangling-link", ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--force", "--project", "{project}"], ("Pulumi.demo.yaml", "a symlink"), link_at("a/b/c/project/Pulumi.demo.yaml", "victim/planted.yaml"), flux=True),
    Case("new-from-broken-yaml", ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"], (FILE, "line 3", "mapping values"), stack_text(f"encryptionsalt: v1:abc\nconfig:\n  {NS}:git: url: x\n")),
    # -- diff -------------------------------------------------------------------------------------------
    Case("diff-not-a-repository", ["diff", "-s", "test", "--project", "{project}"], ("git rev-parse", "not a git repository")),
    Case("diff-against-an-option", ["diff", "-s", "test", "--against", "--output={tmp}/victim/x", "--project", "{project}"], ("git rev-parse", "Needed a single revision"), git_repo),
    Case("diff-against-missing", ["diff", "-s", "test", "--against", "nope", "--project", "{project}"], ("git rev-parse", "nope"), git_repo),
    Case("diff-stack-escapes", ["diff", "-s", "../x", "--project", "{project}"], ("--stack", "not a stack name"), git_repo),
    Case("diff-bad-stack-file", ["diff", "-s", "test", "--project", "{project}"], (FILE, "line 2", "refers to its own anchor"), both(git_repo, stack_text("config:\n  a: &a [*a]\n")), flux=True),
    # -- poll ---------------------------------------------------------------------------------------------
    Case("poll-listen-port", [*POLL, "--listen", "127.0.0.1:99999"], ("--listen", "port of 0-65535")),
    Case("poll-listen-open-bracket", [*POLL, "--listen", "[::1"], ("--listen", "not HOST:PORT")),
    Case("poll-listen-space", [*POLL, "--listen", "a b:80"], ("--listen", "not HOST:PORT")),
    Case("poll-listen-no-port", [*POLL, "--listen", "localhost"], ("--listen", "not HOST:PORT")),
    Case("poll-log-level", [*POLL, "--log-level", "verbose"], ("--log-level", "is not one of")),
    Case("poll-repo-token", ["poll", "--repo", f"https://ci:{SECRET}@example.org/r.git", "--stack", "s"], ("--repo", "credentials in plain text")),
    Case("poll-repo-query-token", ["poll", "--repo", f"https://example.org/r.git?private_token={SECRET}", "--stack", "s"], ("--repo", "URL's query")),
    Case("poll-interval", [*POLL, "--interval", "1 minute"], ("--interval", "not a Go duration")),
    Case("poll-branch-ref", [*POLL, "--branch", "refs/heads/main"], ("branch must be a plain branch name",)),
    Case("poll-pulumi-missing", [*POLL, "--pulumi", "{tmp}/nowhere/pulumi"], ("--pulumi", "no such file")),
    Case("poll-max-parallel", [*POLL, "--max-parallel", "0"], ("--max-parallel", "greater than or equal to 1")),
    # -- import: a tree reads nothing outside its repository, writes only through the one writer ---------
    Case("import-path-missing", ["import", "{tmp}/nowhere", "--stack", "x", "--out", "{tmp}/imported"], ("nowhere", "not inside a Git work tree")),
    Case("import-path-a-file", ["import", "{project}/Pulumi.yaml", "--stack", "x", "--repo-root", "{project}", "--out", "{tmp}/imported"], ("Pulumi.yaml", "not a folder")),
    Case("import-path-climbs-out", IMPORT, ("Kustomization flux-system/apps (applied from clusters/dev)", "spec.path: ../../..", "leads outside the repository"), flux_tree({"clusters/dev/apps.yaml": apps_kustomization("../../..")})),
    Case("import-path-absolute", IMPORT, ("Kustomization flux-system/apps", "spec.path: /etc", "leads outside the repository"), flux_tree({"clusters/dev/apps.yaml": apps_kustomization("/etc")})),
    Case("import-path-a-link-out", IMPORT, ("Kustomization flux-system/apps", "spec.path: ./apps", "leads outside the repository"), both(file_at("elsewhere/kustomization.yaml", "resources: []\n"), flux_tree(links={"apps": "elsewhere"}))),
    Case("import-file-link-out", IMPORT, ("apps/leak.yaml", "a symlink to", "victim/keep", "outside"), flux_tree(links={"apps/leak.yaml": "victim/keep"})),
    Case("import-generated-folder-link-out", IMPORT, ("apps/demo.yaml", "a symlink to", "victim/keep", "outside"), flux_tree({"apps/kustomization.yaml": ""}, links={"apps/demo.yaml": "victim/keep", "apps/kustomization.yaml": "nowhere"})),
    Case("import-generated-subfolder-link-out", IMPORT, ("apps/ext", "a symlink to", "elsewhere", "outside"), both(file_at("elsewhere/kustomization.yaml", "resources: []\n"), flux_tree(links={"apps/ext": "elsewhere"}))),
    Case("import-kustomization-file-link-out", IMPORT, ("apps/kustomization.yaml", "a symlink to", "outside"), both(file_at("elsewhere/k.yaml", "resources: [demo.yaml]\n"), flux_tree(links={"apps/kustomization.yaml": "elsewhere/k.yaml"}))),
    Case("import-tree-link-to-passwd", IMPORT, ("clusters/dev/passwd.yaml", "a symlink to", "outside"), flux_tree(links={"clusters/dev/passwd.yaml": "../../etc/passwd"})),
    Case("import-generator-absolute", IMPORT, ("apps/kustomization.yaml", "configMapGenerator[0].files[0]: /etc/passwd", "leads outside the repository"), flux_tree(kustomization_file(configMapGenerator=[{"name": "leak", "files": ["/etc/passwd"]}]))),
    Case("import-generator-key-absolute", IMPORT, ("apps/kustomization.yaml", "configMapGenerator[0].files[0]: /etc/hostname"), flux_tree(kustomization_file(configMapGenerator=[{"name": "leak", "files": ["host=/etc/hostname"]}]))),
    Case("import-generator-climbs-out", IMPORT, ("apps/kustomization.yaml", "configMapGenerator[0].files[0]: ../../victim/keep", "leads outside"), flux_tree(kustomization_file(configMapGenerator=[{"name": "leak", "files": ["../../victim/keep"]}]))),
    Case("import-secret-generator-env", IMPORT, ("apps/kustomization.yaml", "secretGenerator[0].envs[0]: /etc/hostname"), flux_tree(kustomization_file(secretGenerator=[{"name": "leak", "envs": ["/etc/hostname"]}]))),
    Case("import-patch-path-absolute", IMPORT, ("apps/kustomization.yaml", "patches[0].path: /etc/passwd"), flux_tree(kustomization_file(patches=[{"path": "/etc/passwd"}]))),
    Case("import-resource-climbs-out", IMPORT, ("apps/kustomization.yaml", "resources[1]: ../../victim", "leads outside"), flux_tree(kustomization_file(resources=["demo.yaml", "../../victim"]))),
    Case("import-base-generator-absolute", IMPORT, ("base/kustomization.yaml", "configMapGenerator[0].files[0]: /etc/passwd"), flux_tree({**kustomization_file(resources=["demo.yaml", "../base"]), "base/kustomization.yaml": yaml.safe_dump({"configMapGenerator": [{"name": "leak", "files": ["/etc/passwd"]}]})})),
    Case("import-flux-system-patch-absolute", IMPORT, ("clusters/dev/flux-system/kustomization.yaml", "patches[0].path: /etc/passwd"), flux_tree({"clusters/dev/flux-system/kustomization.yaml": yaml.safe_dump({"resources": [], "patches": [{"path": "/etc/passwd"}]})})),
    Case("import-component-climbs-out", IMPORT, ("Kustomization flux-system/apps", "spec.components[0]: ../../victim", "leads outside"), flux_tree({"clusters/dev/apps.yaml": apps_kustomization(components=["../../victim"])})),
    # remote bases (issue 28) are listed and carried, not refused; what no server or fetch could take is
    Case("import-remote-url-too-long", IMPORT, ("apps/kustomization.yaml:3", "resources[1]", "a remote resource of 20025 characters", "more than 8192"), flux_tree(kustomization_file(resources=["demo.yaml", "https://example.org/" + "a" * 20_000 + ".yaml"]))),
    Case("import-fetch-remote-file-etc", [*IMPORT, "--fetch-remote"], ("apps/kustomization.yaml:3", "resources[1]: file:///etc", "not fetched"), flux_tree(kustomization_file(resources=["demo.yaml", "file:///etc"]))),
    Case("import-fetch-remote-url-escape", [*IMPORT, "--fetch-remote"], ("apps/kustomization.yaml", "resources[1]: https://example.org/\\x1b[2J.yaml", "not a URL an HTTP request can carry"), flux_tree(kustomization_file(resources=["demo.yaml", "https://example.org/\x1b[2J.yaml"]))),
    Case("import-stack-file-exists", [*IMPORT[:-1], "{project}"], ("Pulumi.dev.yaml exists already", "--force replaces it", "git checkout -- Pulumi.dev.yaml"), both(file_at("a/b/c/project/Pulumi.dev.yaml", "config: {}\n"), flux_tree())),
    Case("import-stack-file-a-link", [*IMPORT, "--force"], ("Pulumi.dev.yaml", "a symlink; refusing to write through it"), both(link_at("imported/Pulumi.dev.yaml", "victim/keep"), flux_tree())),
    Case("import-stack-name-escapes", [*IMPORT[:3], "../dev", *IMPORT[4:]], ("--stack", "not a stack name"), flux_tree()),
    Case("import-out-clusters-flux-a-link-out", IMPORT, ("clusters/flux/", "leads outside", "imported", "victim"), both(link_at("imported/clusters/flux", "victim"), flux_tree())),
    Case("import-out-clusters-a-link-out", IMPORT, ("clusters/blocks", "leads outside"), both(link_at("imported/clusters", "victim"), flux_tree())),
    Case("import-out-blocks-a-link-out", IMPORT, ("clusters/blocks", "leads outside"), both(link_at("imported/clusters/blocks", "victim"), flux_tree())),
    Case("import-out-clusters-flux-a-link-inside", IMPORT, ("clusters/flux", "a symlink or not a folder"), both(file_at("imported/shared/x", "x"), link_at("imported/clusters/flux", "imported/shared"), flux_tree())),
    # -- status ---------------------------------------------------------------------------------------------
    Case("status-state-missing", ["status", "--state-file", "{tmp}/nowhere.json"], ("nowhere.json", "no state file")),
    Case("status-state-not-json", ["status", "--state-file", "{tmp}/state.json"], ("state.json", "unreadable state"), file_at("state.json", "{nope")),
    Case("status-state-not-utf8", ["status", "--state-file", "{tmp}/state.json"], ("state.json", "unreadable state"), file_at("state.json", b"\xff\xfe")),
    Case("status-state-a-folder", ["status", "--state-file", "{tmp}/victim"], ("victim", "a folder, not a regular file")),
    Case("status-stack-escapes", ["status", "-s", "../x", "--project", "{project}"], ("--stack", "not a stack name")),
    Case("status-serve-port", ["status", "-s", "test", "--serve", "127.0.0.1:99999", "--project", "{project}"], ("--serve", "port of 0-65535")),
    # -- issue 23: every input bounded ------------------------------------------------------------------
    Case("block-link-to-dev-zero", RENDER, ("extra.yaml", "a device, not a regular file"), both(block("extra", a_block()), link_to(f"{P}clusters/blocks/extra.yaml", "/dev/zero"))),
    Case("block-a-fifo", RENDER, ("extra.yaml", "a FIFO, not a regular file"), both(block("extra", a_block()), fifo_at(f"{P}clusters/blocks/extra.yaml"))),
    Case("stack-a-fifo", RENDER, (FILE, "a FIFO, not a regular file"), fifo_at(f"{P}{FILE}")),
    Case("stack-64-mib", RENDER, (FILE, "larger than 16 MiB"), sparse_at(f"{P}{FILE}", 64 * 1024 * 1024)),
    Case("status-state-a-fifo", STATUS, ("state.json", "a FIFO, not a regular file"), fifo_at("state.json")),
    Case("status-state-dev-zero", STATUS, ("state.json", "a device, not a regular file"), link_to("state.json", "/dev/zero")),
    Case("poll-state-a-fifo", [*POLL, "--once"], ("s.json", "a FIFO, not a regular file"), fifo_at("state/s.json")),
    Case("import-tree-a-fifo", IMPORT, ("apps/x.yaml", "a FIFO, not a regular file"), both(flux_tree(), fifo_at("repo/apps/x.yaml"))),
    Case("import-resource-a-fifo", IMPORT, ("trap.yaml", "not a regular file"), both(flux_tree(kustomization_file(resources=["demo.yaml", "trap.yaml"])), fifo_at("repo/apps/trap.yaml"))),
    # -- issue 23: one line, never a traceback -------------------------------------------------------
    Case("stack-integer-5000-digits", RENDER, (FILE, "line 4", "an integer of more than 100 digits"), stack_text(STACK.replace("publicIp: 10.0.0.1", "publicIp: " + "9" * 5000))),
    Case("block-integer-5000-digits", RENDER, ("extra.yaml", "line 2", "an integer of more than 100 digits"), block("extra", "name: extra\nnamespaces: " + "1" * 5000 + "\n")),
    Case("stack-timestamp-tag-on-text", RENDER, (FILE, "line 2", "timestamp value that cannot be read"), stack_text("config:\n  x: !!timestamp nope\n")),  # found by the fuzzer
    Case("stack-int-tag-on-text", RENDER, (FILE, "line 2", "int value that cannot be read"), stack_text("config:\n  a: !!int abc\n")),
    Case("status-state-stacks-a-list", STATUS, ("state.json", "unreadable state", "stacks: not a dict"), file_at("state.json", '{"stacks": []}')),
    Case("status-state-failures-a-string", STATUS, ("state.json", "stacks.s: failures: not a number"), file_at("state.json", '{"stacks": {"s": {"stack": "s", "failures": "2"}}}')),
    Case("status-state-nested-deep", STATUS, ("state.json", "nested too deep"), file_at("state.json", "[" * 100_000 + "]" * 100_000)),
    Case("poll-state-stacks-a-list", [*POLL, "--once"], ("s.json", "unreadable state"), file_at("state/s.json", '{"stacks": []}')),
    Case("new-from-key-not-a-string", NEW, ("Pulumi.demo.yaml", "missing required key"), stack_text("config:\n  1: x\n")),
    Case("out-a-symlink-loop", ["render", "-s", "test", "-o", "{tmp}/loop", "--project", "{project}"], ("--out", "a symlink"), link_to("loop", "loop")),
    Case("project-a-symlink-loop", ["render", "-s", "test", "-o", "{tmp}/out", "--project", "{tmp}/loop"], ("loop", "a symlink loop"), link_to("loop", "loop")),
    Case("import-path-a-nul", IMPORT, ("spec.path", "not a path (a NUL character)"), flux_tree({"clusters/dev/apps.yaml": apps_kustomization("\x00")})),  # found by the fuzzer
    Case("flux-layer-path-a-nul", [*RENDER, "--flux-layer"], ("spec.path", "not a path (a NUL character)"), block("extra", a_block(namespaces=["extra"], kustomization={"path": "a\x00b"})), flux=True),
    Case("import-tree-symlink-loop", IMPORT, ("apps/loop.yaml", "a symlink loop"), both(flux_tree(), link_to("repo/apps/loop.yaml", "loop.yaml"))),
    Case("import-tree-10000-deep", IMPORT, ("nested more than 64 folders",), both(flux_tree(), chain_at("repo/apps/deep", 10_000))),
    Case("import-tree-name-not-utf8", IMPORT, ("caf\\udce9.yaml", "not UTF-8", "rename it"), both(flux_tree(), named("repo/apps", b"caf\xe9.yaml"))),
    Case("import-tree-name-with-escape", IMPORT, ("x\\x1b[2J.yaml", "a control character"), both(flux_tree(), named("repo/apps", b"x\x1b[2J.yaml"))),
    # -- issue 23: credentials found by structure ----------------------------------------------------
    Case("git-url-password-with-space", RENDER, (FILE, "git.url", "credentials in plain text"), stack(git={**SSH_URL, "url": f"https://ci:pass {SECRET}@example.org/r"})),
    Case("git-url-password-with-tab", RENDER, (FILE, "git.url", "credentials in plain text"), stack(git={**SSH_URL, "url": f"https://ci:pass\t{SECRET}@example.org/r"})),
    Case("poll-repo-password-with-space", ["poll", "--repo", f"https://ci:pass {SECRET}@example.org/r.git", "--stack", "s"], ("--repo", "credentials in plain text")),
    Case("import-helm-repository-credentials", IMPORT, ("imported from the tree", "url", "credentials in plain text"), flux_tree({"apps/kustomization.yaml": "resources: [demo.yaml, repo.yaml]\n", "apps/repo.yaml": helm_repository(f"https://ci:{SECRET}@charts.example.org")})),
    Case("new-ip-echoed-is-redacted", [*NEW[:5], f"https://u:{SECRET}@example.org", *NEW[6:]], ("--ip", "not an IPv4 address", "***")),
    Case("diff-against-a-credential-url", ["diff", "-s", "test", "--against", f"https://u:{SECRET}@example.org/r", "--project", "{project}"], ("git rev-parse", "***"), git_repo),
    # -- issue 23: nothing read outside the project ----------------------------------------------------
    Case("flux-layer-path-climbs-out", [*RENDER, "--flux-layer"], ("spec.path", "leads outside"), block("extra", a_block(namespaces=["extra"], kustomization={"path": "../../../../../../victim"})), flux=True),
    Case("flux-layer-git-path-out", [*RENDER, "--flux-layer"], ("spec.path", "leads outside"), stack(git={**SSH_URL, "path": "../../../../victim"}), flux=True),
    Case("flux-layer-folder-a-link-out", [*RENDER, "--flux-layer"], ("spec.path", "leads outside"), link_to(f"{P}clusters/flux/portal", "../../../../../../victim"), flux=True),
    Case("flux-layer-resource-out", [*RENDER, "--flux-layer"], ("resources[2]", "leads outside"), file_at(f"{P}clusters/flux/portal/kustomization.yaml", "resources: [pvc.yaml, ingress.yaml, ../../../../../../../victim]\n"), flux=True),
    # -- issue 23: nothing written where no one asked ----------------------------------------------------
    Case("import-out-root", [*IMPORT[:-1], "/"], ("--out /", "it is or holds"), flux_tree()),
    Case("import-out-home", [*IMPORT[:-1], "{home}"], ("--out", "it is or holds"), flux_tree()),
    Case("import-out-not-a-project", [*IMPORT[:-1], "{tmp}/victim"], ("--out", "not a project"), flux_tree()),
    # -- issue 23: no terminal control, nothing accepted that is wrong -----------------------------------
    Case("diff-against-escape", ["diff", "-s", "test", "--against", "\x1b[2Jx", "--project", "{project}"], ("git rev-parse", "\\x1b[2Jx"), git_repo),
    Case("public-ip-unspecified", RENDER, (FILE, "cluster.publicIp", "not a usable unicast address"), stack_with("cluster.publicIp", "0.0.0.0")),
    Case("public-ip-broadcast", RENDER, (FILE, "cluster.publicIp", "not a usable unicast address"), stack_with("cluster.publicIp", "255.255.255.255")),
    Case("chart-version-newline", RENDER, ("extra.yaml", "helmReleases[0].version", "not a chart version"), block("extra", a_block(helmReleases=[release(version="1.0.0\nx")]))),
    Case("override-version-newline", RENDER, (FILE, "overrides.portal.releases.eoepca-portal.version", "not a chart version"), stack(overrides={"portal": {"releases": {"eoepca-portal": {"version": "1.2\n3"}}}})),
]  # fmt: skip
runner = CliRunner()


def _snapshot(root: Path, skip: Path | None) -> dict[str, str]:
    """Every path under root (FIFOs and devices not opened, links not followed), `skip` left out."""
    return snapshot(root, (skip,) if skip is not None else ())


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """tmp/a/b/c/project (the fixture, Flux manifests at ../../../../shared), tmp/home as $HOME,
    tmp/victim with a file in it; the working folder is the project."""
    project = tmp_path / "a" / "b" / "c" / "project"
    shutil.copytree(FIXTURE, project, symlinks=False)
    link_shared_flux(tmp_path)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".profile").write_text("# mine\n")
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "keep").write_text("keep\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(project)
    return tmp_path, project, tmp_path / "home"


def test_there_are_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id, marks=[pytest.mark.flux_manifests] if c.flux else []) for c in CASES]
)
def test_hostile_input(case: Case, world: tuple[Path, Path, Path]) -> None:
    tmp, project, home = world
    case.setup(project, tmp)
    own = tmp / case.own_output if case.own_output else None
    before = _snapshot(tmp, own)
    argv = [a.format(project=project, tmp=tmp, home=home) for a in case.argv]
    result = runner.invoke(app, argv)
    after = _snapshot(tmp, own)

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", result.output), (
        "a control character reached the terminal"
    )
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for words in case.expect:
        assert words in lines[0], f"{words!r} not in {lines[0]!r}"
    assert after == before, "written or deleted outside the command's own output"
    assert SECRET not in result.output
    for path in own.rglob("*") if own is not None else ():
        assert path.is_symlink() or path.is_dir() or SECRET.encode() not in path.read_bytes(), path


def test_hostile_remote_bases_are_listed_escaped_and_nothing_read(world: tuple[Path, Path, Path]) -> None:
    """Remote bases import (issue 28): Flux fetches them at apply time, so a URL with terminal
    control in it, or a file:// repository at /etc, is listed and carried, not refused; the report
    shows it escaped, one line each, and nothing of /etc is read into the project."""
    tmp, project, _ = world
    hostile = [
        "https://example.org/\x1b[2J\x07x.yaml",
        "file:///etc//passwd",
        "git::file:///etc?ref=\x1b]0;t\x07",
    ]
    flux_tree(kustomization_file(resources=["demo.yaml", *hostile]))(project, tmp)
    before = _snapshot(tmp, tmp / "imported")
    result = runner.invoke(app, [a.format(tmp=tmp) for a in IMPORT])
    assert result.exit_code == 0, result.output
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", result.output), (
        "a control character reached the terminal"
    )
    report = (tmp / "imported" / "import-report.md").read_text()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", report)
    for shown in ["https://example.org/\\x1b[2J\\x07x.yaml (a URL)", "file:///etc//passwd (a Git repository)",
                  "git::file:///etc?ref=\\x1b]0;t\\x07 (a Git repository)"]:  # fmt: skip
        assert shown in report and shown in result.output
    assert _snapshot(tmp, tmp / "imported") == before
    passwd = Path("/etc/passwd").read_bytes().splitlines()[0]
    assert not any(passwd in p.read_bytes() for p in (tmp / "imported").rglob("*") if p.is_file())


@pytest.mark.flux_manifests
def test_a_name_too_long_for_a_file_name_renders_whole(world: tuple[Path, Path, Path]) -> None:
    """A block named at the limit Kubernetes allows (253): its objects' file names are cut, with a
    digest, where the file system would refuse them; before, render failed halfway."""
    tmp, project, _ = world
    name = "b" + "-x" * 126
    (project / "clusters" / "blocks" / "long.yaml").write_text(
        yaml.safe_dump(a_block(name=name, namespaces=["extra"], kustomization={"path": "portal"}))
    )
    stack(blocks=["base", "portal", name])(project, tmp)
    result = runner.invoke(app, [a.format(project=project, tmp=tmp) for a in RENDER])
    assert result.exit_code == 0, result.output
    files = [p for p in (tmp / "out").rglob("*.yaml")]
    assert all(len(p.name.encode()) <= 255 for p in files)
    assert any(name[:100] in p.name for p in files)


def test_a_lone_stalled_condition_is_shown(world: tuple[Path, Path, Path]) -> None:
    """A state an older or hand-edited poller left: what it holds is shown, nothing is invented."""
    tmp, _, _ = world
    doc = {"stacks": {"s": {"stack": "s", "conditions": [{"type": "Stalled", "status": True,
                                                           "reason": "TooManyFailures", "message": "gave up"}]}}}  # fmt: skip
    (tmp / "state.json").write_text(json.dumps(doc))
    result = runner.invoke(app, ["status", "--state-file", str(tmp / "state.json")])
    assert result.exit_code == 0, result.output
    assert "stalled" in result.output and "gave up" in result.output


def test_ctrl_c_in_clicks_teardown_is_one_line(
    world: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the command, while click closes its context: typer made it exit 130 without a
    word (found by the fuzzer)."""
    tmp, project, _ = world
    close = Context._close_with_exception_info

    def interrupted_close(ctx: Context, *exc_info: Any) -> Any:
        closed = close(ctx, *exc_info)
        if ctx.parent is None:
            raise KeyboardInterrupt
        return closed

    monkeypatch.setattr(Context, "_close_with_exception_info", interrupted_close)
    result = runner.invoke(app, [a.format(project=project, tmp=tmp) for a in RENDER])
    assert result.exit_code == 130, result.output
    assert result.output.splitlines()[-1] == "error: interrupted", result.output
    assert "Traceback" not in result.output


def _in_the_entry_script(output: str, entry: Path) -> bool:
    """A KeyboardInterrupt traceback whose frames are all pip's console script or the import machinery
    (a loaded machine can still be there 50 ms after the start), none a line of this program."""
    frames = [ln.strip() for ln in output.splitlines() if ln.strip().startswith('File "')]
    return (
        output.rstrip().endswith("KeyboardInterrupt")
        and bool(frames)
        and all(f'File "{entry}"' in f or 'File "<frozen ' in f for f in frames)
    )


@pytest.mark.flux_manifests
@pytest.mark.parametrize("after", [0.0, 0.05, 0.3, 1.0])
def test_ctrl_c_in_the_first_second_is_one_line(world: tuple[Path, Path, Path], after: float) -> None:
    """The real program, interrupted while it imports its commands or renders: what it printed before,
    then one line, exit 130; never a traceback from it, nothing half-written. Before the program runs
    (the interpreter's start, tens of milliseconds) and after it has finished, Ctrl-C is Python's:
    killed by SIGINT, or `Fatal Python error: init_import_site`."""
    tmp, project, _ = world
    entry = Path(sys.executable).parent / "eoepca-gitops"
    argv = [a.format(project=project, tmp=tmp) for a in [*RENDER, "--flux-layer"]]
    proc = subprocess.Popen([str(entry), *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    if proc.returncode == 1 and "Fatal Python error: init_import_site" in output:
        return  # the interpreter's own start, before any line of this program runs: Python's to report
    if _in_the_entry_script(output, entry):
        return  # pip's wrapper importing `run`, before its first line: Python's too
    lines = output.splitlines()
    assert proc.returncode in (0, 130, -signal.SIGINT), output
    assert "Traceback" not in output and all(not line.startswith("error: ") for line in lines[:-1]), output
    assert proc.returncode != 130 or lines[-1] == "error: interrupted", output
    leftovers = [p for p in tmp.rglob(".*.tmp")]
    assert not leftovers, leftovers
