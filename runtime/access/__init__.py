"""Who is acting (the Principal), what their roles allow (the Policy), and the one view that
says which fields they may read and write (the PolicyView)."""

from runtime.access.policy import Policy, Rule, may_do_anything, policy_for
from runtime.access.principal import Principal
from runtime.access.view import PolicyView, view_for

__all__ = ["Policy", "PolicyView", "Principal", "Rule", "may_do_anything", "policy_for", "view_for"]
