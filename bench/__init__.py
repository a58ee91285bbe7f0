"""`make bench`: cold init, first and warm invocation cost, DynamoDB requests, throughput and layer size.

Every figure is measured next to its floor in the same run (interleaved rounds), because absolute
times on a shared machine are noise; the ratios are what the README's goals hold.
"""
