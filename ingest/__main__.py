"""`python -m ingest` runs the tidtam command line."""

from ingest.cli import main

main()
