"""`import` then `render --flux-layer` of trees in the layouts Flux users follow (tests/fixtures/trees),
compared object by object with what Flux applies from the original, substitution done as Flux does
it: each tree alone, every tree into one project, and what each import may and may not say."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.errors import ConfigError
from eoepca_gitops.model import defaults
from eoepca_gitops.project import load_stack_file
from tests.importer.trees import (
    CLUSTERS,
    built,
    complete,
    differences,
    import_cluster,
    project,
    repository,
    stack_name,
)

pytestmark = pytest.mark.flux_manifests


def _config(out: Path, stack: str) -> dict[str, Any]:
    raw = yaml.safe_load((out / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.removeprefix("eoepca-gitops:"): v for k, v in raw.items()}


def _block(out: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((out / defaults.BLOCKS_DIR / f"{name}.yaml").read_text())
    return data


def _report(out: Path) -> str:
    return (out / "import-report.md").read_text()


def _imported(layout: str, tmp: Path) -> tuple[Path, Path]:
    """(the tree, the project) with every cluster of the layout imported, as the import wrote them."""
    repo, out = repository(layout, tmp), project(tmp)
    for cluster in CLUSTERS[layout]:
        import_cluster(repo, cluster, stack_name(layout, cluster), out)
    return repo, out


@pytest.mark.parametrize("layout", sorted(CLUSTERS))
def test_each_tree_renders_as_flux_applies_it(layout: str, tmp_path: Path) -> None:
    repo, out = _imported(layout, tmp_path)
    for cluster in CLUSTERS[layout]:
        stack = stack_name(layout, cluster)
        complete(out, stack)
        problems = differences(out, stack, repo, cluster)
        assert not problems, "\n".join(problems)
    # suspend: false, which the stack declares so that a suspend by hand is drift, is no difference
    assert "spec.suspend" not in _report(out)


def test_every_tree_into_one_project(tmp_path: Path) -> None:
    """Eight clusters of six repositories in one project: blocks the same are shared, the others
    get new names, and every stack still renders exactly."""
    out = project(tmp_path)
    done = []
    for layout, clusters in CLUSTERS.items():
        repo = repository(layout, tmp_path)
        for cluster in clusters:
            stack = stack_name(layout, cluster)
            import_cluster(repo, cluster, stack, out)
            complete(out, stack)
            done.append((stack, repo, cluster))
    for stack, repo, cluster in done:
        problems = differences(out, stack, repo, cluster)
        assert not problems, stack + "\n" + "\n".join(problems)
    blocks = {p.stem for p in (out / defaults.BLOCKS_DIR).glob("*.yaml")}
    # every tree's root block is flux-system: the same where the same, renamed where not
    assert {"flux-system", "flux-system-helm-heavy-home", "flux-system-hub-spoke-hub"} <= blocks
    assert _block(out, "flux-system-helm-heavy-home")["kustomization"]["name"] == "flux-system"
    enabled = {b for stack, _, _ in done for b in _config(out, stack)["blocks"]}
    assert enabled == blocks


def test_a_renamed_block_renames_what_depends_on_it(tmp_path: Path) -> None:
    """production's infra-controllers differs beyond what an override says: it is declared anew, and
    so are the blocks that depend on it, each Kustomization keeping the tree's name."""
    repo = repository("monorepo", tmp_path)
    extra = repo / "infrastructure/controllers/production/kustomization.yaml"
    kustomization = yaml.safe_load(extra.read_text())
    kustomization["resources"].append("metrics.yaml")
    extra.write_text(yaml.safe_dump(kustomization))
    (extra.parent / "metrics.yaml").write_text(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n"
        "metadata: {name: metrics-server, namespace: ingress-nginx}\n"
        "spec: {interval: 24h, url: 'https://kubernetes-sigs.github.io/metrics-server/'}\n"
    )
    out = project(tmp_path)
    for cluster in CLUSTERS["monorepo"]:
        import_cluster(repo, cluster, stack_name("monorepo", cluster), out)
    production = _config(out, "monorepo-production")
    suffix = "-monorepo-production"
    assert production["blocks"] == [
        "flux-system",
        *(b + suffix for b in ("infra-controllers", "infra-configs", "apps")),
    ]
    assert _block(out, "apps" + suffix)["dependsOn"] == ["infra-configs" + suffix]
    assert _block(out, "infra-configs" + suffix)["kustomization"]["name"] == "infra-configs"
    assert "overrides" not in production  # the override of ingress-nginx went with the rename
    for cluster in CLUSTERS["monorepo"]:
        stack = stack_name("monorepo", cluster)
        complete(out, stack)
        assert not differences(out, stack, repo, cluster), stack


