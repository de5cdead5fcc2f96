#!/usr/bin/env python3
"""Generate the README's role option tables from each role's meta/argument_specs.yml.

    python scripts/role_docs.py          rewrite the generated block in README.md in place
    python scripts/role_docs.py --check  exit 1 when that block is stale

Only the lines between BEGIN and END below are ever rewritten; README.md is
re-read right before the write so edits elsewhere in it are kept.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTION = "halb.loadbalancer"
BEGIN = "<!-- BEGIN GENERATED: role options (scripts/role_docs.py) -->"
END = "<!-- END GENERATED: role options -->"
STALE = "README.md role options are stale: run python scripts/role_docs.py"

# Ansible doc markup: C(code) I(italic) O(option) O(option=value) V(value) M(module) P(plugin#type)
# U(url) L(text,url) B(bold) E(env) RV(return value). One regex, one function per letter.
_MARKUP = re.compile(r"\b(RV|[BCEILMOPUV])\(([^)]*)\)")
_FOREIGN_OPTION = re.compile(r"^[\w.]+#\w+:(\w+:)?")


def code(text) -> str:
    """An inline code span that survives backticks in its text."""
    text = str(text)
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return fence + pad + text + pad + fence


def _markup(match: re.Match) -> str:
    kind, body = match.group(1), match.group(2)
    if kind == "U":
        return "[%s](%s)" % (body, body)
    if kind == "L":
        text, _, url = body.rpartition(",")
        return "[%s](%s)" % (text.strip(), url.strip())
    if kind == "B":
        return "**%s**" % body
    if kind == "P":
        body = body.split("#", 1)[0]
    if kind in ("O", "RV"):
        # Another role's or plugin's option: O(ns.coll.role#role:entry:name) -> name.
        body = _FOREIGN_OPTION.sub("", body)
    return code(body)


def to_markdown(text) -> str:
    """Ansible markup to Markdown; a list of paragraphs is joined with spaces, whitespace collapsed."""
    if text is None:
        return ""
    if isinstance(text, (list, tuple)):
        text = " ".join(str(part) for part in text)
    text = " ".join(str(text).replace("HORIZONTALLINE", " ").split())
    return _MARKUP.sub(_markup, text)


def escape_cell(text: str) -> str:
    """Make text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def render_default(value) -> str:
    if isinstance(value, str):
        return code(value) if value else code('""')
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return ""
    return code(json.dumps(value, default=str))


def render_type(spec: dict) -> str:
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        return "list of %s" % spec["elements"]
    return str(kind)


def _sub_options(spec: dict) -> str:
    parts = []
    for name, sub in (spec.get("options") or {}).items():
        sub = sub or {}
        notes = [render_type(sub)]
        if sub.get("required"):
            notes.append("required")
        elif sub.get("default") is not None:
            notes.append("default %s" % render_default(sub["default"]))
        parts.append("%s (%s)" % (code(name), ", ".join(notes)))
    if not parts:
        return ""
    lead = "Each item" if spec.get("type") == "list" else "Keys"
    return "%s: %s." % (lead, ", ".join(parts))


def render_option(name: str, spec: dict) -> str:
    spec = spec or {}
    description = [to_markdown(spec.get("description"))]
    if spec.get("choices"):
        description.append("One of: %s." % ", ".join(code(render_choice(c)) for c in spec["choices"]))
    description.append(_sub_options(spec))
    default = "**required**" if spec.get("required") else render_default(spec.get("default"))
    cells = [code(name), render_type(spec), default, " ".join(part for part in description if part)]
    return "| %s |" % " | ".join(escape_cell(cell) for cell in cells)


def render_choice(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_role(role: str, specs: dict) -> list[str]:
    main = specs.get("main") or {}
    lines = ["#### %s.%s" % (COLLECTION, role), ""]
    if main.get("short_description"):
        lines += [to_markdown(main["short_description"]), ""]
    options = main.get("options") or {}
    if options:
        lines += ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
        lines += [render_option(name, spec) for name, spec in options.items()]
    else:
        lines.append("No options.")
    entry_points = [code("main")] if "main" in specs else []
    entry_points += ["%s (`tasks_from: %s`)" % (code(name), name) for name in specs if name != "main"]
    lines += ["", "Entry points: %s." % ", ".join(entry_points)]
    return lines


def render(root: str = ROOT) -> str:
    """The generated Markdown for every role, without the markers."""
    sections = []
    for path in sorted(glob.glob(os.path.join(root, "roles", "*", "meta", "argument_specs.yml"))):
        role = os.path.basename(os.path.dirname(os.path.dirname(path)))
        if role.startswith("_"):
            continue
        with open(path, encoding="utf-8") as handle:
            specs = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
        sections.append("\n".join(render_role(role, specs)))
    text = "\n\n".join(sections)
    return "\n".join(line.rstrip() for line in text.splitlines())


def splice(readme: str, generated: str, begin: str = BEGIN, end: str = END) -> str:
    """README text with the block between the markers replaced by generated."""
    lines = readme.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == begin]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError("README.md must hold the lines %s and %s once each, in that order" % (begin, end))
    newline = "\r\n" if lines[starts[0]].endswith("\r\n") else "\n"
    body = "".join(line + newline for line in [""] + generated.splitlines() + [""])
    return "".join(lines[: starts[0] + 1]) + body + "".join(lines[ends[0] :])


def _read(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def block_check(root: str, generated: str, begin: str, end: str, stale: str) -> str | None:
    """None when README.md's block between the markers is `generated`, else
    the one-line message to show (`stale`, or why the markers are wrong)."""
    readme = _read(os.path.join(root, "README.md"))
    try:
        expected = splice(readme, generated, begin, end)
    except ValueError as error:
        return str(error)
    return None if expected == readme else stale


def block_update(root: str, generated: str, begin: str, end: str) -> bool:
    """Rewrite README.md's block between the markers; True when the file changed."""
    path = os.path.join(root, "README.md")
    readme = _read(path)  # read right before writing: others edit the rest of README.md
    updated = splice(readme, generated, begin, end)
    if updated == readme:
        return False
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(updated)
    return True


def block_main(argv, description: str, figures: str, check, render, begin: str, end: str) -> int:
    """The command line of a script that writes one README block from a
    result file: --check exits 1 with check()'s message when the block is
    stale; otherwise the block is rewritten from render()."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md's %s are stale" % figures)
    args = parser.parse_args(argv)
    if args.check:
        problem = check()
        if problem:
            print(problem, file=sys.stderr)
        return 1 if problem else 0
    changed = block_update(ROOT, render(), begin, end)
    print("README.md %s %s" % (figures, "updated" if changed else "already current"))
    return 0


def check(root: str = ROOT) -> str | None:
    """None when README.md's block is current, else the one-line message to show."""
    return block_check(root, render(root), BEGIN, END, STALE)


def update(root: str = ROOT) -> bool:
    """Rewrite the block in README.md; True when the file changed."""
    return block_update(root, render(root), BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md's role options are stale")
    args = parser.parse_args(argv)
    if args.check:
        problem = check()
        if problem:
            print(problem, file=sys.stderr)
            return 1
        return 0
    try:
        changed = update()
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    print("README.md role options %s" % ("updated" if changed else "already current"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
