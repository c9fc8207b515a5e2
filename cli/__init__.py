"""The `hotline` command line: the top of the tree, wiring the service (`api`) and every person-run task."""
