"""Command-line options, parsed in two passes so every model and dataset can add its own flags."""
