#!/usr/bin/env python3
"""bench/results_write.py - write bench/run's generated blocks into RESULTS.md.

RESULTS.md is part generated, part written by hand (what limits each figure,
history, profiles explained). Each generated block lives between a pair of
marker lines:

    <!-- bench:NAME:begin -->
    ...generated...
    <!-- bench:NAME:end -->

and this script replaces only what is between a block's markers; every other
line of the file is kept byte for byte, so a rerun never reverts prose. A
block whose marker pair is missing is appended at the end of the file (and
said so on stderr), never dropped. A damaged pair (a begin without its end,
an end before its begin, a marker twice) stops the script with exit status 2
before anything is written: guessing where a block ends could eat prose.

Usage:
  results_write.py RESULTS.md [--stamp TEXT] [--table NAME=ROWS_FILE]... [--text NAME=FILE]...

--table renders the ROW lines of ROWS_FILE (bench_util.h's format,
"ROW|figure|value|unit|baseline|baseline value|ratio|spread|note"; other
lines are ignored) as a markdown table, led by the --stamp line so a block
left from an earlier run still says when it was measured. --text inserts
FILE verbatim. Blocks are written (or appended) in the order given. A block
not named on the command line is left as it is.

Must never: change a line outside a named block's markers, write a file it
could not fully build (it writes a temporary file and renames it), or use
anything beyond the Python 3 standard library (CI has only that).
"""
import os
import re
import sys
import tempfile

NAME_RE = re.compile(r"^[a-z0-9_-]+$")
MARKER_RE = re.compile(r"^\s*<!--\s*bench:([a-z0-9_-]+):(begin|end)\s*-->\s*$")
TABLE_HEAD = ("| figure | value | unit | baseline | baseline value | ratio | spread | note |\n"
              "|---|---:|---|---|---:|---:|---|---|\n")
ROW_FIELDS = 8


class MarkerError(Exception):
    """The file's markers do not pair up; nothing may be written."""


def begin_marker(name):
    return f"<!-- bench:{name}:begin -->\n"


def end_marker(name):
    return f"<!-- bench:{name}:end -->\n"


def render_table(rows_text, stamp):
    """Markdown for the ROW lines in rows_text: stamp, header, one line per
    row. A malformed ROW line becomes a row saying so rather than vanishing;
    no rows at all becomes one "not measured" row."""
    out = []
    for line in rows_text.splitlines():
        if not line.startswith("ROW|"):
            continue
        cells = line[len("ROW|"):].split("|")
        if len(cells) != ROW_FIELDS:
            cells = ["malformed ROW line (skipped)", "0", "-", "-", "0", "0", "",
                     f"{len(cells)} fields instead of {ROW_FIELDS}: " + line[:80].replace("|", "\\|")]
        out.append("| " + " | ".join(c.strip() if i else c.rstrip() for i, c in enumerate(cells)) + " |\n")
    if not out:
        out.append("| not measured in this run | 0 | - | - | 0 | 0 |  | no ROW lines |\n")
    return (stamp + "\n\n" if stamp else "") + TABLE_HEAD + "".join(out)


def find_blocks(lines):
    """Map block name -> (begin line index, end line index) of every marker
    pair in lines; MarkerError if any pair is broken or repeated."""
    blocks, open_at = {}, {}
    for i, line in enumerate(lines):
        m = MARKER_RE.match(line)
        if not m:
            continue
        name, kind = m.group(1), m.group(2)
        if kind == "begin":
            if name in open_at or name in blocks:
                raise MarkerError(f"line {i + 1}: second begin marker of bench:{name}")
            if open_at:
                raise MarkerError(f"line {i + 1}: bench:{name} begins inside bench:{next(iter(open_at))}")
            open_at[name] = i
        else:
            if name not in open_at:
                raise MarkerError(f"line {i + 1}: end marker of bench:{name} without its begin")
            blocks[name] = (open_at.pop(name), i)
    if open_at:
        name, i = next(iter(open_at.items()))
        raise MarkerError(f"line {i + 1}: begin marker of bench:{name} without its end")
    return blocks


def apply_blocks(text, new_blocks):
    """text with each (name, content) of new_blocks put between its markers
    (appended with its markers at the end when they are missing). Returns
    (new text, names appended)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    blocks = find_blocks(lines)
    appended = []
    # Replace from the bottom up so earlier indices stay valid.
    present = sorted(((blocks[n], n, c) for n, c in new_blocks if n in blocks), reverse=True)
    for (b, e), _name, content in present:
        body = content if content.endswith("\n") or not content else content + "\n"
        lines[b + 1:e] = [body] if body else []
    for name, content in new_blocks:
        if name in blocks:
            continue
        body = content if content.endswith("\n") or not content else content + "\n"
        if lines and lines[-1].strip():
            lines.append("\n")
        lines += [begin_marker(name), body, end_marker(name)]
        appended.append(name)
    return "".join(lines), appended


def parse_args(argv):
    """(results path, stamp, [(name, kind, path)]) or SystemExit(2) with usage."""
    usage = ("usage: results_write.py RESULTS.md [--stamp TEXT] [--table NAME=ROWS_FILE]... "
             "[--text NAME=FILE]...")
    if len(argv) < 2 or argv[1].startswith("-"):
        sys.exit(usage)
    path, stamp, specs, seen = argv[1], "", [], set()
    i = 2
    while i < len(argv):
        opt = argv[i]
        if opt not in ("--stamp", "--table", "--text") or i + 1 >= len(argv):
            sys.exit(usage)
        val = argv[i + 1]
        i += 2
        if opt == "--stamp":
            stamp = val
            continue
        name, sep, file = val.partition("=")
        if not sep or not NAME_RE.match(name) or not file:
            sys.exit(f"results_write.py: {opt} takes NAME=FILE with NAME of [a-z0-9_-]: {val!r}")
        if name in seen:
            sys.exit(f"results_write.py: block {name} named twice")
        seen.add(name)
        specs.append((name, opt[2:], file))
    return path, stamp, specs


def main(argv):
    path, stamp, specs = parse_args(argv)
    new_blocks = []
    for name, kind, file in specs:
        with open(file, encoding="utf-8") as f:
            raw = f.read()
        new_blocks.append((name, render_table(raw, stamp) if kind == "table" else raw))
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Benchmark results\n"
    try:
        out, appended = apply_blocks(text, new_blocks)
    except MarkerError as e:
        print(f"results_write.py: {path}: {e}; nothing written", file=sys.stderr)
        return 2
    for name in appended:
        print(f"results_write.py: {path} had no bench:{name} markers; appended the block at the end",
              file=sys.stderr)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".results_write.", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(out)
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
