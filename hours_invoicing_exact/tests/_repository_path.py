# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The test tooling (the local Exact server) lives outside the addon, in
``<repository>/hie_testing``: it is not shipped in the wheel and cannot be imported at run
time. Imported first by the test package, this puts the repository on ``sys.path``."""

import sys
from pathlib import Path

REPOSITORY = str(Path(__file__).resolve().parents[2])
if REPOSITORY not in sys.path:
    sys.path.append(REPOSITORY)
