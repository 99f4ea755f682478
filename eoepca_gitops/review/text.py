"""A review as plain text for a terminal or a log: per stack and layer the objects added (+), changed
(~) and deleted (-), each changed object followed by the unified diff of its YAML, indented."""

from __future__ import annotations

from eoepca_gitops.review.changes import ObjectChange, Review, Section, StackReview, counts

__all__ = ["text"]

_ORDER = {"added": 0, "changed": 1, "deleted": 2}


def _object(obj: ObjectChange, indent: str) -> list[str]:
    lines = [f"{indent}{obj.sign} {obj.title}" + (f" ({obj.detail})" if obj.detail else "")]
    if obj.change == "changed":
        lines += [f"{indent}    {line}" for line in obj.diff.splitlines()]
    return lines


def _summary(title: str, sections: list[Section]) -> str:
    n = counts(sections)
    return f"{title}: {n['added']} added, {n['changed']} changed, {n['deleted']} deleted"


def _objects_layer(title: str, sections: list[Section]) -> list[str]:
    objects = sorted((o for s in sections for o in s.objects), key=lambda o: _ORDER[o.change])
    return [_summary(title, sections), *(line for o in objects for line in _object(o, "  "))]


def _helm_layer(sections: list[Section]) -> list[str]:
    lines = [_summary(f"helm layer: {len(sections)} release(s) to render", sections)]
    for s in sections:
        lines.append(f"  {s.release}: {s.chart}")
        lines += [f"    error: {s.error}"] if s.error else []
        lines += [f"    note: {s.note}"] if s.note else []
        lines += [line for o in s.objects for line in _object(o, "    ")]
    return lines


def _stack(stack: StackReview, review: Review) -> list[str]:
    state = {"added": " (a new stack)", "deleted": " (the stack is removed)"}.get(stack.state, "")
    lines = [f"stack {stack.name}: {review.base} -> {review.head}{state}", *stack.upgrade]
    if stack.sections or not stack.errors:
        lines += _objects_layer("pulumi layer", stack.layer("pulumi"))
        lines += _objects_layer("flux layer", stack.layer("flux"))
        lines += [f"helm layer: not shown: {stack.helm_note}"] if stack.helm_note else []
        lines += [] if stack.helm_note else _helm_layer(stack.layer("helm"))
    lines += [f"  {n}" if n.startswith("removed API") else f"note: {n}" for n in stack.notes]
    lines += [f"error: {e}" for e in stack.errors]
    return lines


def text(review: Review) -> str:
    return "\n\n".join("\n".join(_stack(s, review)) for s in review.stacks) + "\n"
