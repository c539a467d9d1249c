#!/usr/bin/env python3
"""Writes a benchmark's table into its generated block of docs/benchmarks.md.

    python3 scripts/doc_section.py NAME COMMAND [TABLE]     (TABLE: a file, else stdin)

The block is the text between `<!-- begin generated: NAME -->` and
`<!-- end generated: NAME -->`; it is replaced by a line naming the date, COMMAND and
this machine (CPU, cores, OS), then the table. The file is written whole to a temporary
file and renamed over the old one, so an interrupted run leaves it as it was. The prose
around the blocks is not touched.

Environment:
  AECODEC_BENCH_DOCS=0   print the block instead of writing it (runs that must leave the
                         docs alone: another machine, a trial)
  AECODEC_BENCH_DOC      the file to write (default docs/benchmarks.md)
"""
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "rustc not found"
    return f"{os.cpu_count()} × {cpu} ({platform.machine()}, {platform.system()} {platform.release()}), host {rustc}"


def paragraphs(text: str) -> str:
    """Markdown of a script's output: the rows of a table stay together, every other
    line is a paragraph of its own (a table right after a line of text is not a table)."""
    out: list[str] = []
    prev_row = False
    for line in (l.rstrip() for l in text.strip().splitlines()):
        if not line:
            continue
        row = line.startswith("|")
        if out:
            out.append("\n" if row and prev_row else "\n\n")
        # `<` opens an HTML tag in Markdown (a Python repr such as `<aecodec.Model …>`).
        out.append(line if row else line.replace("<", "&lt;"))
        prev_row = row
    return "".join(out)


def block(name: str, command: str, table: str) -> str:
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return (
        f"<!-- begin generated: {name} -->\n"
        f"*Generated {day} by `{command}` on {machine()}.*\n\n"
        f"{paragraphs(table)}\n"
        f"<!-- end generated: {name} -->"
    )


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    name, command = argv[1], argv[2]
    table = open(argv[3]).read() if len(argv) == 4 else sys.stdin.read()
    if not table.strip():
        print(f"doc_section: the table for {name} is empty; the docs are left as they were", file=sys.stderr)
        return 1
    new = block(name, command, table)
    if os.environ.get("AECODEC_BENCH_DOCS") == "0":
        print(new)
        return 0
    doc = os.environ.get("AECODEC_BENCH_DOC", os.path.join(ROOT, "docs", "benchmarks.md"))
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    begin, end = f"<!-- begin generated: {name} -->", f"<!-- end generated: {name} -->"
    start = text.find(begin)
    stop = text.find(end, start + 1)
    if start < 0 or stop < 0:
        print(f"doc_section: {doc} has no block {begin} … {end}; add the two lines where the table belongs", file=sys.stderr)
        return 1
    if text.count(begin) != 1 or text.count(end) != 1:
        print(f"doc_section: {doc} has block {name} more than once; keep one", file=sys.stderr)
        return 1
    text = text[:start] + new + text[stop + len(end):]
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(doc)), prefix=".benchmarks.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        shutil.copymode(doc, tmp)
        os.replace(tmp, doc)
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"doc_section: wrote the {name} block of {os.path.relpath(doc)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
