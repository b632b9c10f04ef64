"""The command line: one thin click command per job; errors become messages and exit codes here."""
