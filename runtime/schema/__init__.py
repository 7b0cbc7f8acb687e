"""Model → Piccolo tables, and the migrations that create them."""

from runtime.schema.registry import Registry, build_registry

__all__ = ["Registry", "build_registry"]
