#!/usr/bin/env bash
# Check the relative links of the project's Markdown documents: every
# `[text](target)` in README.md, SECURITY.md, BENCHMARKS.md and docs/*.md
# must name a file or directory inside the repository, a `#anchor` must name
# a heading of its target (GitHub's slugs), and no link may climb out of the
# repository with `../` (or through a symlink). Links with a scheme (https:, mailto:) are not
# checked. Exits 1 after listing every broken link. No daemons, no network:
# .ci/run calls it before the test suite.
#
#   hack/check-links.sh [FILE.md...]   (default: the documents above)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  set -- README.md SECURITY.md BENCHMARKS.md docs/*.md
fi
exec python3 - "$@" <<'PY'
import os
import re
import sys

ROOT = os.path.realpath(".")
# [text](target) or [text](target "title"); images (![...]) too.
LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# A reference definition: [name]: target
REFDEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?([^\s>]+)>?")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def prose_lines(path):
    """(number, line) of the lines outside fenced code blocks."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield n, line


def slug(heading):
    """GitHub's anchor for a heading: lower case, markup and punctuation
    dropped (hyphens and underscores kept), spaces become hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


anchors_of = {}


def anchors(path):
    """Every anchor a Markdown file offers (repeats get -1, -2, ...)."""
    if path not in anchors_of:
        seen, found = {}, set()
        for _, line in prose_lines(path):
            m = HEADING.match(line)
            if not m:
                continue
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
        anchors_of[path] = found
    return anchors_of[path]


def inside(path):
    return path == ROOT or path.startswith(ROOT + os.sep)


def check(doc):
    problems = []
    base = os.path.dirname(os.path.realpath(doc))
    for n, line in prose_lines(doc):
        # Inline code is not a link: `a[i](x)`.
        text = re.sub(r"`[^`]*`", "", line)
        for target in LINK.findall(text) + REFDEF.findall(text):
            where = f"{doc}:{n}: ({target})"
            if SCHEME.match(target):
                continue
            path, _, anchor = target.partition("#")
            if path.startswith("/"):
                problems.append(f"{where}: absolute path (use a relative one)")
                continue
            # `../` may climb to the root (docs/ -> README.md), never past it,
            # neither by name nor through a symlink.
            named = os.path.normpath(os.path.join(base, path)) if path else os.path.realpath(doc)
            full = os.path.realpath(named)
            if not inside(named) or not inside(full):
                problems.append(f"{where}: points outside the repository")
            elif not os.path.exists(full):
                problems.append(f"{where}: no such file")
            elif anchor:
                if not full.endswith(".md") or os.path.isdir(full):
                    problems.append(f"{where}: an anchor into a file that is not Markdown")
                elif anchor not in anchors(full):
                    rel = os.path.relpath(full, ROOT)
                    problems.append(f"{where}: no heading #{anchor} in {rel}")
    return problems


problems = []
for doc in sys.argv[1:]:
    if not os.path.isfile(doc):
        problems.append(f"{doc}: no such document")
        continue
    problems.extend(check(doc))
for p in problems:
    print(p, file=sys.stderr)
if problems:
    print(f"check-links: {len(problems)} broken link(s)", file=sys.stderr)
    sys.exit(1)
print(f"check-links: {len(sys.argv) - 1} documents, every relative link resolves")
PY
