"""The user face: argv to subcommands, text to stdout."""
