"""The paper (Ji, Wu, Xi, arXiv 2506.00642): its data set presets, its Table 1 cells, and the numbers it reports."""
