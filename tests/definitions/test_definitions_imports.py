"""The Model and the filter grammar load without Piccolo (slow to import): `plinth check` and
every reader of the Model pay for the database stack only when they query a database."""

from __future__ import annotations

import subprocess
import sys


def test_the_model_and_the_grammar_do_not_import_piccolo() -> None:
    code = (
        "import sys\n"
        "import runtime.definitions, runtime.definitions.build, runtime.definitions.checks\n"
        "import runtime.filters\n"
        "from runtime.filters import parse_filter, evaluate\n"
        "assert 'piccolo' not in sys.modules, 'piccolo imported'\n"
        "from runtime.filters import compile_where\n"
        "assert 'piccolo' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
