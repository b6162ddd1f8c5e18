"""Test-wide settings: hypothesis has no per-example deadline (no timed assertions; CI machines can be busy)."""

from hypothesis import settings

settings.register_profile("tinytorch", deadline=None)
settings.load_profile("tinytorch")
