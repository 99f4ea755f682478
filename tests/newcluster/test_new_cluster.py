"""`new-cluster` from each shipped stack and `new-cluster --check`, through typer's CliRunner, in a
copy of the project: what is copied (comments and key order kept), what is not, the checklist
(required steps, the same commands as text and JSON) and --check once the checklist is followed
(its commands applied to the stack file as `pulumi config set` would; the real engine runs them in
tests/integration/test_new_cluster.py).

Refusals (exit 2, one line, nothing written) are cases of tests/cli/test_hostile_inputs.py."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from tests.helpers import REPO_ROOT

SHIPPED = ("creodias", "minikube", "local")
NS = "eoepca-gitops"
runner = CliRunner()
# Every test copies a shipped stack, which reads Flux's install manifest (tests/outside_data.py).
pytestmark = pytest.mark.flux_manifests

# The comments of each shipped stack that were about a value the copy drops or replaces: they go
# with it (a `new-cluster:` note takes their place); every other comment stays, in order.
LOST = {
    "creodias": [
        "# The tree uses develop.eoepca.org (the design page's 185.52.193.87 + nip.io is not what runs).",
        "# creodias' own infrastructure, which the blocks use as ${nfs_server}, ${eodata_endpoint}, ...",
        "# The blocks' plain manifests: clusters/flux/<block> plus creodias' sealed secrets",
        "# (clusters/creodias/<block>/kustomization.yaml includes ../../flux/<block>); "
        "see clusters/README.md.",
    ],
    "minikube": [],
    "local": [
        "# Stand-ins: the local charts neither mount nor call these; a real cluster names its own.",
        "# The shared manifests plus the local cluster's own "
        "(clusters/local/: its cache credentials stand-in).",
        "# The dev cluster's kubeconfig context: the cluster of $KUBECONFIG (scripts/env.sh sets it), and",
        "# nothing else: a kubeconfig without this context is refused, so this stack never lands elsewhere.",
    ],
}
DROPPED = (
    f"config.{NS}:cluster.domain",
    f"config.{NS}:cluster.nfs",
    f"config.{NS}:cluster.eoData",
    f"config.{NS}:cluster.objectStore",
    f"config.{NS}:kubeContext",
    "encryptionsalt",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    dest.mkdir()
    for name in ("Pulumi.yaml", *(f"Pulumi.{s}.yaml" for s in SHIPPED)):
        shutil.copy(REPO_ROOT / name, dest / name)
    shutil.copytree(REPO_ROOT / "clusters", dest / "clusters")
    return dest


def new_cluster(project: Path, *args: str) -> Any:
    return runner.invoke(app, ["new-cluster", *args, "--project", str(project)])


def copy_of(project: Path, source: str, *extra: str) -> dict[str, Any]:
    result = new_cluster(project, "demo", "--from", source, "--ip", "203.0.113.7", "--json", *extra)
    assert result.exit_code == 0, result.output
    checklist: dict[str, Any] = json.loads(result.stdout)
    return checklist


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def paths(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in [f"{prefix}{k}", *paths(v, f"{prefix}{k}.")]]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in paths(v, f"{prefix}{i}.")]
    return []


@pytest.mark.parametrize("source", SHIPPED)
def test_the_copy_keeps_the_sources_comments_and_key_order_but_where_a_value_went(
    project: Path, source: str
) -> None:
    copy_of(project, source)
    old_text = (project / f"Pulumi.{source}.yaml").read_text()
    new_text = (project / "Pulumi.demo.yaml").read_text()
    kept = [c for c in comments(old_text) if c not in LOST[source]]
    new = comments(new_text)
    assert not set(LOST[source]) & set(new)
    # Every kept comment, in order; whatever else the copy has is a note of its own.
    at = 0
    ours: list[str] = []
    for line in new:
        if at < len(kept) and line == kept[at]:
            at += 1
        else:
            ours.append(line)
    assert at == len(kept), f"lost: {kept[at]!r}"
    notes = " ".join(ours)
    assert ours[0].startswith(f"# Cluster demo, made by `eoepca-gitops new-cluster demo --from {source}`")
    assert all(line.startswith("# ") for line in ours)
    for dropped in ("kubeContext", "encryptionsalt", "nfs", "domain"):
        if f"{dropped}:" in old_text:
            assert dropped in notes, dropped
    old, new_doc = yaml.safe_load(old_text), yaml.safe_load(new_text)
    added = f"config.{NS}:clusterSecrets"
    assert [p for p in paths(new_doc) if not p.startswith(added)] == [
        p for p in paths(old) if not p.startswith(DROPPED)
    ]
    cluster = new_doc["config"][f"{NS}:cluster"]
    assert cluster == {"name": "demo", "publicIp": "203.0.113.7"}
    assert new_doc["config"][f"{NS}:git"]["path"] == "./clusters/flux"


def test_a_domain_given_replaces_the_sources_in_place(project: Path) -> None:
    copy_of(project, "creodias", "--domain", "demo.example.org")
    text = (project / "Pulumi.demo.yaml").read_text()
    assert "    # new-cluster: demo's (was develop.eoepca.org)\n    domain: demo.example.org\n" in text
    copy_of(project, "minikube", "--domain", "demo.example.org", "--force")
    cluster = yaml.safe_load((project / "Pulumi.demo.yaml").read_text())["config"][f"{NS}:cluster"]
    assert list(cluster) == ["name", "publicIp", "domain"]


REQUIRED = {
    "creodias": ["init", "set:git.url", "git-auth", "secret:cacheAccessSecret"],
    "minikube": ["init", "set:git.url", "secret:cacheAccessSecret"],
    "local": ["init", "secret:cacheAccessSecret"],
}
CLUSTER_VALUES = [
    "set:cluster.nfs.server",
    "set:cluster.nfs.path",
    "set:cluster.eoData.endpoint",
    "set:cluster.eoData.region",
    "set:cluster.objectStore.endpoint",
    "set:cluster.objectStore.region",
    "set:cluster.eoData.catalogue",
]


@pytest.mark.parametrize("source", SHIPPED)
def test_the_checklist_says_what_only_the_new_cluster_knows_in_order(project: Path, source: str) -> None:
    checklist = copy_of(project, source)
    steps = {s["id"]: s for s in checklist["steps"]}
    required = [s["id"] for s in checklist["steps"] if s["required"]]
    assert required == REQUIRED[source] + CLUSTER_VALUES
    ids = [s["id"] for s in checklist["steps"]]
    assert ids[0] == "env" and set(steps["env"]["env"]) == {
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE",
        "KUBECONFIG",
    }
    assert ids.index("check") < ids.index("up")
    assert steps["init"]["commands"] == ["pulumi stack init demo --secrets-provider passphrase"]
    assert steps["set:cluster.nfs.server"]["commands"] == [
        "pulumi config set --stack demo --path cluster.nfs.server <NFS_SERVER>"
    ]
    # A secret is read from a file, never given on the command line.
    secret = steps["secret:cacheAccessSecret"]["commands"]
    assert secret == [
        "pulumi config set --stack demo --secret cacheAccessSecret < <CACHE_ACCESS_SECRET_VALUES_YAML_FILE>"
    ]
    made = yaml.safe_load((project / "Pulumi.demo.yaml").read_text())["config"][f"{NS}:clusterSecrets"]
    assert made == [
        {"name": "cache-access-secret", "namespace": "rm", "data": {"values.yaml": "cacheAccessSecret"}}
    ]
    every = [
        c
        for s in checklist["steps"]
        for c in [*s["commands"], *(c for o in s.get("options", []) for c in o["commands"])]
    ]
    assert all(re.fullmatch(r"[A-Z0-9_]+", b) for c in every for b in re.findall(r"<([^<> ]+)>", c))
    assert set(checklist["blanks"]) == {b for c in every for b in re.findall(r"<([A-Z0-9_]+)>", c)}
    assert not any(" --secret " in c and "<" not in c for c in every)


def test_flux_prerequisites_and_notification_secrets_of_creodias(project: Path) -> None:
    steps = {s["id"]: s for s in copy_of(project, "creodias")["steps"]}
    flux = steps["flux-version"]
    assert "v0.24.0" in flux["text"] and "v2.9.3" in flux["text"] and "docs/upgrade.md" in flux["text"]
    assert [o["id"] for o in flux["options"]] == ["default", "keep"]
    assert flux["options"][0]["commands"] == ["pulumi config set --stack demo --path flux.version v2.9.3"]
    assert steps["block:cluster-prerequisites"]["commands"] == [
        "pulumi config set --stack demo --path 'blocks[8]' cluster-prerequisites"
    ]
    assert [o["id"] for o in steps["git-auth"]["options"]] == ["ssh", "https", "none"]
    assert steps["notify:flux-system/slack-url"]["commands"] == [
        "kubectl create secret generic slack-url --namespace flux-system "
        "--from-file=address=<SLACK_URL_ADDRESS_FILE>"
    ]
    sealed = steps["sealed"]["commands"]
    files = sorted(
        p for p in (project / "clusters/creodias").rglob("*.yaml") if p.name != "kustomization.yaml"
    )
    for path in files:  # one kubeseal command per Secret file of creodias' folder
        target = f"clusters/demo/{path.relative_to(project / 'clusters/creodias').as_posix()}"
        (line,) = [c for c in sealed if c.endswith(f"> {target}")]
        assert "kubeseal --cert clusters/demo/pub-sealed-secrets.pem --format yaml" in line
    assert "pulumi config set --stack demo --path git.path ./clusters/demo" in sealed
    assert "flux-version" not in {s["id"] for s in copy_of(project, "local", "--force")["steps"]}


def test_the_text_checklist_holds_every_command_of_the_json_one(project: Path) -> None:
    checklist = copy_of(project, "creodias")
    text = new_cluster(project, "demo", "--from", "creodias", "--ip", "203.0.113.7", "--force").stdout
    lines = {line.strip() for line in text.splitlines()}
    for step in checklist["steps"]:
        for c in [*step["commands"], *(c for o in step.get("options", []) for c in o["commands"])]:
            assert c in lines


def _follow(project: Path, command: str, answers: dict[str, str]) -> None:
    """What `pulumi stack init` and `pulumi config set` do to the stack file, for a unit test."""
    for name, value in answers.items():
        command = command.replace(f"<{name}>", shlex.quote(value))
    assert "<" not in command.replace(" < ", " "), command
    path = project / "Pulumi.demo.yaml"
    raw = yaml.safe_load(path.read_text())
    words = shlex.split(command.replace(" < ", " "))
    if words[:3] == ["pulumi", "stack", "init"]:
        raw["encryptionsalt"] = "v1:test"
    elif words[:5] == ["pulumi", "config", "set", "--stack", "demo"] and words[5] == "--secret":
        raw["config"][f"{NS}:{words[6]}"] = {"secure": "v1:test"}
    elif words[:6] == ["pulumi", "config", "set", "--stack", "demo", "--path"]:
        top, *rest = re.findall(r"[^.\[\]]+", words[6])
        node = raw["config"].setdefault(f"{NS}:{top}", {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = words[7]
    else:
        raise AssertionError(f"not a command this test follows: {command}")
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


ANSWERS = {
    "GIT_URL": "https://git.example.org/eoepca-gitops.git",
    "NFS_SERVER": "10.0.0.5",
    "NFS_PATH": "/data",
    "EO_DATA_ENDPOINT": "https://eodata.example.org",
    "EO_DATA_REGION": "r1",
    "EO_DATA_CATALOGUE": "https://catalogue.example.org",
    "OBJECT_STORE_ENDPOINT": "https://s3.example.org",
    "OBJECT_STORE_REGION": "r1",
}


@pytest.mark.parametrize("source", SHIPPED)
def test_check_lists_what_is_missing_until_the_checklist_is_followed(project: Path, source: str) -> None:
    checklist = copy_of(project, source)
    before = new_cluster(project, "--check", "demo", "--json")
    assert before.exit_code == 1, before.output
    report = json.loads(before.stdout)
    required = [s for s in checklist["steps"] if s["required"]]
    assert (report["ready"], [s["id"] for s in report["steps"]]) == (False, [s["id"] for s in required])
    for step in required:
        commands = step["commands"] or next(o["commands"] for o in step["options"] if o["id"] == "none")
        for command in commands:
            _follow(
                project,
                command,
                {**ANSWERS, **{b: "/dev/null" for b in checklist["blanks"] if b.endswith("_FILE")}},
            )
    after = new_cluster(project, "--check", "demo")
    assert after.exit_code == 0, after.output
    assert "nothing missing" in after.output


def test_check_of_a_shipped_stack_names_what_it_leaves_to_its_operators(project: Path) -> None:
    result = new_cluster(project, "--check", "minikube", "--json")
    assert result.exit_code == 1
    ids = [s["id"] for s in json.loads(result.stdout)["steps"]]
    # minikube reads the cache credentials nothing provides: the stack can make them.
    assert ids[:2] == ["init", "set:git.url"] and "reads:rm/cache-access-secret" in ids
