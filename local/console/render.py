"""The console's HTML: whole pages (readable with JavaScript off) and the fragments htmx swaps in.

Pure string building from ``local.console.views`` values; every value from outside goes through
``html.escape``. Panels that change (status, metrics, events) carry ``hx-get`` + ``hx-trigger="every
Ns"`` and are replaced in place; the forms are plain HTML forms (``method="post"``) that htmx turns into
in-page requests (``hx-post``), so they also work without JavaScript (the server answers a whole page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from local.console.backend import InferResult
from local.console.metrics import RevisionStats
from local.console.views import FormInput, ServiceView

PREFIX = "/console"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def page(title: str, body: str, mode: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · isvc console</title>
<link rel="stylesheet" href="{PREFIX}/static/console.css">
<script src="{PREFIX}/static/htmx.min.js" defer></script>
</head><body>
<header><a class="brand" href="{PREFIX}">isvc console</a><span class="mode">{_e(mode)}</span></header>
<main>{body}</main>
</body></html>"""


def service_url(namespace: str, name: str, suffix: str = "") -> str:
    """A service's page (``suffix``: one of its fragments or forms), by namespace and name as the
    Kubernetes API addresses it: ``/console/namespaces/{namespace}/services/{name}``."""
    return f"{PREFIX}/namespaces/{quote(namespace, safe='')}/services/{quote(name, safe='')}{suffix}"


def _poll(url: str, seconds: int, extra: str = "") -> str:
    trigger = f"every {seconds}s" + (f", {extra}" if extra else "")
    return f'hx-get="{_e(url)}" hx-trigger="{trigger}" hx-swap="outerHTML"'


def error_box(message: str) -> str:
    return f'<p class="error" role="alert">{_e(message)}</p>'


# ------------------------------------------------------------------ the service list


def services_table(views: Sequence[ServiceView]) -> str:
    rows = []
    for view in views:
        for component in view.components:
            split = ", ".join(
                f"{r.info.name} {r.info.traffic_percent}%" for r in component.revisions if r.info.traffic_percent
            )
            replicas = sum(r.replicas or 0 for r in component.revisions if r.info.traffic_percent)
            rows.append(
                f'<tr data-namespace="{_e(view.namespace)}" data-service="{_e(view.name)}">'
                f'<td class="namespace">{_e(view.namespace)}</td>'
                f'<td><a href="{_e(service_url(view.namespace, view.name))}">{_e(view.name)}</a></td>'
                f"<td>{_e(component.name)}</td><td>{_e(component.phase)}</td><td>{len(component.revisions)}</td>"
                f'<td>{_e(split)}</td><td class="num">{replicas}</td><td>{_ready(view.ready)}</td></tr>'
            )
    body = "".join(rows) or '<tr><td colspan="8">no InferenceServices</td></tr>'
    return (  # kubectl get -A's layout: the namespace first, rows by namespace then name
        f'<table id="services" class="grid" {_poll(PREFIX + "/fragments/services", 3)}>'
        "<thead><tr><th>namespace</th><th>service</th><th>component</th><th>phase</th><th>revisions</th>"
        f"<th>traffic</th><th>replicas</th><th>ready</th></tr></thead><tbody>{body}</tbody></table>"
    )


def namespace_choice(name: str, namespaces: Sequence[str]) -> str:
    """Links to the service ``name`` of each namespace holding it (a name-only URL's 409 page)."""
    links = "".join(
        f'<li><a href="{_e(service_url(namespace, name))}">{_e(namespace)}/{_e(name)}</a></li>'
        for namespace in namespaces
    )
    return f'<ul class="namespaces">{links}</ul>'


def index_page(views: Sequence[ServiceView], mode: str, error: str | None = None) -> str:
    body = "<h1>InferenceServices</h1>" + (error_box(error) if error else "") + services_table(views)
    return page("InferenceServices", body, mode)


def _ready(ready: bool | None) -> str:
    label = {True: "Ready", False: "Not ready", None: "Unknown"}[ready]
    return f'<span class="ready-{str(ready).lower()}">{label}</span>'


# ------------------------------------------------------------------ one service


