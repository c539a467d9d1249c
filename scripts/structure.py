#!/usr/bin/env python3
"""The workspace's shape: files per folder, each crate's module imports (levels and
cycles), the longest functions, and the CLI's line count.

    python3 scripts/structure.py [--crate trainer] [--graph]

Modules are source files (a folder's `mod.rs` is the folder's module). A module depends
on another when it names an item of it through `crate::` or `super::` (a `use`, or a
path in the code); a path through a re-export (`pub use child::Item` in a parent) counts
as a dependency on the module that defines the item, and a parent's `mod` and `pub use`
lines are structure, not dependencies. Levels: a module that depends on no other is at
level 1, any other one above the highest it depends on (cycles condensed first). Test
code (`#[cfg(test)] mod tests { .. }`) is left out of functions and imports.
"""

import argparse
import collections
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = {
    "core": "core/src",
    "trainer": "trainer/src",
    "codec-cli": "codec-cli/src",
    "firmware": "firmware/src",
}
ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+|unsafe\s+|async\s+|extern\s+\"C\"\s+)*"
    r"(fn|struct|enum|trait|type|const|static|mod|union|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)
PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def blank_literals(text):
    """`text` with comments gone and string and char literals emptied (newlines kept),
    so that braces and paths inside them do not count."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = '"' + hashes
            j = text.find(end, i + 2 + len(hashes))
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:i + 4])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_tests(text):
    """The source without `#[cfg(test)]` items and comments."""
    text = blank_literals(text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def modules(src):
    """{module path tuple: (file, text without tests)} for the crate rooted at src."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            if "bin" in parts:
                continue
            with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                mods[tuple(parts)] = (rel, strip_tests(fh.read()))
    return mods


def expand_use(body):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    body = re.sub(r"\s+", "", body)

    def split(s):
        depth, cur, parts = 0, "", []
        for ch in s:
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            cur += ch
        if cur:
            parts.append(cur)
        return parts

    def walk(prefix, s):
        if "{" not in s:
            return [prefix + s.split(" as ")[0]]
        head, rest = s.split("{", 1)
        rest = rest[: rest.rfind("}")]
        res = []
        for p in split(rest):
            res += walk(prefix + head, p)
        return res

    return walk("", body)


