#!/usr/bin/env python3
"""Check that our .proto text is not pasted from the reference.

Usage: python check_similarity.py OUR_PROTO_DIR REFERENCE_PROTO_DIR

Every non-blank line of our files is stripped of surrounding whitespace and
looked up in the set of stripped lines of the reference files. Lines that are
only `}` and pure field / enum-value declarations are skipped (those must be
identical for wire compatibility). The remaining verbatim matches are listed
by category; comment matches are the ones that matter and must be zero.
"""

import pathlib
import re
import sys

FIELD = re.compile(
    r"^(optional |repeated )?(map<\s*\w+\s*,\s*[\w.]+\s*>|[\w.]+)\s+\w+\s*=\s*\d+\s*(\[[^\]]*\])?\s*;$")
ENUM_VALUE = re.compile(r"^\w+\s*=\s*-?\d+\s*(\[[^\]]*\])?\s*;$")
HEADER = re.compile(r"^(message|enum|oneof|service)\s+\w+\s*\{\s*\}?$")
PREAMBLE = re.compile(r"^(syntax|package|import|option)\b")


def lines(path):
    for raw in path.read_text().splitlines():
        s = raw.strip()
        if s:
            yield s


def main(ours_dir, ref_dir):
    ref = set()
    ref_comments = set()
    for p in sorted(pathlib.Path(ref_dir).glob("*.proto")):
        for s in lines(p):
            ref.add(s)
            if "//" in s:
                # also index the comment part of trailing comments
                ref_comments.add(s[s.index("//"):].strip())

    cats = {"comment": [], "header": [], "preamble": [], "other": []}
    total = considered = 0
    for p in sorted(pathlib.Path(ours_dir).glob("*.proto")):
        for n, s in enumerate(p.read_text().splitlines(), 1):
            s = s.strip()
            if not s:
                continue
            total += 1
            if s == "}" or s == "//" or FIELD.match(s) or ENUM_VALUE.match(s):
                continue
            considered += 1
            comment = s.startswith("//")
            hit = s in ref or (comment and s in ref_comments)
            if comment and not hit and len(s) > 4:
                # a comment that merely extends a reference comment is a copy too
                hit = any(len(s) > 20 and s in r for r in ref_comments)
            if not hit:
                continue
            if comment:
                cat = "comment"
            elif HEADER.match(s):
                cat = "header"
            elif PREAMBLE.match(s):
                cat = "preamble"
            else:
                cat = "other"
            cats[cat].append(f"{p.name}:{n}: {s}")

    # near-verbatim comments (informational): similarity ratio >= 0.8
    import difflib
    near = []
    ref_c = [c for c in ref_comments if len(c) > 12]
    for p in sorted(pathlib.Path(ours_dir).glob("*.proto")):
        for n, s in enumerate(p.read_text().splitlines(), 1):
            s = s.strip()
            if s.startswith("//") and len(s) > 12:
                best = max(ref_c, key=lambda r: difflib.SequenceMatcher(None, s, r).ratio())
                ratio = difflib.SequenceMatcher(None, s, best).ratio()
                if ratio >= 0.8:
                    near.append(f"{p.name}:{n}: {s}   ~   {best}  ({ratio:.2f})")
    print(f"near-verbatim comment lines (ratio >= 0.8): {len(near)}")
    for r in near:
        print("   ", r)
    print(f"non-blank lines: {total}; checked (not '}}'/field/enum value): {considered}")
    for cat, rows in cats.items():
        print(f"verbatim {cat} lines: {len(rows)}")
        if cat in ("comment", "other"):
            for r in rows:
                print("   ", r)
    return 1 if cats["comment"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
