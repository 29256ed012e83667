"""The command line: ``custodian-app COMMAND ...``. One module per group of commands."""
