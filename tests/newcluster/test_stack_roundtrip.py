"""Round-trip edits of a stack file (eoepca_gitops.newcluster.roundtrip): each comment stays with
what it describes when a key is replaced, dropped or added."""

from __future__ import annotations

import pytest

from eoepca_gitops.newcluster import roundtrip
from tests.helpers import REPO_ROOT

TEXT = """\
# head
config:
  app:cluster:
    # about the name
    name: old   # the old name
    # about the ip
    ip: 1.2.3.4
    # about the disk
    disk:
      server: 10.0.0.1
      # deep, at the end of disk
      path: /x
    # about the zone, after disk
    zone: a
  app:list: [a, b]   # a flow list
  # about the flow map
  app:flow:
    - {kind: K, name: "*"}
  app:last: 1
# after everything
"""


@pytest.mark.parametrize("name", ["Pulumi.creodias.yaml", "Pulumi.local.yaml", "Pulumi.minikube.yaml", "x"])
def test_a_file_read_and_written_without_an_edit_is_the_same(name: str) -> None:
    text = TEXT if name == "x" else (REPO_ROOT / name).read_text()
    assert roundtrip.dump(roundtrip.load(text, name)) == text


def test_replace_puts_the_note_where_the_comment_about_the_old_value_was() -> None:
    doc = roundtrip.load(TEXT, "x")
    cluster = doc["config"]["app:cluster"]
    roundtrip.replace(cluster, "name", "new", "the new name")
    roundtrip.replace(cluster, "ip", "5.6.7.8", "the new ip")
    out = roundtrip.dump(doc)
    assert "about the name" not in out and "the old name" not in out and "about the ip" not in out
    assert (
        "    # the new name\n    name: new\n    # the new ip\n    ip: 5.6.7.8\n    # about the disk\n" in out
    )


def test_drop_keeps_the_comment_of_the_next_key_and_notes_the_dropped_one() -> None:
    doc = roundtrip.load(TEXT, "x")
    roundtrip.drop(doc["config"]["app:cluster"], "disk", "disk dropped")
    out = roundtrip.dump(doc)
    assert "    ip: 1.2.3.4\n    # disk dropped\n    # about the zone, after disk\n    zone: a\n" in out
    assert "about the disk" not in out and "deep, at the end" not in out


def test_drops_of_several_keys_keep_each_note_last_key_first() -> None:
    doc = roundtrip.load(TEXT, "x")
    cluster = doc["config"]["app:cluster"]
    for key in ("zone", "disk", "ip"):
        roundtrip.drop(cluster, key, f"{key} dropped")
    out = roundtrip.dump(doc)
    assert "    name: old   # the old name\n    # ip dropped\n    # disk dropped\n    # zone dropped\n" in out
    assert "  app:list: [a, b]   # a flow list\n" in out


def test_the_last_key_of_the_document_dropped_leaves_the_comment_after_it() -> None:
    doc = roundtrip.load(TEXT, "x")
    roundtrip.drop(doc["config"], "app:last", "last dropped")
    out = roundtrip.dump(doc)
    assert out.endswith("    - {kind: K, name: '*'}\n  # last dropped\n# after everything\n") or out.endswith(
        '    - {kind: K, name: "*"}\n  # last dropped\n# after everything\n'
    )


def test_a_key_appended_after_a_flow_map_keeps_the_flow_whole() -> None:
    doc = roundtrip.load(TEXT, "x")
    roundtrip.drop(doc["config"], "app:last", "last dropped")
    roundtrip.append(doc["config"], "app:new", [{"a": 1}], "added", column=2)
    out = roundtrip.dump(doc)
    assert (
        '    - {kind: K, name: "*"}\n  # last dropped\n  # added\n'
        "  app:new:\n    - a: 1\n# after everything\n" in out
    )
    assert roundtrip.load(out, "x")["config"]["app:flow"] == [{"kind": "K", "name": "*"}]


def test_a_note_at_the_head_comes_before_the_files_own() -> None:
    doc = roundtrip.load(TEXT, "x")
    roundtrip.head(doc, "made by a test")
    assert roundtrip.dump(doc).startswith("# made by a test\n# head\nconfig:\n")


def test_a_long_note_is_wrapped_as_the_project_wraps_its_lines() -> None:
    doc = roundtrip.load(TEXT, "x")
    roundtrip.drop(doc["config"]["app:cluster"], "zone", "word " * 60)
    lines = roundtrip.dump(doc).splitlines()
    assert max(len(line) for line in lines) <= 110
    assert sum(line.strip().startswith("# word") for line in lines) >= 3