def graph(mods):
    defs = {m: set(x[1] for x in ITEM.findall(t)) for m, (_, t) in mods.items()}
    reexports = collections.defaultdict(dict)  # module -> {name: target module path}
    uses = collections.defaultdict(list)
    for m, (_, t) in mods.items():
        for u in re.finditer(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", t):
            paths = expand_use(u.group(2))
            for p in paths:
                p = p.replace("self::", "")
                segs = [s for s in p.split("::") if s]
                if u.group(1) and segs:
                    if segs[0] == "crate":
                        reexports[m][segs[-1]] = tuple(segs[1:-1])
                    elif segs[0] == "super":
                        up = m
                        while segs and segs[0] == "super":
                            up, segs = up[:-1], segs[1:]
                        reexports[m][segs[-1]] = up + tuple(segs[:-1])
                    elif segs[0] not in ("std", "core", "alloc"):
                        reexports[m][segs[-1]] = m + tuple(segs[:-1])
                uses[m].append((segs, bool(u.group(1))))
        for p in PATH.finditer(re.sub(r"\buse\s+[^;]+;", "", t)):
            uses[m].append(([p.group(1)] + p.group(2).split("::")[1:], False))

    def resolve(start, segs):
        """The module defining the item named by segs from module `start`."""
        if not segs:
            return None
        if segs[0] == "crate":
            cur, segs = (), segs[1:]
        elif segs[0] == "super":
            cur = start
            while segs and segs[0] == "super":
                cur, segs = cur[:-1], segs[1:]
        else:
            return None
        for _ in range(8):
            if not segs or segs == ["*"]:
                return cur
            nxt = cur + (segs[0],)
            if nxt in mods:
                cur, segs = nxt, segs[1:]
                continue
            name = segs[0]
            if name in reexports.get(cur, {}):
                target = reexports[cur][name]
                if target == cur or target not in mods:
                    # `pub use child::Item` where child is not a file: the parent.
                    sub = [x for x in mods if x[: len(target)] == target]
                    return target if target in mods else cur if not sub else sub[0]
                cur, segs = target, segs
                continue
            return cur
        return cur

    edges = collections.defaultdict(set)
    for m, us in uses.items():
        for segs, is_pub in us:
            if is_pub and len(m) < 99:
                # A parent's re-export of its own child is structure.
                t = resolve(m, segs)
                if t is not None and t[: len(m)] == m:
                    continue
            t = resolve(m, segs)
            if t is not None and t != m and t in mods:
                edges[m].add(t)
    return edges


def sccs(nodes, edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def levels(nodes, edges):
    comps = sccs(nodes, edges)
    comp_of = {v: i for i, c in enumerate(comps) for v in c}
    level = {}
    for i, c in enumerate(comps):  # Tarjan emits components in reverse topological order
        deps = {comp_of[w] for v in c for w in edges.get(v, ()) if comp_of[w] != i}
        level[i] = 1 + max((level[d] for d in deps), default=0)
    return {v: level[comp_of[v]] for v in nodes}, [c for c in comps if len(c) > 1]


def functions(text):
    """(name, lines) of every fn with a body."""
    res = []
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:<[^{;]*?>)?\s*\(", text):
        j = m.end()
        depth = 1
        while j < len(text) and depth:  # past the argument list
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        k = j
        while k < len(text) and text[k] not in "{;":
            k += 1
        if k >= len(text) or text[k] == ";":
            continue
        depth, e = 1, k + 1
        while e < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[e], 0)
            e += 1
        res.append((m.group(1), text.count("\n", m.start(), e) + 1))
    return res


def name(m):
    return "::".join(m) if m else "(root)"


def report(crate, src, show_graph):
    mods = modules(os.path.join(ROOT, src))
    edges = graph(mods)
    lv, cycles = levels(list(mods), edges)
    per_folder = collections.Counter(os.path.dirname(f) or "." for f, _ in mods.values())
    lines = 0
    longest = []
    for m, (f, t) in mods.items():
        with open(os.path.join(ROOT, src, f), encoding="utf-8") as fh:
            lines += sum(1 for _ in fh)
        longest += [(n, f, ln) for n, ln in functions(t)]
    longest.sort(key=lambda x: -x[2])
    print(f"## {crate} ({src}): {len(mods)} files, {lines} lines")
    print("files per folder: " + ", ".join(f"{d}/ {n}" for d, n in sorted(per_folder.items())))
    print(f"import levels: {max(lv.values(), default=0)}; cycles: {len(cycles)}")
    for c in cycles:
        print("  cycle: " + " <-> ".join(sorted(name(m) for m in c)))
    # The same between the crate's top-level modules (a folder and what is in it as one).
    top = {m: m[:1] for m in mods}
    tedges = collections.defaultdict(set)
    for m, ds in edges.items():
        for d in ds:
            if top[d] != top[m]:
                tedges[top[m]].add(top[d])
    tlv, tcycles = levels(sorted(set(top.values())), tedges)
    print(f"between top-level modules: {len(tlv)} modules, import levels: {max(tlv.values(), default=0)}; cycles: {len(tcycles)}")
    for c in tcycles:
        print("  cycle: " + " <-> ".join(sorted(name(m) for m in c)))
    print("longest functions (lines, tests left out): " + ", ".join(f"{f} `{n}` {ln}" for n, f, ln in longest[:3]))
    if show_graph:
        for m in sorted(mods, key=lambda m: (lv[m], m)):
            deps = ", ".join(sorted(name(d) for d in edges.get(m, ())))
            print(f"  L{lv[m]} {name(m)} -> {deps}")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--crate", choices=sorted(CRATES), action="append")
    ap.add_argument("--graph", action="store_true", help="list every module with its level and dependencies")
    a = ap.parse_args()
    for c in a.crate or list(CRATES):
        report(c, CRATES[c], a.graph)


if __name__ == "__main__":
    main()
