"""A check that a PNG the toolkit wrote is a drawn figure: it decodes, has a plausible size and is not blank.

Test modules elsewhere import it as `reporting.images` (tests/ is on sys.path through tests/conftest.py)."""

import numpy as np


def assert_drawn(path, *, min_width: int = 300, min_height: int = 200, min_colours: int = 8) -> np.ndarray:
    """Decode the PNG at path (matplotlib.image.imread) and check that it is at least min_width x min_height pixels,
    holds at least min_colours distinct colours and is not all background; returns the pixels (height, width, RGB)."""
    from matplotlib import image

    pixels = image.imread(str(path))
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4), f"{path}: not an RGB(A) image, shape {pixels.shape}"
    height, width = pixels.shape[:2]
    assert width >= min_width and height >= min_height, f"{path}: {width}x{height} pixels, too small for a figure"
    rgb = np.round(pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.unique(rgb, axis=0)
    assert len(colours) >= min_colours, f"{path}: only {len(colours)} distinct colours: blank or nearly"
    background = np.all(rgb == rgb[0], axis=1).mean()
    assert background < 0.99, f"{path}: {background:.1%} of the pixels are the corner's colour"
    return pixels
