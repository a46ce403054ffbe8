"""Fair timing of every inverse path.

batch_timing: a path timed as a user calls it, in seconds per 10,000 matrices; table3: Table 3 (networks beside the
exact and classical paths) with each network's roofline bound (roofline); networks: the networks it times; paths:
the exact and classical paths; frontier: the accuracy-versus-time figure; training: the batched ensemble's step time
against a plain loop; certified: the certified inverse against exact inverses.
"""