def test_a_clash_no_name_resolves_is_an_error_before_anything_is_written(tmp_path: Path) -> None:
    repo = repository("helm-heavy", tmp_path)
    out = project(tmp_path)
    import_cluster(repository("monorepo", tmp_path), "clusters/staging", "staging", out)
    # `apps` and `apps-home` are declared differently, and other stacks enable both
    (out / defaults.BLOCKS_DIR / "apps-home.yaml").write_text(
        (out / defaults.BLOCKS_DIR / "apps.yaml").read_text().replace("name: apps", "name: apps-home")
    )
    (out / "Pulumi.other.yaml").write_text("config:\n  eoepca-gitops:blocks: [apps-home]\n")
    before = sorted(p for p in out.rglob("*"))
    result = CliRunner().invoke(
        app,
        [
            "import",
            str(repo / "clusters/home"),
            "--stack",
            "home",
            "--repo-root",
            str(repo),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2, result.output
    assert (
        "block apps: clusters/blocks/apps.yaml and apps-home.yaml are declared differently" in result.output
    )
    assert sorted(p for p in out.rglob("*")) == before


def test_only_what_the_tree_proves_is_lifted(tmp_path: Path) -> None:
    """No IP recurs in the monorepo: the stack leaves publicIp unset (and is refused until it is set);
    the Git source is the tree's own; the domain recurs in ingress hosts and certificate names."""
    _, out = _imported("monorepo", tmp_path)
    staging = _config(out, "monorepo-staging")
    assert staging["cluster"] == {"name": "monorepo-staging", "domain": "staging.fleet.example.net"}
    assert staging["git"] == {
        "url": "ssh://git@github.com/acme/fleet-infra",
        "branch": "main",
        "interval": "1m0s",
        "auth": {"type": "ssh"},
        "path": "./clusters/flux",
    }
    staging_file = out / "Pulumi.monorepo-staging.yaml"
    unset = load_stack_file(staging_file, out / defaults.BLOCKS_DIR).unset  # render and diff show it
    assert unset[0][0] == "eoepca-gitops:cluster.publicIp"
    with pytest.raises(ConfigError, match=r"cluster\.publicIp: missing required key: the cluster's public"):
        load_stack_file(staging_file, out / defaults.BLOCKS_DIR, offline=False)  # as the program
    assert "no public IP recurs in the tree: set eoepca-gitops:cluster.publicIp" in _report(out)
    assert "127.0.0.1" not in (out / "Pulumi.monorepo-staging.yaml").read_text()
    # the chart repositories' hosts (github.io twice) are not taken for the cluster's domain
    _, tenancy = _imported("tenancy", tmp_path / "t")
    assert "domain" not in _config(tenancy, "tenancy-staging")["cluster"]


def test_without_a_sync_source_the_git_url_is_left_to_set(tmp_path: Path) -> None:
    repo = repository("overlays", tmp_path)
    (repo / "clusters/dev/flux-system/gotk-sync.yaml").unlink()
    (repo / "clusters/dev/flux-system/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [gotk-components.yaml]\n"
    )
    out = project(tmp_path)
    import_cluster(repo, "clusters/dev", "dev", out)
    assert _config(out, "dev")["git"] == {"path": "./clusters/flux"}
    stack_file = out / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text().replace("    name: dev\n", "    name: dev\n    publicIp: 192.0.2.1\n")
    )
    stack = load_stack_file(out / "Pulumi.dev.yaml", out / defaults.BLOCKS_DIR)  # render and diff work
    assert [key for key, _ in stack.unset] == ["eoepca-gitops:git.url", "eoepca-gitops:git"]
    with pytest.raises(ConfigError, match=r"git\.url: missing required key: the URL of the Git repository"):
        load_stack_file(out / "Pulumi.dev.yaml", out / defaults.BLOCKS_DIR, offline=False)  # as the program


def test_the_domain_and_ip_become_variables_with_their_meaning(tmp_path: Path) -> None:
    """In Git, infra-configs had no postBuild: where the domain is lifted into it, it substitutes
    from cluster-vars, and its other `$` are escaped so that they stay what they were."""
    _, out = _imported("monorepo", tmp_path)
    configs = _block(out, "infra-configs")["kustomization"]
    assert configs["substituteFrom"] == [{"kind": "ConfigMap", "name": "cluster-vars"}]
    certificate = (out / "clusters/flux/infra-configs/certificate_ingress-nginx_wildcard.yaml").read_text()
    assert "- ${domain}" in certificate
    hook = (out / "clusters/flux/infra-configs/configmap_ingress-nginx_renew-hook.yaml").read_text()
    assert "$${CERT_NAME}" in hook and "$HOSTNAME" in hook
    # the release, applied by Pulumi, says ${domain} too; apps had no postBuild and gets none
    apps = _block(out, "apps")
    assert apps["helmReleases"][0]["values"]["ingress"]["hosts"][0]["host"] == "podinfo.${domain}"
    assert "substituteFrom" not in apps["kustomization"]
    # hub-spoke: the IP recurs in the hub's own release, and its nip.io form with it
    _, hub = _imported("hub-spoke", tmp_path / "h")
    assert _config(hub, "hub-spoke-hub")["cluster"] == {"name": "hub-spoke-hub", "publicIp": "203.0.113.21"}
    values = _block(hub, "flux-system")["helmReleases"][0]["values"]
    assert values["service"]["loadBalancerIP"] == "${public_ip}"
    assert values["ingress"]["hosts"] == ["grafana.${domain}"]


def test_postbuild_variables_keep_their_meaning(tmp_path: Path) -> None:
    _, out = _imported("helm-heavy", tmp_path)
    config = _config(out, "helm-heavy-home")
    # substituteFrom the tree's ConfigMap: created by the stack, which knows its values
    assert config["variables"] == [
        {
            "name": "cluster-settings",
            "data": {
                "CLUSTER_DOMAIN": "home.example.net",
                "GRAFANA_VERSION": "8.3.x",
                "INGRESS_IP": "198.51.100.40",
                "STORAGE_CLASS": "longhorn",
                "TIMEZONE": "Europe/Paris",
            },
        }
    ]
    apps = _block(out, "apps")
    assert apps["kustomization"]["substitute"] == {"APP_ENV": "home", "GRAFANA_REPLICAS": "2"}
    assert [r["name"] for r in apps["kustomization"]["substituteFrom"]] == [
        "cluster-settings",
        "cluster-secrets",
        "cluster-overrides",
    ]
    grafana = next(r for r in apps["helmReleases"] if r["name"] == "grafana")
    # declared as written: Flux's variables, defaults and escapes
    assert grafana["version"] == "${GRAFANA_VERSION}"
    assert grafana["values"]["env"]["ALERT_CHANNEL"] == "${ALERT_CHANNEL:=ops}"
    assert grafana["values"]["grafana.ini"]["panels"]["default_interval"] == "$${__interval}"
    # the mailer uses the Secret's variables, which only the cluster knows: it stays in Git
    mailer = (out / "clusters/flux/apps/helmrelease_mail_mailer.yaml").read_text()
    assert "password: ${SMTP_PASSWORD}" in mailer
    report = _report(out)
    assert "substituteFrom Secret/cluster-secrets kept" in report
    assert "HelmRelease mailer: uses ${SECRET_DOMAIN}" in report
    complete(out, "helm-heavy-home")
    # and Pulumi substitutes as Flux would have
    release = built(out, "helm-heavy-home", "HelmRelease", "monitoring", "grafana")
    assert release["spec"]["chart"]["spec"]["version"] == "8.3.x"
    assert release["spec"]["values"]["replicas"] == 2
    assert release["spec"]["values"]["env"]["ALERT_CHANNEL"] == "ops"
    assert release["spec"]["values"]["grafana.ini"]["panels"]["default_interval"] == "${__interval}"
    docs = built(out, "helm-heavy-home", "HelmRelease", "monitoring", "docs")
    assert docs["spec"]["values"]["serverBlock"] == 'location / { return 200 "${host} says hello"; }'


def test_objects_applied_elsewhere_or_as_a_tenant_stay_in_git(tmp_path: Path) -> None:
    _, hub = _imported("hub-spoke", tmp_path)
    for spoke in ("staging", "production"):
        block = _block(hub, f"{spoke}-tenants-sync")
        assert block["kustomization"] | {} == {
            "path": f"{spoke}-tenants-sync",
            "name": "tenants-sync",
            "namespace": spoke,
            "interval": "1h",
            "retryInterval": "3m",
            "timeout": "5m",
            "wait": True,
            "kubeConfig": {"secretRef": {"name": "cluster-kubeconfig"}},
        }
        # each spoke gets its own copy: two clusters, two objects
        assert (hub / f"clusters/flux/{spoke}-tenants-sync/namespace__cluster_podinfo.yaml").is_file()
    _, tenancy = _imported("tenancy", tmp_path / "t")
    assert (tenancy / "clusters/flux/team-b-team-b/helmrelease__cluster_podinfo.yaml").is_file()
    assert "Kustomization team-b/team-b applies its objects as the service account team-b" in _report(tenancy)


def test_a_kustomizations_own_build_fields_are_kept(tmp_path: Path) -> None:
    """Git keeps the objects as their folder builds them; the block's Kustomization keeps
    targetNamespace, namePrefix, patches, images, commonMetadata and components."""
    _, out = _imported("overlays", tmp_path)
    k = _block(out, "webshop")["kustomization"]
    assert (k["targetNamespace"], k["namePrefix"], k["components"]) == ("webshop-dev", "dev-", ["debug"])
    assert k["images"] == [{"name": "ghcr.io/acme/webshop", "newTag": "2.4.0-rc.3"}]
    deployment = yaml.safe_load((out / "clusters/flux/webshop/deployment__cluster_webshop.yaml").read_text())
    assert deployment["metadata"] == {"name": "webshop"}  # as the folder builds it
    assert (out / "clusters/components/debug/debug-tools.yaml").is_file()
    # the release is declared as Flux applies it: namespace, prefix and labels of the Kustomization
    release = _block(out, "webshop")["helmReleases"][0]
    assert (release["name"], release["namespace"], release["labels"]["environment"]) == (
        "dev-redis",
        "webshop-dev",
        "dev",
    )
    assert _config(out, "overlays-dev")["git"]["tag"] == "release-2024.06"
    dev = import_cluster(
        repository("overlays", tmp_path / "d"), "clusters/dev", "dev", project(tmp_path / "d")
    )
    setters = "ImageUpdateAutomation flux-system/webshop: kept as a plain manifest; the image setters"
    assert any(setters in str(item) for item in dev.report)


def test_sources_it_cannot_follow_are_kept_and_said(tmp_path: Path) -> None:
    _, out = _imported("oci-bucket", tmp_path)
    report = _report(out)
    assert "Kustomization flux-system/podinfo applies OCIRepository podinfo-manifests" in report
    assert "Kustomization flux-system/edge-config applies Bucket edge-config" in report
    assert "HelmRelease redis" not in report
    assert (out / "clusters/flux/flux-system/bucket_flux-system_edge-config.yaml").is_file()
    charts = _block(out, "charts")
    assert charts["helmRepositories"][0]["type"] == "oci"
    podinfo, redis = charts["helmReleases"]
    assert podinfo["verify"] == {"provider": "cosign"}
    # a chart an OCIRepository holds whole (spec.chartRef): the release names the source only
    assert redis["sourceRef"] == {"kind": "OCIRepository", "name": "redis-chart"}
    assert "chart" not in redis and "version" not in redis
    assert _config(out, "oci-bucket-edge")["git"]["commit"] == "3f2a1c9e5b7d4a6c8e0f1a2b3c4d5e6f7a8b9c0d"


def test_import_and_render_of_a_tree_are_deterministic(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        _, out = _imported("helm-heavy", tmp_path / run)
        outputs.append(
            {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        )
        shutil.rmtree(tmp_path / run / "repos")
    assert outputs[0] == outputs[1]
