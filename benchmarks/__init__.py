"""One command per benchmark; each prints the machine's facts and a table (see BENCHMARKS.md)."""
