"""Benchmarks: each module measures one claim and prints its figures; bench/RESULTS.md records them."""
