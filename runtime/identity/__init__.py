"""Users, organizations, memberships, passwords and tokens."""
