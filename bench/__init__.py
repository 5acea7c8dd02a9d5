"""`make bench`: the cost of every hop, side by side with its floor (issue 6).

One module per measurement, a runner (`python -m bench`) and a report writer; see
docs/benchmarks.md for what is measured and how.
"""
