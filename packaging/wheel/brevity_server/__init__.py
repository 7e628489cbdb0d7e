"""Brevity's server binary, installed by pip: `brevity` on PATH runs it (see __main__.py)."""
