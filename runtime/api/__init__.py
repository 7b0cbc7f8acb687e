"""The HTTP surface: /auth, /api, and the mounted admin."""
