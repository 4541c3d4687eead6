"""The C+O data of the harm experiment (paper Sec. 4.2, App. A.2 and C.3).

``compose`` holds the C+O composer (``compose_c_plus_o``: the four pretraining sets of Table 1, with
the per-sample draws it makes), ``pairs`` the invariance pairs on C+O inputs (``harm_pair_sets``) and
``tiles`` the object tiles and their pasting onto the C images (``prepare_object_tiles``).
"""

from __future__ import annotations

from .compose import MARGIN, compose_c_plus_o
from .pairs import harm_pair_sets
from .tiles import prepare_object_tiles

__all__ = ["MARGIN", "compose_c_plus_o", "harm_pair_sets", "prepare_object_tiles"]