def status_panel(view: ServiceView) -> str:
    poll = _poll(service_url(view.namespace, view.name, "/status"), 2, "isvc-changed from:body")
    parts = [
        f'<section id="status" {poll}>',
        f'<h2>{_e(view.name)} <small>namespace <span class="namespace">{_e(view.namespace)}</span> · model '
        f"{_e(view.model_name)}</small> {_ready(view.ready)}</h2>",
    ]
    for component in view.components:
        canary = f"canary {component.canary_percent}%" if component.canary_percent is not None else "no canary"
        bar = "".join(
            f'<span class="slice" style="width:{r.info.traffic_percent}%" title="{_e(r.info.name)}">'
            f"{_e(r.info.name.rsplit('-', 1)[-1])} {r.info.traffic_percent}%</span>"
            for r in component.revisions
            if r.info.traffic_percent
        )
        dated = any(r.info.created for r in component.revisions)
        rows = "".join(
            f'<tr data-revision="{_e(r.info.name)}"><td>{_e(r.info.name)}</td>'
            f"<td>{_e({True: 'True', False: 'False', None: 'Unknown'}[r.info.ready])}</td>"
            f'<td class="num traffic">{r.info.traffic_percent}%</td><td>{_e(r.info.tag)}</td>'
            f"<td>{_e(r.info.role)}</td>{_replicas(r.replicas)}"
            + (f"<td>{_e(r.info.created)}</td>" if dated else "")
            + "</tr>"
            for r in component.revisions
        )
        message = f'<p class="error">{_e(component.message)}</p>' if component.message else ""
        parts.append(
            f'<div class="component" data-component="{_e(component.name)}">'
            f"<h3>{_e(component.name)} <small>{_e(component.phase)} · {_e(canary)}</small></h3>{message}"
            f'<div class="split" aria-label="traffic split">{bar}</div>'
            '<table class="grid"><thead><tr><th>revision</th><th>ready</th><th>traffic</th><th>tag</th>'
            f"<th>role</th><th>replicas</th>{'<th>created</th>' if dated else ''}</tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )
    parts.append("</section>")
    return "".join(parts)


def _replicas(count: int | None) -> str:
    if count is None:
        return '<td class="num replicas">&ndash;</td>'
    if count == 0:
        return '<td class="num replicas zero" title="scaled to zero">0</td>'
    return f'<td class="num replicas">{count}</td>'


def rollout_form(view: ServiceView, result: str = "") -> str:
    url = _e(service_url(view.namespace, view.name, "/rollout"))
    options = "".join(
        f'<option value="{_e(c.name)}"{" selected" if c.name == "predictor" else ""}>{_e(c.name)}</option>'
        for c in view.components
    )
    current = next((c.canary_percent for c in view.components if c.name == "predictor"), None)
    percent = current if current is not None else 10
    return f"""<section id="rollout"><h2>Rollout</h2>
<form method="post" action="{url}" hx-post="{url}" hx-target="#rollout-result" hx-swap="innerHTML">
<label>component <select name="component">{options}</select></label>
<label>canary percent <input id="canary-percent" type="range" name="percent" min="0" max="100" step="1"
 value="{percent}" oninput="this.nextElementSibling.value=this.value"><output>{percent}</output>%</label>
<button name="action" value="canary" type="submit">Set canary</button>
<button name="action" value="promote" type="submit">Promote</button>
<button name="action" value="rollback" type="submit">Roll back</button>
</form><div id="rollout-result" aria-live="polite">{result}</div></section>"""


def rollout_result(action: str, component: str, percent: int | None, view: ServiceView) -> str:
    what = f"{action} {percent}%" if action == "canary" else action
    lines = []
    for c in view.components:
        if c.name == component:
            split = ", ".join(f"{r.info.name} {r.info.traffic_percent}%" for r in c.revisions if r.info.traffic_percent)
            lines.append(f"{c.name}: {c.phase} [{split}]")
    return f'<p class="ok">{_e(what)} on {_e(component)}: done. {_e("; ".join(lines))}</p>'


def try_form(view: ServiceView, inputs: Sequence[FormInput], result: str = "", error: str | None = None) -> str:
    url = _e(service_url(view.namespace, view.name, "/try"))
    if error:
        fields = error_box(f"no V2 metadata for model {view.model_name}: {error}")
    else:
        fields = "".join(
            f"<label>{_e(i.name)} <small>{_e(i.datatype)} {_e(list(i.shape))}</small>"
            f'<input name="input.{_e(i.name)}" value="{_e(i.default)}" required></label>'
            for i in inputs
        )
    return f"""<section id="try"><h2>Try it <small>POST /v2/models/{_e(view.model_name)}/infer</small></h2>
<form method="post" action="{url}" hx-post="{url}" hx-target="#try-result" hx-swap="innerHTML">{fields}
<button type="submit">Send</button></form><div id="try-result" aria-live="polite">{result}</div></section>"""


def try_result(result: InferResult, request: Mapping[str, Any]) -> str:
    served = ", ".join(f"{c} {r}" for c, r in result.revisions.items()) or "not reported"
    css = "ok" if result.status == 200 else "error"
    return (
        f'<p class="{css}">HTTP <span class="http-status">{result.status}</span> in {result.elapsed_ms:.1f} ms, '
        f'served by <span class="served-by">{_e(served)}</span></p>'
        f"<details><summary>request</summary><pre>{_e(json.dumps(request))}</pre></details>"
        f'<pre class="response">{_e(_pretty(result.body))}</pre>'
    )


def metrics_panel(
    namespace: str, name: str, stats: Iterable[RevisionStats], window_s: float, note: str | None = None
) -> str:
    """The traffic of the service ``name`` of ``namespace``: ``stats`` are that namespace's only."""

    def fmt(value: float | None, pattern: str) -> str:
        return "&ndash;" if value is None else pattern.format(value)

    rows = "".join(
        f'<tr data-revision="{_e(s.revision)}"><td>{_e(s.component)}</td><td>{_e(s.revision)}</td>'
        f'<td class="num rps">{fmt(s.rps, "{:.2f}")}</td>'
        f'<td class="num">{fmt(None if s.error_rate is None else s.error_rate * 100, "{:.1f}%")}</td>'
        f'<td class="num">{"&gt; " if s.p99_beyond else ""}{fmt(s.p99_ms, "{:.1f}")}</td>'
        f'<td class="num">{s.requests:.0f}</td></tr>'
        for s in stats
    )
    body = rows or '<tr><td colspan="6">no requests recorded yet</td></tr>'
    caption = note or f"over the last {window_s / 60:.0f} min (or since the console opened), from /metrics"
    return (
        f'<section id="metrics" {_poll(service_url(namespace, name, "/metrics"), 3)}>'
        f'<h2>Traffic <small class="service">{_e(namespace)}/{_e(name)}</small></h2>'
        f'<table class="grid"><caption>{_e(caption)}</caption><thead><tr><th>component</th><th>revision</th>'
        "<th>req/s</th><th>errors</th><th>p99 ms</th><th>requests</th></tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def _clock(moment: Any) -> str:
    """``2026-12-01T21:14:53.486084Z`` -> ``21:14:53.486`` (the full time is in the title)."""
    text = str(moment or "")
    return text[11:23] if len(text) >= 23 and text[10] == "T" else text


def events_panel(namespace: str, name: str, events: Sequence[Mapping[str, Any]], error: str | None = None) -> str:
    """The logged events of the service ``name`` of ``namespace``: one ``<details>`` per inference and
    component; an opened one stays open as the panel refreshes: ``hx-preserve`` keeps the element with
    the same id from the page as it was, and the id names the pair's status, so a pair whose response
    arrives since is drawn anew."""
    rows = []
    for event in events:
        half = event.get("request") or event.get("response") or {}
        moment = half.get("time") or half.get("received_at")
        latency = event.get("latency_ms")
        status = str(event.get("status"))
        element_id = "ev-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{event.get('component')}-{event.get('id')}-{status}")
        bodies = "".join(
            f"<h4>{side} <small>{_e((event.get(side) or {}).get('content_type'))}</small></h4>"
            f"<pre>{_e(_pretty((event.get(side) or {}).get('body', '')))}</pre>"
            for side in ("request", "response")
            if event.get(side)
        )
        rows.append(
            f'<div class="event" data-id="{_e(event.get("id"))}" data-component="{_e(event.get("component"))}">'
            f'<details id="{element_id}" hx-preserve="true"><summary>'
            f'<span title="{_e(moment)}">{_e(_clock(moment))}</span><span>{_e(event.get("component"))}</span>'
            f'<span class="{"ok" if status == "ok" else "error"}">{_e(status)}</span>'
            f'<span class="num">{"" if latency is None else f"{latency:.1f} ms"}</span>'
            f'<span class="ceid">{_e(event.get("id"))}</span></summary>{bodies}</details></div>'
        )
    body = "".join(rows) or '<p class="empty">no events yet</p>'
    problem = error_box(error) if error else ""
    return (
        f'<section id="events" {_poll(service_url(namespace, name, "/events"), 2)}><h2>Logged events '
        f"<small>of {_e(namespace)}/{_e(name)} from the sink, newest first; click one for its bodies</small></h2>"
        f"{problem}"
        '<div class="events-head"><span>time (UTC)</span><span>component</span><span>status</span>'
        f"<span>latency</span><span>ce-id</span></div>{body}</section>"
    )


def service_page(view: ServiceView, panels: Sequence[str], mode: str) -> str:
    nav = f'<p><a href="{PREFIX}">← all InferenceServices</a></p>'
    body = nav + status_panel(view) + '<div class="columns">' + "".join(panels) + "</div>"
    return page(f"{view.namespace}/{view.name}", body, mode)


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), separators=(", ", ": "))
    except (ValueError, TypeError):
        return text
