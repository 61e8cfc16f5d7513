"""edgebox benchmarks: figures measured side by side in one run, printed as a table and kept
as JSON. Run them all with `python -m bench`; see BENCHMARKS.md for the latest figures."""
