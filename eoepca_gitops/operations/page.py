"""The status page: first a picture of each stack (its blocks and their dependencies as a graph,
eoepca_gitops.operations.graph), then every stack and block as `status` shows them, the recent
updates with their duration and outcome, and commit -> applied latency over time as a small plot.
Server-rendered HTML, no build step, nothing fetched from elsewhere; a few lines of script ask
/status.json every few seconds and put each stack's new section in place, without a reload.
Read-only: it only answers GET.

Every text on it is escaped and redacted (eoepca_gitops.credentials): no credential reaches the page.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from eoepca_gitops.credentials import redact
from eoepca_gitops.errors import GitFailed, GitopsError
from eoepca_gitops.git_runner import run_git
from eoepca_gitops.manifests.prepared import Prepared
from eoepca_gitops.operations.graph import graph_svg, legend
from eoepca_gitops.operations.pulumi_cli import PulumiCli
from eoepca_gitops.operations.status import ClusterStatus
from eoepca_gitops.poller.metrics import http_server, parse_listen

__all__ = ["Update", "page_html", "page_json", "recent_updates", "serve_status"]

#: How often the page asks for the stacks' status again (seconds).
REFRESH = 5.0

_COLOUR = {
    "True": "#1a7f37",
    "False": "#cf222e",
    "Missing": "#cf222e",
    "Unknown": "#9a6700",
    "Suspended": "#9a6700",
}


@dataclass(frozen=True)
class Update:
    """One `pulumi up` of the stack: when, how long, how it ended, and at which commit."""

    started: datetime
    seconds: float
    result: str
    revision: str
    latency: float | None  # commit time -> update end, when the commit is known here


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def recent_updates(stack: str, project: Path, count: int = 20) -> list[Update]:
    """The stack's last updates (pulumi stack history), newest first."""
    entries = PulumiCli(stack, project).json("stack", "history", "--page-size", str(count)) or []
    out = []
    for e in entries:
        if e.get("kind") != "update" or not e.get("endTime"):
            continue
        start, end = _when(e["startTime"]), _when(e["endTime"])
        revision = str((e.get("environment") or {}).get("git.head", ""))
        latency = None
        committed = _committed(revision, project) if revision else ""
        if committed:
            latency = (end - _when(committed)).total_seconds()
        out.append(Update(start, (end - start).total_seconds(), str(e.get("result", "")), revision, latency))
    return out


def _committed(revision: str, project: Path) -> str:
    """When `revision` was committed (ISO 8601), empty when this checkout does not have it."""
    try:
        return run_git("show", "-s", "--format=%cI", revision, cwd=project).strip()
    except GitFailed:
        return ""


def _e(text: object) -> str:
    return html.escape(redact(str(text)), quote=True)


def _plot(updates: Sequence[Update], width: int = 480, height: int = 120) -> str:
    points = [(u.started.timestamp(), u.latency) for u in reversed(updates) if u.latency is not None]
    if len(points) < 2:
        return "<p class=muted>Not enough updates with a known commit to plot the latency yet.</p>"
    t0, t1 = points[0][0], points[-1][0]
    top = max(v for _, v in points) or 1.0
    xy = [
        (10 + (width - 20) * (t - t0) / ((t1 - t0) or 1), height - 15 - (height - 30) * v / top)
        for t, v in points
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in xy)
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="commit to applied latency">'
        f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2"/>'
        f'<g fill="#0969da">{dots}</g><text x="10" y="12" font-size="11">max {top:.0f} s</text></svg>'
    )


def _stack_section(s: ClusterStatus, updates: Sequence[Update]) -> str:
    layer = s.stack
    not_ready = [o for _, o in s.rows if not o.ok]
    verdict = "cannot tell" if s.error else ("all Ready" if not not_ready else f"{len(not_ready)} not Ready")
    parts = [f'<section id="stack-{_e(layer.name)}"><h2>{_e(layer.name)} <small>{_e(verdict)}</small></h2>']
    parts.append(
        f"<p>last update {_e(layer.last_update or '-')} {_e(layer.result)} "
        f"at <code>{_e(layer.revision[:12] or '-')}</code>"
        + (f" &middot; {_e(layer.error)}" if layer.error else "")
        + "</p>"
    )
    if s.error:
        parts.append(f'<p class="bad">{_e(s.error)}</p></section>')
        return "".join(parts)
    up = sum(c.ok for c in s.controllers)
    parts.append(f"<p>Flux {_e(s.flux_version)}: {up}/{len(s.controllers)} controllers Ready</p>")
    parts.append(f'<div class="graph-box">{graph_svg(s)}<p class="legend">{legend()}</p></div>')
    if s.poller is not None:
        parts.append(
            f"<p>poller: {_e(s.poller.get('phase', ''))} at "
            f"<code>{_e(str(s.poller.get('applied_revision') or '-')[:12])}</code></p>"
        )
    parts.append(
        "<table><thead><tr><th>component</th><th>object</th><th>ready</th><th>reason</th><th>revision</th>"
        "<th>since</th><th>message</th></tr></thead><tbody>"
    )
    for component, o in s.rows:
        colour = _COLOUR.get(o.ready, "#57606a")
        parts.append(
            f'<tr class="{"ok" if o.ok else "bad"}"><td>{_e(component)}</td><td>{_e(o.ref)}</td>'
            f'<td style="color:{colour}"><b>{_e(o.ready)}</b></td><td>{_e(o.reason)}</td>'
            f"<td><code>{_e(o.revision[:40])}</code></td><td>{_e(o.since)}</td><td>{_e(o.message[:400])}</td></tr>"
        )
    parts.append("</tbody></table><h3>Recent updates</h3>")
    if updates:
        parts.append(
            "<table><thead><tr><th>started</th><th>seconds</th><th>result</th><th>revision</th>"
            "<th>commit &rarr; applied</th></tr></thead><tbody>"
        )
        for u in updates:
            latency = "-" if u.latency is None else f"{u.latency:.0f} s"
            parts.append(
                f"<tr><td>{_e(u.started.isoformat())}</td><td>{u.seconds:.0f}</td><td>{_e(u.result)}</td>"
                f"<td><code>{_e(u.revision[:12])}</code></td><td>{_e(latency)}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p class=muted>No update recorded.</p>")
    parts.append(f"<h3>Commit &rarr; applied latency</h3>{_plot(updates)}</section>")
    return "".join(parts)


