"""Write a page image rotated clockwise by 0, 90, 180 and 270 degrees (the orientation model's convention).

Usage: python demo/rotate_page.py IMAGE OUT_DIR
"""

import sys
from pathlib import Path

import cv2

if len(sys.argv) != 3:
    sys.exit(__doc__)
image_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
if image is None:
    sys.exit(f"cannot read {image_path}")
out_dir.mkdir(parents=True, exist_ok=True)
rotations = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
for degrees, code in rotations.items():
    rotated = image if code is None else cv2.rotate(image, code)
    cv2.imwrite(str(out_dir / f"{image_path.stem}_{degrees}.png"), rotated)
