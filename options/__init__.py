"""Command-line options, parsed in two passes so every model and dataset can add its own flags."""

# Both kinds of run are imported here so that `BaseOptions.run_kinds` always holds them (whichever one a
# script imports), e.g. to tell a saved opt.json's training flags from unknown keys in a test run.
from options import test_options, train_options  # noqa: F401
