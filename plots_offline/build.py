"""Rebuild plots_offline/template.html: DVC's plots page with vega, vega-lite and vega-embed inlined.

`dvc plots show/diff` write an HTML page that loads these three libraries from a CDN, so it is blank
offline. This template has no `{scripts}` placeholder (so DVC's CDN <script src> tags are dropped)
and carries the libraries' minified builds instead, at the versions dvc-render 1.0.x asks for.
Needs `npm` (the registry only); run from anywhere: python plots_offline/build.py
"""
from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = {  # the versions dvc_render.vega.VegaRenderer.SCRIPTS loads from the CDN
    "vega": ("5.20.2", "build/vega.min.js"),
    "vega-lite": ("5.2.0", "build/vega-lite.min.js"),
    "vega-embed": ("6.18.2", "build/vega-embed.min.js"),
}
BUNDLED = """\
The minified builds bundle their npm dependencies (see each package.json), all under permissive
licenses that allow redistribution with the notices kept:
- vega: the vega-* modules (BSD-3-Clause, UW Interactive Data Lab) and the d3-* modules, delaunator,
  robust-predicates and topojson-client they use (ISC; d3-geo includes GeographicLib code, MIT)
- vega-lite: clone (MIT), fast-deep-equal (MIT), fast-json-stable-stringify (MIT),
  json-stringify-pretty-compact (MIT), array-flat-polyfill (MIT), tslib (0BSD, Microsoft), vega-util,
  vega-event-selector, vega-expression (BSD-3-Clause)
- vega-embed: fast-json-patch (MIT, (c) 2017 Joachim Wester), json-stringify-pretty-compact (MIT),
  semver (ISC), tslib (0BSD, (c) Microsoft Corporation), vega-schema-url-parser, vega-themes,
  vega-tooltip (BSD-3-Clause, UW Interactive Data Lab)
"""
HEAD = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot (offline)</title>
    <!-- vega, vega-lite and vega-embed inlined (BSD-3-Clause, see plots_offline/LICENSES.txt);
         built by plots_offline/build.py. DVC's CDN scripts are dropped: no {scripts} placeholder. -->
"""
TAIL = """    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{name}@{version}" for name, (version, _) in PACKAGES.items()]
        subprocess.run(["npm", "pack", "--silent", *specs], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        scripts, licenses = [], []
        for name, (version, build) in PACKAGES.items():
            with tarfile.open(Path(tmp) / f"{name}-{version}.tgz") as tar:
                js = tar.extractfile(f"package/{build}").read().decode()
                text = tar.extractfile("package/LICENSE").read().decode()
            js = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "", js)
            for bad in ("</script", "{scripts}", "{plot_divs}", "{refresh_tag}"):
                assert bad not in js, f"{name}: {bad!r} would break the template"
            scripts.append(f"    <script>/* {name}@{version} (BSD-3-Clause) */\n{js}\n    </script>\n")
            licenses.append(f"{name}@{version} ({build})\n{'=' * 60}\n{text.strip()}\n")
    # The head comment mentions the placeholder by name; keep it from being read as one.
    (HERE / "template.html").write_text(HEAD.replace("no {scripts}", "no scripts") + "".join(scripts) + TAIL)
    (HERE / "LICENSES.txt").write_text("\n\n".join(licenses) + "\n\n" + BUNDLED)
    print(f"wrote {HERE / 'template.html'} ({(HERE / 'template.html').stat().st_size} bytes)")


if __name__ == "__main__":
    main()
