"""Surviving mutants that cannot change what the program does, by mutmut's name, with the reason.

A name is only valid for the code it was generated from: when a function changes, its mutants are
renumbered and this list is checked again against `make mutation`'s list of survivors.
"""

from __future__ import annotations

_UNLINK = "the temporary file exists whenever the except runs (os.replace is the try's last step)"
_DETACH = "a full commit id (the only revision accepted) is checked out detached anyway"
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
}
