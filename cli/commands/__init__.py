"""Groups of `hotline` sub-commands, each in its own module; hotline/cli.py wires them in."""
