"""Groups of `hotline` sub-commands, each in its own module; cli/app.py wires them in."""