# Asks for the stacks again every few seconds and swaps each stack's section for its new one.
_SCRIPT = """<script>
(function () {
  var every = Number(document.body.dataset.refresh) * 1000, shown = document.getElementById("updated");
  function tick() {
    fetch("status.json", {cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (d) {
        d.stacks.forEach(function (s) {
          var old = document.getElementById("stack-" + s.name);
          if (old) { old.outerHTML = s.html; }
        });
        document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
        shown.textContent = "updated " + d.generated; shown.className = "muted";
      })
      .catch(function (e) { shown.textContent = "cannot update: " + e.message; shown.className = "bad"; })
      .finally(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
</script>"""


def page_html(stacks: Sequence[tuple[ClusterStatus, Sequence[Update]]], refresh: float = REFRESH) -> str:
    body = "".join(_stack_section(s, u) for s, u in stacks)
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        "<title>eoepca-gitops status</title><style>"
        "body{font-family:sans-serif;margin:1.5em;color:#1f2328}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #d0d7de;padding:3px 6px;font-size:13px;text-align:left;vertical-align:top}"
        "tr.bad{background:#ffebe9}.bad{color:#cf222e}.muted{color:#57606a}small{color:#57606a}"
        ".graph-box{overflow-x:auto}.key{display:inline-block;border:1px solid #8c959f;border-radius:4px;"
        "padding:1px 6px;margin-right:6px;font-size:12px}"
        f'</style></head><body data-refresh="{refresh:g}" data-updates="0"><h1>eoepca-gitops status '
        '<small id="updated" class="muted">live</small></h1>' + body + _SCRIPT + "</body></html>"
    )


def page_json(stacks: Sequence[tuple[ClusterStatus, Sequence[Update]]]) -> str:
    """What the page fetches to update itself: each stack's section, rendered as on the page."""
    return json.dumps(
        {
            "generated": datetime.now(UTC).strftime("%H:%M:%S UTC"),
            "stacks": [{"name": s.stack.name, "html": _stack_section(s, u)} for s, u in stacks],
        }
    )


def serve_status(
    listen: str,
    stacks: list[str],
    project: Path,
    state_file: Path | None,
    *,
    load: Callable[[str, Path], Prepared],
    say: Callable[[str], None],
) -> None:
    """`status --serve`: the page for `stacks`, each loaded with `load` and gathered afresh on each
    request, until Ctrl-C; `say` tells where it is served."""
    from eoepca_gitops.operations.collect import collect

    def sections() -> list[tuple[ClusterStatus, Sequence[Update]]]:
        out: list[tuple[ClusterStatus, Sequence[Update]]] = []
        for name in stacks:
            prepared = load(name, project)
            status = collect(prepared.stack, prepared.manifests, project, state_file=state_file)
            try:
                updates = recent_updates(name, project)
            except GitopsError:
                updates = []
            out.append((status, updates))
        return out

    try:
        host, port = parse_listen(listen)
        server = status_server(
            host, port, lambda: page_html(sections()).encode(), lambda: page_json(sections()).encode()
        )
    except (ValueError, OSError) as exc:
        raise GitopsError(f"--serve {listen}: {exc}") from None
    say(f"status page of {', '.join(stacks)} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def status_server(
    host: str, port: int, render: Callable[[], bytes], data: Callable[[], bytes] | None = None
) -> ThreadingHTTPServer:
    """An HTTP server answering GET / with `render()` and GET /status.json with `data()` (one at a
    time)."""
    lock = threading.Lock()
    routes = {"/": (render, "text/html")} | ({"/status.json": (data, "application/json")} if data else {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(self.path.split("?", 1)[0])
            if route is None:
                self.send_error(404)
                return
            answer, kind = route
            try:
                with lock:
                    body, code = answer(), 200
            except GitopsError as exc:
                body, code, kind = page_error(str(exc)), 503, "text/html"
            self.send_response(code)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return http_server(host, port, Handler)


def page_error(message: str) -> bytes:
    return (
        f"<!doctype html><html><body><h1>eoepca-gitops status</h1><p>{_e(message)}</p></body></html>".encode()
    )
