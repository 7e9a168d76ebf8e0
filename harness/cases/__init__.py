"""Cases: YAML case files become validated, expanded, frozen :class:`Case` objects and their inputs.

* :mod:`.yamlsource`: bounded, safe YAML reading with a line for every key (:class:`CaseError`);
* :mod:`.validate`: JSON-schema errors as one line naming file, line and key;
* :mod:`.load`: the case-file schema, loading a file or a tree (:func:`load_file`, :func:`load_tree`);
* :mod:`.expand`: one entry's grid -> its cases;
* :mod:`.model`: :class:`Case` and its :class:`Tolerance`;
* :mod:`.inputs`: seeded, deterministic inputs (:func:`make_inputs`).
"""
from .inputs import Inputs, make_inputs
from .load import CLAIMS_DIR, EXPECTATIONS_DIR, SCHEMA, discover, load_file, load_tree
from .model import Case, Tolerance, params_text
from .yamlsource import CaseError

__all__ = ["CLAIMS_DIR", "EXPECTATIONS_DIR", "SCHEMA", "Case", "CaseError", "Inputs", "Tolerance", "discover",
           "load_file", "load_tree", "make_inputs", "params_text"]
