"""Who is acting (the Principal) and what their roles allow (the Policy)."""

from runtime.access.policy import Policy, Rule, policy_for
from runtime.access.principal import Principal

__all__ = ["Policy", "Principal", "Rule", "policy_for"]
