#!/usr/bin/env bash
# `pulumi preview` of one stack against its cluster, exactly as the workflow's preview job runs it.
#
#   scripts/pr-preview.sh STACK [OUT_DIR]       at the project root; OUT_DIR defaults to preview/
#   scripts/pr-preview.sh --ready STACK [OUT_DIR]   prints `yes` when STACK can be previewed here;
#                                               otherwise `no`, and writes its result saying why
#   scripts/pr-preview.sh --plan [OUT_DIR]      prints the JSON list of the stacks to preview (the
#                                               workflow's matrix) and writes the results of the
#                                               stacks that are never previewed
#
# The stack's credentials come from its GitHub Environment's secrets: PULUMI_BACKEND_URL,
# PULUMI_CONFIG_PASSPHRASE, KUBECONFIG_DATA (a kubeconfig's content; AWS_* for an S3 backend pass
# through). SECRETS_WITHHELD=1 says the run gets no secrets at all (a pull request from a fork).
#
# Writes OUT_DIR/STACK.result, what the comment shows: its first line is `previewed` (nothing to
# change), `changes`, `failed` or `not-previewed`, its second the summary, the error or the reason;
# and OUT_DIR/STACK.log, the preview's output. Exit 0 when previewed or not previewed (the result says
# why), the preview's exit code when it fails: a broken stack makes the check red.
set -euo pipefail

# Stacks no CI run can preview, with the reason the comment gives.
never_previewed() {
  case "$1" in
    local) echo "the local dev cluster's stack (127.0.0.1, \`make demo\`): no CI runner reaches it" ;;
    *) echo "" ;;
  esac
}

mode=preview
case "${1:-}" in --plan | --ready) mode=${1#--}; shift ;; esac
if [ "$mode" = plan ]; then stack="" out=${1:-preview}; else stack=${1:-} out=${2:-preview}; fi
if [ "$mode" != plan ] && [ -z "$stack" ]; then
  echo "usage: scripts/pr-preview.sh [--ready] STACK [OUT_DIR] | --plan [OUT_DIR]" >&2
  exit 2
fi
mkdir -p "$out"

result() { printf '%s\n%s\n' "$1" "$2" >"$out/$stack.result"; }

if [ "$mode" = plan ]; then
  previewed=()
  for file in Pulumi.*.yaml; do
    stack=${file#Pulumi.}
    stack=${stack%.yaml}
    reason=$(never_previewed "$stack")
    if [ -n "$reason" ]; then result not-previewed "$reason"; else previewed+=("\"$stack\""); fi
  done
  (IFS=,; printf '[%s]\n' "${previewed[*]}")
  exit 0
fi

# Whether STACK can be previewed by this run; if not, its result says why.
ready() {
  local reason name missing=()
  reason=$(never_previewed "$stack")
  if [ -n "$reason" ]; then
    result not-previewed "$reason"
    return 1
  fi
  if [ "${SECRETS_WITHHELD:-0}" = 1 ]; then
    result not-previewed "no credentials: GitHub gives no secrets to a pull request from a fork"
    return 1
  fi
  for name in PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE KUBECONFIG_DATA; do
    [ -n "${!name:-}" ] || missing+=("$name")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    result not-previewed "no credentials: set ${missing[*]} as secrets of the GitHub Environment \`$stack\` (docs/pr-checks.md)"
    return 1
  fi
}

if [ "$mode" = ready ]; then
  if ready; then echo yes; else echo no; fi
  exit 0
fi
ready || exit 0

kubeconfig=$(mktemp)
trap 'rm -f "$kubeconfig"' EXIT
printf '%s\n' "$KUBECONFIG_DATA" >"$kubeconfig"
unset KUBECONFIG_DATA
export KUBECONFIG=$kubeconfig

# pipefail (set above): the preview's exit code, not tee's, decides
code=0
pulumi preview --stack "$stack" --non-interactive --diff 2>&1 | tee "$out/$stack.log" || code=$?
if [ "$code" -ne 0 ]; then
  error=$(grep -m 1 -E '^\s*error: ' "$out/$stack.log" | sed -E 's/^\s+//' | cut -c 1-300 || true)
  result failed "${error:-pulumi preview exited $code}"
  exit "$code"
fi
# Pulumi's closing summary: "Resources:" then lines such as "~ 1 to update", "95 unchanged".
summary=$(sed -n '/^Resources:$/,/^$/p' "$out/$stack.log" | sed -E '1d; /^$/d; s/^\s+//' | paste -sd, - | sed 's/,/, /g')
if grep -qE ' to (create|update|delete|replace|import)' <<<"$summary"; then
  result changes "$summary"
else
  result previewed "${summary:-no changes}"
fi
