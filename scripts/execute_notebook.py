"""Execute a notebook top to bottom with outputs saved (Restart & Run All), then scrub metadata.

    python scripts/execute_notebook.py [NOTEBOOK] [--out PATH] [--timeout SECONDS] [--timings PATH]

With ``--out`` the executed copy goes there and the input file is left untouched. ``--timings``
writes each code cell's wall time (seconds, by cell index) as JSON before the metadata is scrubbed.
"""
import argparse
import copy
import json
import sys
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def cell_seconds(nb) -> dict:
    """``{cell index: seconds}`` of the executed code cells, from the kernel's execution metadata."""
    out = {}
    for i, cell in enumerate(nb.cells):
        times = cell.metadata.get("execution", {})
        if "iopub.execute_input" in times and "shell.execute_reply" in times:
            start, end = (datetime.fromisoformat(times[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            out[i] = round((end - start).total_seconds(), 1)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", type=Path, nargs="?", default=ROOT / "Assessment.ipynb", help="notebook")
    parser.add_argument("--out", type=Path, help="write the executed notebook here (default: in place)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    parser.add_argument("--timings", type=Path, help="write each code cell's wall time here (JSON)")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    metadata = copy.deepcopy(nb.metadata)
    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    if args.timings:
        args.timings.write_text(json.dumps(cell_seconds(nb), indent=1))
    for cell in nb.cells:  # keep outputs, drop volatile metadata (like Pyro's `make scrub`)
        cell.metadata.pop("execution", None)
    nb.metadata = metadata  # the template's notebook metadata, unchanged by the kernel
    nbformat.write(nb, args.out or args.notebook)
    print(f"executed {args.notebook} -> {args.out or args.notebook}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
