"""Fonts for the synthetic documents: which Debian font files train and which are held out.

The .ttf files are copied from the Debian font packages into a git-ignored folder
(default tools/docgen/fonts/, or $DOCGEN_FONTS) that travels to the GPU machine with `carry`:
    python3 tools/docgen/fonts.py --collect      (needs the packages listed in README.md)
"""
from __future__ import annotations

import argparse
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM = "/usr/share/fonts/truetype"

# (file name in the carried folder, path under /usr/share/fonts/truetype)
TRAIN_FONTS = [
    ("DejaVuSans.ttf", "dejavu/DejaVuSans.ttf"),
    ("DejaVuSans-Bold.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    ("DejaVuSansMono.ttf", "dejavu/DejaVuSansMono.ttf"),
    ("DejaVuSerif.ttf", "dejavu/DejaVuSerif.ttf"),
    ("LiberationSans-Regular.ttf", "liberation/LiberationSans-Regular.ttf"),
    ("LiberationSans-Bold.ttf", "liberation/LiberationSans-Bold.ttf"),
    ("LiberationSerif-Regular.ttf", "liberation/LiberationSerif-Regular.ttf"),
    ("LiberationMono-Regular.ttf", "liberation/LiberationMono-Regular.ttf"),
    ("FreeSans.ttf", "freefont/FreeSans.ttf"),
    ("FreeMono.ttf", "freefont/FreeMono.ttf"),
    ("Roboto-Regular.ttf", "roboto/unhinted/RobotoTTF/Roboto-Regular.ttf"),
    ("RobotoCondensed-Regular.ttf", "roboto/unhinted/RobotoCondensed-Regular.ttf"),
    ("OpenSans-Regular.ttf", "open-sans/OpenSans-Regular.ttf"),
    ("OpenSans-Semibold.ttf", "open-sans/OpenSans-Semibold.ttf"),
    ("Lato-Regular.ttf", "lato/Lato-Regular.ttf"),
    ("Lato-Bold.ttf", "lato/Lato-Bold.ttf"),
    ("Carlito-Regular.ttf", "crosextra/Carlito-Regular.ttf"),
    ("NotoSerif-Regular.ttf", "noto/NotoSerif-Regular.ttf"),
]
# Never used for training data: the held-out set is rendered with these alone.
HELDOUT_FONTS = [
    ("LiberationSansNarrow-Regular.ttf", "liberation/LiberationSansNarrow-Regular.ttf"),
    ("DejaVuSerifCondensed.ttf", "dejavu/DejaVuSerifCondensed.ttf"),
    ("Roboto-Medium.ttf", "roboto/unhinted/RobotoTTF/Roboto-Medium.ttf"),
    ("NotoSans-Regular.ttf", "noto/NotoSans-Regular.ttf"),
]
# Fonts that have no bold face of their own get a bold from this map (same family).
BOLD_OF = {
    "DejaVuSans.ttf": "DejaVuSans-Bold.ttf",
    "LiberationSans-Regular.ttf": "LiberationSans-Bold.ttf",
    "Lato-Regular.ttf": "Lato-Bold.ttf",
    "OpenSans-Regular.ttf": "OpenSans-Semibold.ttf",
}


def font_dir() -> str:
    return os.environ.get("DOCGEN_FONTS", os.path.join(HERE, "fonts"))


def font_paths(split: str) -> list[str]:
    """Absolute paths of the carried fonts of one split ('train' or 'heldout')."""
    names = TRAIN_FONTS if split == "train" else HELDOUT_FONTS
    d = font_dir()
    paths = [os.path.join(d, n) for n, _ in names]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} fonts missing (first {missing[0]}); run "
                                "`python3 tools/docgen/fonts.py --collect` (see tools/docgen/README.md)")
    return paths


def collect(dst: str) -> int:
    os.makedirs(dst, exist_ok=True)
    total = 0
    for name, rel in TRAIN_FONTS + HELDOUT_FONTS:
        src = os.path.join(SYSTEM, rel)
        if not os.path.exists(src):
            raise FileNotFoundError(f"{src} not installed; see tools/docgen/README.md for the packages")
        shutil.copyfile(src, os.path.join(dst, name))
        total += os.path.getsize(src)
    return total


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collect", action="store_true", help="copy the fonts into the carried folder")
    ap.add_argument("--dst", default=font_dir())
    a = ap.parse_args()
    if a.collect:
        n = collect(a.dst)
        print(f"copied {len(TRAIN_FONTS) + len(HELDOUT_FONTS)} fonts ({n / 2**20:.1f} MiB) to {a.dst}")
