"""Makes ``inkwright_draftforge`` importable for its tests.

plugins/draftforge has no packaging yet (no pyproject, not installed in the virtualenv), so
its directory goes on sys.path here; once it is packaged and installed like the other plugins,
this file goes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
