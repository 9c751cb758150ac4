"""A self-contained HTML report: images inlined as data URIs, no scripts, no network.

The page depends only on its inputs (no timestamps, no absolute paths, sorted keys), so the same
run gives byte-identical HTML.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2rem}
nav{font-size:.9rem;color:#666} nav a{margin-right:.8rem}
table{border-collapse:collapse;font-size:.9rem} td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} th{background:#f6f6f6}
.tables{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start} td{overflow-wrap:anywhere;max-width:28rem}
figure{margin:1rem 0} img{max-width:100%;image-rendering:pixelated;border:1px solid #eee}
figcaption{color:#666;font-size:.85rem} .note{color:#666;font-style:italic} summary{cursor:pointer;color:#444}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:0 1.5rem}
"""


def data_uri(image: Path) -> str:
    """A PNG or GIF file as a base64 data URI."""
    mime = "image/gif" if image.suffix == ".gif" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(image.read_bytes()).decode()


def figure(png: Path, caption: str) -> str:
    """An <figure> with the inlined image, or a note when the file is missing."""
    if not png.is_file():
        return f'<p class="note">{html.escape(caption)}: not produced by this run.</p>'
    alt = html.escape(caption, quote=True)
    return f'<figure><img src="{data_uri(png)}" alt="{alt}"><figcaption>{html.escape(caption)}</figcaption></figure>'


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _flatten(prefix: str, value: object, out: list[tuple[str, object]], lists: bool) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out, lists)
    elif lists or not isinstance(value, list):
        out.append((prefix, value))


def key_value_table(groups: dict[str, dict], header: tuple[str, str], lists: bool = True) -> str:
    """{group: nested dict} as one small table per group (`key.sub | value` rows), side by side.

    Lists become one cell ("[a, b]") when `lists`, else are left out (per-step series).
    """
    tables = []
    for group, values in groups.items():
        flat: list[tuple[str, object]] = []
        _flatten("", values, flat, lists)
        rows = [f'<tr><th scope="col">{html.escape(group)}</th><th scope="col">{html.escape(header[1])}</th></tr>']
        for key, value in flat:
            cls = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
            rows.append(f"<tr><td>{html.escape(key)}</td><td{cls}>{html.escape(_shown(value))}</td></tr>")
        tables.append(f'<table aria-label="{html.escape(header[0], quote=True)}s: {html.escape(group, quote=True)}">'
                      f"{''.join(rows)}</table>")
    return f'<div class="tables">{"".join(tables)}</div>'


def gallery(parts: list[str]) -> str:
    """Figures side by side (wrapping), e.g. the GAN progress grids."""
    return f'<div class="grid">{"".join(parts)}</div>' if parts else ""


def metrics_table(metrics: dict[str, dict]) -> str:
    """{source: {key: value}} as a table (lists such as per-step series are left out)."""
    return key_value_table(metrics, ("metric", "value"), lists=False)


def params_table(params: dict[str, dict]) -> str:
    """params.yaml's sections as a table, lists shown inline."""
    return key_value_table(params, ("param", "value"), lists=True)


def anchor(heading: str) -> str:
    """A stable id for a section heading."""
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "section"


def headline_table(rows: list[tuple[str, str, str]]) -> str:
    """The run's headline numbers: (what, value, how to read it) per row."""
    body = "".join(f"<tr><td>{html.escape(what)}</td><td class=\"num\">{html.escape(value)}</td>"
                   f"<td>{html.escape(reading)}</td></tr>" for what, value, reading in rows)
    return ('<table aria-label="headline results"><tr><th scope="col">result</th><th scope="col">value</th>'
            f'<th scope="col">how to read it</th></tr>{body}</table>')


def collapsed(summary: str, content: str) -> str:
    """`content` folded under a one-line summary."""
    return f"<details><summary>{html.escape(summary)}</summary>{content}</details>"


def render_report(title: str, params: dict, metrics: dict[str, dict], sections: list[tuple[str, list[str]]],
                  subtitle: str = "", headline: list[tuple[str, str, str]] | None = None) -> str:
    """The whole page: a contents line, the headline numbers, titled figure sections, then every metric
    and param folded away at the end.

    A section whose parts are all empty is left out (e.g. no beta sweep in this run).
    """
    sections = [(heading, parts) for heading, parts in sections if any(parts)]
    if headline:
        sections.insert(0, ("Results", [headline_table(headline)]))
    sections += [("Metrics", [collapsed("Every metric of this run, by file", metrics_table(metrics))]),
                 ("Parameters", [collapsed("params.yaml as this run used it", params_table(params))])]
    nav = " ".join(f'<a href="#{anchor(h)}">{html.escape(h)}</a>' for h, _ in sections)
    body = [f"<h1>{html.escape(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="note">{html.escape(subtitle)}</p>')
    body.append(f"<nav>{nav}</nav>")
    for heading, parts in sections:
        body += [f'<h2 id="{anchor(heading)}">{html.escape(heading)}</h2>', *parts]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
            f'<title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")
