"""kwok's stages as the dev cluster runs them: its own, but a pod becomes Ready only after the
duration its eoepca-gitops/ready-after annotation says (charts.READY_AFTER)."""

from __future__ import annotations

from pathlib import Path

import yaml

from eoepca_gitops.devcluster.charts import READY_AFTER
from eoepca_gitops.devcluster.kubernetes import kwok_stages


def stage(name: str, **spec: object) -> dict[str, object]:
    return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": name}, "spec": spec}


def test_only_pod_ready_is_delayed_and_written_apart(tmp_path: Path) -> None:
    tools = tmp_path / "kwok" / "stages"
    tools.mkdir(parents=True)
    ready, delete = tools / "pod-ready.yaml", tools / "pod-delete.yaml"
    ready.write_text(
        yaml.safe_dump(stage("pod-ready", resourceRef={"kind": "Pod"}, next={"statusTemplate": "x\n"}))
    )
    delete.write_text(yaml.safe_dump(stage("pod-delete", delay={"durationMilliseconds": 1})))
    (tools / "notes.yaml").write_text("just: text\n")
    out = kwok_stages([ready, delete, tools / "notes.yaml"], tmp_path / "state" / "kwok-stages")
    assert out == [tmp_path / "state" / "kwok-stages" / "pod-ready.yaml", delete, tools / "notes.yaml"]
    written = yaml.safe_load(out[0].read_text())
    assert written["spec"]["delay"] == {
        "durationMilliseconds": 0,
        "durationFrom": {"jq": {"expression": f'.metadata.annotations["{READY_AFTER}"]'}},
    }
    assert written["spec"]["next"] == {"statusTemplate": "x\n"} and written["metadata"]["name"] == "pod-ready"
    assert "delay" not in yaml.safe_load(ready.read_text())["spec"]  # the tool cache is left as it is
