"""Where a node sits in a definition document: its keys and list indexes from the root, like
`("fields", "subject", "type")`.

Its own module, below the loader, the problems and their wording, so that each of them can
name it without importing the others.
"""

from __future__ import annotations

NodePath = tuple[str | int, ...]
