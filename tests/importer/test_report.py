"""The import's report (importer/report.py): what was not converted as such, with file:line, and
what the import counted."""

from __future__ import annotations

from eoepca_gitops.importer.report import Report, ReportItem


def test_counts_add_up_from_nothing() -> None:
    report = Report()
    report.count("Flux Kustomizations (blocks)")
    report.count("Flux Kustomizations (blocks)", 2)
    report.count("objects upgraded to newer API versions")
    assert report.counts == {"Flux Kustomizations (blocks)": 3, "objects upgraded to newer API versions": 1}


def test_an_item_without_a_line_is_its_file_and_reason() -> None:
    assert str(ReportItem("./apps", 0, "differs")) == "./apps: differs"
    assert str(ReportItem("apps/ns.yaml", 2, "kept")) == "apps/ns.yaml:2: kept"


def test_the_markdown_says_the_counts_then_each_item_once_in_order() -> None:
    report = Report()
    report.count("lifted into block declarations", 4)
    report.count("Flux Kustomizations (blocks)", 2)
    report.note("b.yaml", 3, "kept as a plain manifest")
    report.note("a.yaml", 7, "applied again; left out")
    report.note("b.yaml", 3, "kept as a plain manifest")
    assert report.markdown("home") == (
        "# Import report: stack home\n"
        "\n"
        "Flux Kustomizations (blocks): 2, lifted into block declarations: 4\n"
        "\n"
        "2 item(s) not converted as such (kept as plain manifests where possible):\n"
        "\n"
        "- `a.yaml:7` applied again; left out\n"
        "- `b.yaml:3` kept as a plain manifest\n"
    )
