"""`python -m ingest` runs the tidtam command line."""

from ingest.cli.main import main

main()
