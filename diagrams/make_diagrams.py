"""Render every diagrams/*.dot (the sources: edit those) to the .svg next to it, with Graphviz.

    .venv/bin/python diagrams/make_diagrams.py          # needs `dot`: apt-get install graphviz / brew install graphviz
"""
import glob
import os
import shutil
import subprocess
import sys

DIAGRAMS_DIR = os.path.dirname(os.path.abspath(__file__))


def sources():
    return sorted(glob.glob(os.path.join(DIAGRAMS_DIR, "*.dot")))


def render(source, output=None):
    """The SVG of one .dot file, written to output (default: the .svg beside it). Returns the output path."""
    output = output or os.path.splitext(source)[0] + ".svg"
    subprocess.run(["dot", "-Tsvg", source, "-o", output], check=True, capture_output=True, text=True)
    return output


def main():
    if shutil.which("dot") is None:
        sys.exit("Graphviz is not installed: apt-get install graphviz (Debian/Ubuntu) or brew install graphviz")
    for source in sources():
        print(f"wrote {render(source)}")


if __name__ == "__main__":
    main()
