"""asv-style benchmarks of ple_stats; ``python -m benchmarks`` prints the comparison tables."""
