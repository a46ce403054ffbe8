"""Regions of matrices: shapes, composites, region files, fitting to samples, and real matrix families."""

from neuralinv.regions.composite import Equilibrated, Union
from neuralinv.regions.files import load_region, preset_names, region_from_json
from neuralinv.regions.shapes import Ball, Box, Region, Symmetric, as_matrix, matrix_norm, positive_number, sigma_min

__all__ = [
    "Ball",
    "Box",
    "Equilibrated",
    "Region",
    "Symmetric",
    "Union",
    "as_matrix",
    "load_region",
    "matrix_norm",
    "positive_number",
    "preset_names",
    "region_from_json",
    "sigma_min",
]
