"""Subcommands of the ``mefast`` command line, one module each (see ``mefast.cli``)."""
