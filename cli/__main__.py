"""`python -m cli ...` runs the `hotline` command (the tests and benchmarks start the service this way)."""

from cli.app import app

app()
