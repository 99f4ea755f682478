"""Surviving mutants that cannot change what the program does, by mutmut's name, with the reason.

A name is only valid for the code it was generated from: when a function changes, its mutants are
renumbered and this list is checked again against `make mutation`'s list of survivors.
"""

from __future__ import annotations

_UNLINK = "the temporary file exists whenever the except runs (os.replace is the try's last step)"
_DETACH = "a full commit id (the only revision accepted) is checked out detached anyway"
_ONE_WORD = "every field of SourceRef and SubstituteReference is one word: its alias is its name"
_FORCE = "the folder was removed and `worktree prune` dropped its registration just before"
_STABLES = (
    "Pulumi's dynamic provider server sends the engine changes, replaces and deleteBeforeReplace of a "
    "DiffResult, never its stables (pulumi/dynamic/__main__.py)"
)
_NO_GROUP = "a missing group reads as '', 'None' or 'XXXX': none ends with .toolkit.fluxcd.io"
_SERVED = "the API server returns every version with its served flag: the default is never read"
_BRIDGED = "new_entry is the new release's storage version, served and stored already: its keys say the same"
_NO_API_VERSION = "an entry without apiVersion reads as '', 'None' or 'XXXX': none starts with a Flux group"
_UNREACHED = "every error the loader raises carries a problem and a mark (PyYAML's, ReaderError's position)"

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
    # issue 24's modules
    "components.flux_migration.xǁFluxMigrationProviderǁ_run__mutmut_10": (
        "release_version reads only the first 2048 characters of what it is given"
    ),
    "components.flux_migration.xǁFluxMigrationProviderǁdiff__mutmut_7": _STABLES,
    "components.flux_migration.xǁFluxMigrationProviderǁdiff__mutmut_11": _STABLES,
    **{f"components.flux_system.xǁFluxSystemǁ__init____mutmut_{n}": _NO_GROUP for n in (53, 55, 60)},
    "components.program.x_load_from_pulumi__mutmut_16": (
        "load_stack's project folder defaults to the one holding clusters/blocks: this one"
    ),
    "components.program.x_load_from_pulumi__mutmut_22": (
        "load_stack's project folder defaults to the one holding clusters/blocks: this one"
    ),
    "components.program.x_run__mutmut_45": (
        "provider_opts is replaced where the stack names a cluster; elsewhere None and empty options agree"
    ),
    "components.program.x_run__mutmut_133": "the loader refused a stack without git.url before (pulumi up)",
    "components.program.x_run__mutmut_207": (
        "the loader refused a stack without a public IP: its domain is set"
    ),
    **{
        f"components.program.x__ingress_hosts__mutmut_{n}": "walking None or {} finds no host"
        for n in (33, 35)
    },
    "eoepca_gitops.upgrade.live.x__releases__mutmut_33": (
        "a missing version label reads as '' or 'XXXX': neither is digits"
    ),
    "eoepca_gitops.upgrade.live.x__releases__mutmut_61": (
        "Helm keeps one Secret per release revision (sh.helm.release.v1.NAME.vN): "
        "two of one revision do not exist"
    ),
    **{f"eoepca_gitops.upgrade.live.x_read_live_crds__mutmut_{n}": _NO_GROUP for n in (21, 23, 26)},
    **{
        f"eoepca_gitops.upgrade.live.x_read_live_crds__mutmut_{n}": "str(None) is 'None', the default written"
        for n in (70, 72)
    },
    "eoepca_gitops.upgrade.live.x__changing__mutmut_9": (
        "every CRD of an install manifest has spec.versions (the API server requires it)"
    ),
    **{f"eoepca_gitops.upgrade.live.x__changing__mutmut_{n}": _SERVED for n in (21, 23, 26)},
    **{f"eoepca_gitops.upgrade.migrate.x__bridge_versions__mutmut_{n}": _BRIDGED for n in (12, 13, 15, 16)},
    "eoepca_gitops.upgrade.migrate.x__in_version__mutmut_4": (
        "a Flux API version holds one '/': partition and rpartition agree"
    ),
    **{f"eoepca_gitops.upgrade.migrate.x__in_version__mutmut_{n}": _NO_API_VERSION for n in (18, 20, 24)},
    "eoepca_gitops.files.x_remove_file__mutmut_54": (
        "nothing follows the loop: leaving it or returning is the same"
    ),
    "eoepca_gitops.owned_folder.x__owned__mutmut_4": "codec names are case-insensitive",
    "eoepca_gitops.files.x_read_text__mutmut_11": "codec names are case-insensitive",
    "eoepca_gitops.files.x__parts__mutmut_9": "PurePosixPath drops '.' parts: no part is ever '.'",
    "eoepca_gitops.files.x_write_file__mutmut_55": "codec names are case-insensitive",
    "eoepca_gitops.files.x_write_file__mutmut_41": (
        "with O_CREAT | O_EXCL, open refuses any existing name, a symlink included; nothing is executed "
        "while the file is open"
    ),
    **{
        f"eoepca_gitops.files.x_write_file__mutmut_{n}": (
            "the temporary file is the regular file just created: following it or not links the same file"
        )
        for n in (74, 75)
    },
    "eoepca_gitops.operations.page.x_status_server__mutmut_26": "HTTP header names are case-insensitive",
    "eoepca_gitops.operations.page.x__e__mutmut_4": "html.escape quotes by default",
    "eoepca_gitops.operations.page.x__plot__mutmut_31": (
        "t - t0 is 0 wherever t1 - t0 is: the quotient is 0 either way"
    ),
    "eoepca_gitops.poller.takeover.x_taken_over__mutmut_10": (
        "an entry without a manager reads as '' or 'None': neither starts with kubectl or before-first-apply"
    ),
    **{f"eoepca_gitops.yaml_io.x__refused__mutmut_{n}": _UNREACHED for n in (9, 10, 11, 19, 22, 30, 31)},
    **{f"eoepca_gitops.yaml_io.x_error_mark__mutmut_{n}": _UNREACHED for n in (8, 11)},
    **{
        f"eoepca_gitops.yaml_io.x_error_mark__mutmut_{n}": "only the mark's line, column and index are read"
        for n in (28, 36, 46)
    },
    "eoepca_gitops.devcluster.charts.x_package__mutmut_7": (
        "every member's name is short ASCII: the ustar and the default (pax) writers give the same bytes"
    ),
    "eoepca_gitops.devcluster.flux.x_write_states__mutmut_16": (
        "only the temporary file's name changes: it is renamed over the target at once"
    ),
    "eoepca_gitops.devcluster.git_server.x_serve__mutmut_117": "codec names are case-insensitive",
    "eoepca_gitops.devcluster.kubeapi.xǁKubeApiǁrequest__mutmut_13": (
        "urllib sends GET without data and POST with it: the only two methods asked for"
    ),
    "eoepca_gitops.devcluster.git_server.x_main__mutmut_8": (
        "only the --help text of --repo: the dev cluster starts this server with argv(), never by hand"
    ),
}
