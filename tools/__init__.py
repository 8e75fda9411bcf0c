"""Build-time tools, kept outside the runtime package (run from the repository root: ``python -m tools.<name>``)."""
