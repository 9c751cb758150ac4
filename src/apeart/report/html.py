"""A self-contained HTML report: images inlined as data URIs, no scripts, no network."""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.9rem} td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}
figure{margin:1rem 0} img{max-width:100%;image-rendering:pixelated;border:1px solid #eee}
figcaption{color:#666;font-size:.85rem} pre{background:#f6f6f6;padding:.8rem;overflow:auto;font-size:.8rem}
"""


def data_uri(png: Path) -> str:
    """A PNG file as a base64 data URI."""
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()


def figure(png: Path, caption: str) -> str:
    """An <figure> with the inlined image, or a note when the file is missing."""
    if not png.is_file():
        return f"<p><em>{html.escape(caption)}: not produced by this run.</em></p>"
    alt = html.escape(caption, quote=True)
    return f'<figure><img src="{data_uri(png)}" alt="{alt}"><figcaption>{html.escape(caption)}</figcaption></figure>'


def metrics_table(metrics: dict[str, dict]) -> str:
    """Flatten {file: {key: value}} into a two-column table."""
    rows = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif not isinstance(value, list):
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            rows.append(f"<tr><td>{html.escape(prefix)}</td><td>{html.escape(shown)}</td></tr>")

    for name, values in metrics.items():
        walk(name, values)
    return "<table><tr><th>metric</th><th>value</th></tr>" + "".join(rows) + "</table>"


def render_report(title: str, params: dict, metrics: dict[str, dict], sections: list[tuple[str, list[str]]]) -> str:
    """The whole page: params, metrics, then titled sections of pre-rendered figure HTML."""
    body = [f"<h1>{html.escape(title)}</h1>", "<h2>Metrics</h2>", metrics_table(metrics)]
    for heading, parts in sections:
        body += [f"<h2>{html.escape(heading)}</h2>", *parts]
    body += ["<h2>Parameters</h2>", f"<pre>{html.escape(json.dumps(params, indent=2))}</pre>"]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")
