"""The `tickets` command line: a click group whose subcommands are imported only when invoked."""
