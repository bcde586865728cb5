"""``python -m mhsa_bio``: the same as the ``mhsa-bio`` command."""

from mhsa_bio.cli.main import app

app()
