"""What a test can ask of a PNG someone drew (a plot, a browser's screenshot): it is a real
PNG, its size, and how many pixels carry each of the colours the drawing should use.

Read back with matplotlib's own PNG reader, independent of how the file was written.
"""

import numpy
from matplotlib import image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load(path):
    """-> the image as an (height, width, 3) float array in 0..1; asserts the PNG signature."""
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC, "%s is not a PNG" % path
    return image.imread(path)[:, :, :3]


def crop(img, box=None):
    """The part inside box (x, y, width, height), or all of it."""
    if box is None:
        return img
    x, y, w, h = box
    return img[y:y + h, x:x + w]


def near(img, colour, tol=0.12, box=None):
    """Pixels within tol (each channel) of colour ("#rrggbb"), inside box if given."""
    rgb = numpy.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((numpy.abs(crop(img, box) - rgb) <= tol).all(axis=2).sum())


def ink(img, box=None):
    """Pixels that are not (near) white: anything drawn at all."""
    return int((crop(img, box).min(axis=2) < 0.9).sum())
