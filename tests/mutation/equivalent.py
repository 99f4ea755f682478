"""Surviving mutants that cannot change what the program does, by mutmut's name, with the reason.

A name is only valid for the code it was generated from: when a function changes, its mutants are
renumbered and this list is checked again against `make mutation`'s list of survivors.
"""

from __future__ import annotations

_UNLINK = "the temporary file exists whenever the except runs (os.replace is the try's last step)"
_DETACH = "a full commit id (the only revision accepted) is checked out detached anyway"
_ONE_WORD = "every field of SourceRef and SubstituteReference is one word: its alias is its name"
_FORCE = "the folder was removed and `worktree prune` dropped its registration just before"

EQUIVALENT: dict[str, str] = {
    "eoepca_gitops.cli.common.xǁCommandsǁmain__mutmut_9": "typer tests standalone_mode for truth only",
    "eoepca_gitops.poller.state.xǁFileBackendǁsave__mutmut_35": _UNLINK,
    "eoepca_gitops.poller.state.xǁFileBackendǁsave__mutmut_37": _UNLINK,
    "eoepca_gitops.poller.source.xǁRemoteBranchǁcurrent_commit__mutmut_23": (
        "ls-remote prints one tab per line (a ref name cannot hold one)"
    ),
    "eoepca_gitops.poller.source.xǁCheckoutǁ_bare__mutmut_7": "`git init` keeps an existing bare repository",
    "eoepca_gitops.poller.source.xǁCheckoutǁworktree__mutmut_42": _DETACH
    + " (GitPython drops a None argument)",
    "eoepca_gitops.poller.source.xǁCheckoutǁworktree__mutmut_47": _DETACH,
    "eoepca_gitops.poller.source.xǁCheckoutǁworktree__mutmut_43": _FORCE
    + " (GitPython drops a None argument)",
    "eoepca_gitops.poller.source.xǁCheckoutǁworktree__mutmut_48": _FORCE,
    "eoepca_gitops.model.references.x__places__mutmut_3": (
        "every HelmRepository field is a str, bool, dict or None: its python and JSON dumps are equal"
    ),
    "eoepca_gitops.manifests.building_block.x__chart__mutmut_2": _ONE_WORD,
    **{
        f"eoepca_gitops.manifests.building_block.x_kustomization__mutmut_{n}": _ONE_WORD
        for n in (19, 21, 23, 70, 72, 74)
    },
    "eoepca_gitops.manifests.flux_install.x__set_arg__mutmut_8": (
        "the text before the first '=' is the same however many times the rest is split"
    ),
    "eoepca_gitops.manifests.flux_release.x_manifest_path__mutmut_18": (
        "release_version reads only the first 2048 characters of what it is given"
    ),
    "eoepca_gitops.importer.merge.x__named__mutmut_32": (
        "every component of a block's Kustomization is a key of the map (an unrenamed one maps to itself)"
    ),
    "eoepca_gitops.importer.merge.x__override__mutmut_68": (
        "the key only words a ConfigError, which _override catches and drops"
    ),
    "eoepca_gitops.fluxtree.kustomize.x__resources__mutmut_32": (
        "each file is copied once, under its own path, into a fresh scratch folder"
    ),
    "eoepca_gitops.fluxtree.tree.x_flux_objects__mutmut_5": (
        "a root named namespace/name has one '/': partition and rpartition agree"
    ),
    **{
        f"eoepca_gitops.fluxtree.tree.x_flux_objects__mutmut_{n}": (
            "walk reads only the root's metadata and spec, and the root is not among the objects returned"
        )
        for n in range(8, 16)
    },
}
