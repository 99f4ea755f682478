#!/usr/bin/env bash
# The pull-request review, exactly as the workflow's review job runs it: every stack rendered into
# rendered/<stack>/ (both layers; render validates every object and exits 2 on a bad field), then the
# three-layer diff of every stack against the base revision (Pulumi layer, Flux layer, what Helm
# renders for each changed HelmRelease; what each renders at the head checked against its schema),
# as markdown for the pull request's comment and as JSON, from one run.
#
#   scripts/pr-review.sh BASE_REV [OUT_DIR]      at the project root; OUT_DIR defaults to review/
#
# Writes OUT_DIR/stacks.txt (every stack), OUT_DIR/diff.md (sized for the comment: see
# scripts/pr-comment.py), OUT_DIR/diff.json (all of it), OUT_DIR/errors.txt (one line per failed step,
# with the command's `error:` line), the logs of each step, and rendered/<stack>/.
# Exit 0 when every stack renders and diffs (whether it changes or not), 2 on any error.
# EOEPCA_GITOPS names the command (default: eoepca-gitops on PATH); RENDERED_DIR moves rendered/.
set -euo pipefail

base=${1:?usage: scripts/pr-review.sh BASE_REV [OUT_DIR]}
out=${2:-review}
rendered=${RENDERED_DIR:-rendered}
cli=${EOEPCA_GITOPS:-eoepca-gitops}
scripts=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$out" "$rendered"
: >"$out/errors.txt"
status=0

# Records a failed step with the first `error:` line of its log (the CLI prints exactly one).
failed() {
  local step=$1 logfile=$2 line
  line=$(grep -m 1 '^error:' "$logfile" || tail -n 1 "$logfile")
  printf '%s: %s\n' "$step" "${line:-failed without a message}" >>"$out/errors.txt"
  printf '%s: %s\n' "$step" "${line:-failed without a message}" >&2
  status=2
}

stacks=()
for file in Pulumi.*.yaml; do
  [ -e "$file" ] || { echo "error: no Pulumi.<stack>.yaml in $(pwd)" >&2; exit 2; }
  stack=${file#Pulumi.}
  stacks+=("${stack%.yaml}")
done
printf '%s\n' "${stacks[@]}" >"$out/stacks.txt"

for stack in "${stacks[@]}"; do
  if ! "$cli" render --stack "$stack" --out "$rendered/$stack" --flux-layer 2>"$out/render-$stack.log"; then
    failed "render $stack" "$out/render-$stack.log"
  fi
done

# One diff run writes both: the markdown, capped so that the whole comment stays under GitHub's
# limit, and the complete JSON. Exit 2 with output is a failure the review shows (an invalid object,
# the upgrade gate); the JSON is then written all the same.
budget=$(python3 "$scripts/pr-comment.py" --diff-budget)
code=0
"$cli" diff --all-stacks --against "$base" --format markdown --max-chars "$budget" --json-out "$out/diff.json" \
  >"$out/diff.md" 2>"$out/diff.log" || code=$?
[ "$code" -lt 2 ] || failed "diff against $base" "$out/diff.log"
exit "$status"
