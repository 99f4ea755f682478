"""A review of a change: what a Git revision range does to stacks, field by field, in three layers.

- changes.py: the model (a stack's sections of changed objects, per layer and group);
- shown.py: an object as a review shows it (stable YAML, secret values redacted);
- compare.py: two sets of objects into changed objects with unified diffs of their YAML;
- releases.py: what Helm renders for a HelmRelease (chart source, release name, values);
- charts.py: charts fetched from their repository with helm, cached by URL, chart and version;
- helm_layer.py: the Helm layer: `helm template` of each changed release at both revisions, compared;
- revision.py: a project as a Git revision has it;
- stacks.py: one stack reviewed: its layers built at both revisions by the builders, compared;
- text.py, markdown.py, json_format.py: the formats; budget.py: the markdown's size cap.
"""
