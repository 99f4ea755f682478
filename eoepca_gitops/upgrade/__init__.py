"""A Flux upgrade across API versions, in place: what the live cluster stores, the plan, the migration.

- live: reads what the cluster holds (Flux's CRDs and their stored versions, every Flux object,
  Helm releases), the only reader;
- schema: which fields of an object a CRD version's schema would drop (pure);
- plan: which CRDs need their objects rewritten, through a bridge where the live CRD does not serve
  the new version yet, and what cannot be carried over (pure);
- migrate: the step itself (bridge, rewrite, stored versions cleaned), safe to re-run.
"""
