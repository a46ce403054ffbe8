"""The numbers the paper reports (Ji, Wu, Xi, arXiv 2506.00642), as the paper prints them.

These are the only hand-typed numbers in a report, and they are always labelled as the paper's.
"""

# Table 1: test MAE per entry, mean over 3 runs.
TABLE1 = {
    ("2x2-first", "2fc"): 2.05e-5,
    ("2x2-second", "2fc"): 6.39e-6,
    ("3x3", "2fc"): 8.77e-5,
    ("16x16", "2fc"): 1.68e-4,
    ("2x2-first", "3fc"): 1.52e-5,
    ("2x2-second", "3fc"): 7.37e-6,
    ("3x3", "3fc"): 1.53e-4,
    ("16x16", "3fc"): 2.58e-4,
}

# Table 2: 2x2 (First).
TABLE2 = {"taylor1": 1.97e-4, "2fc-small": 6.82e-5, "2fc": 2.05e-5, "3fc": 1.52e-5}

# Table 3: seconds for TABLE3_MATRICES matrices (RTX 3080 Laptop GPU, i7-10870H CPU).
TABLE3_MATRICES = 10_000
TABLE3_MACHINE = "NVIDIA RTX 3080 Laptop GPU, Intel i7-10870H CPU"
TABLE3 = {
    ("2x2", "2fc"): {"gpu_bs1": 4.491, "gpu_bs100": 0.214, "gpu_bs10000": 0.125, "cpu_bs1": 1.703, "exact_cpu": 0.075},
    ("2x2", "3fc"): {"gpu_bs1": 8.177, "gpu_bs100": 0.356, "gpu_bs10000": 0.162, "cpu_bs1": 2.032},
    ("3x3", "2fc"): {"gpu_bs1": 5.501, "gpu_bs100": 0.257, "gpu_bs10000": 0.162, "cpu_bs1": 1.700, "exact_cpu": 0.078},
    ("3x3", "3fc"): {"gpu_bs1": 6.718, "gpu_bs100": 0.280, "gpu_bs10000": 0.159, "cpu_bs1": 2.057},
    ("16x16", "2fc"): {
        "gpu_bs1": 4.709,
        "gpu_bs100": 0.623,
        "gpu_bs10000": 0.467,
        "cpu_bs1": 5.232,
        "exact_cpu": 1.196,
    },
    ("16x16", "3fc"): {"gpu_bs1": 6.623, "gpu_bs100": 0.878, "gpu_bs10000": 0.459, "cpu_bs1": 25.887},
}


def exact_cpu_seconds(n: int) -> float | None:
    """The paper's exact-inverse CPU time for 10,000 n x n matrices (printed once per size, in the 2-FC row)."""
    return TABLE3.get((f"{n}x{n}", "2fc"), {}).get("exact_cpu")


# Section 5.3: the two largest activation patterns of the small net (shares of 1M samples, coefficient gaps).
PATTERNS = {"shares": [0.557, 0.417], "max_coefficient_gaps": [0.06, 0.07]}
