"""Read a folder of PNG/JPEG images, one subfolder per class, into an ``(N, C, H, W)`` float32
array in [0, 1] and an array of class names."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.errors import AutoMLError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def image_files(folder: Path) -> list[Path]:
    """Every PNG/JPEG under ``folder`` (any depth), in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_image_folder(folder: Path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Images of ``folder/<class>/*.png`` with labels; a flat folder gives images without labels."""
    files = image_files(folder)
    if not files:
        raise AutoMLError(
            f"folder {folder} holds no PNG or JPEG images",
            "pass a folder with one subfolder per class, each holding .png/.jpg images",
        )
    labelled = all(f.parent != folder for f in files)
    X = read_images(files)
    y = np.array([f.relative_to(folder).parts[0] for f in files]) if labelled else None
    return X, y, {"images": len(files), "image_size": list(X.shape[1:]), "folder": str(folder)}


def read_images(files: list[Path]) -> np.ndarray:
    """Decode images of one size into ``(N, C, H, W)`` float32 in [0, 1] (C = 1 grey, 3 colour)."""
    from PIL import Image, UnidentifiedImageError

    decoded, first = [], None
    for path in files:
        try:
            with Image.open(path) as image:
                image.load()
                mode = "L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB"
                pixels = np.asarray(image.convert(mode), dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as exc:
            raise AutoMLError(f"cannot read image {path}: {exc}", "remove or replace that file") from None
        if first is None:
            first = (path, pixels.shape[:2])
        elif pixels.shape[:2] != first[1]:
            raise AutoMLError(
                f"images have mixed sizes: {first[0]} is {first[1][1]}x{first[1][0]} but {path} is "
                f"{pixels.shape[1]}x{pixels.shape[0]}",
                "resize every image to one width and height",
            )
        decoded.append(pixels)
    channels = 3 if any(p.ndim == 3 for p in decoded) else 1
    out = np.empty((len(decoded), channels, *first[1]), dtype=np.float32)
    for i, pixels in enumerate(decoded):
        out[i] = (pixels.transpose(2, 0, 1) if pixels.ndim == 3 else pixels[None]) / 255.0
    return out
