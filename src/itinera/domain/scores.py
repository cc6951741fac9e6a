"""Buying-group scores: engagement (weighted by role) and completeness (roles filled)."""

from __future__ import annotations

from collections.abc import Mapping

from itinera.domain.model import ROLE_WEIGHTS, BuyingGroup, RoleTemplate

__all__ = ["completeness_score", "engagement_score"]


def engagement_score(
    group: BuyingGroup, template: RoleTemplate | None, scores: Mapping[str, float]
) -> float:
    """Weighted mean over the template's roles of the mean capped member score (0-100)."""
    if template is None or not template.roles:
        return 0.0
    total_weight = sum(ROLE_WEIGHTS[r.weight] for r in template.roles)
    value = 0.0
    for role in template.roles:
        members = [m for m in group.members if m.role == role.name]
        if not members:
            continue
        mean = sum(min(scores.get(m.person, 0.0), 100.0) for m in members) / len(members)
        value += mean * ROLE_WEIGHTS[role.weight] / total_weight
    return round(value, 2)


def completeness_score(group: BuyingGroup, template: RoleTemplate | None) -> float:
    """Percentage of the template's roles that have at least one member."""
    if template is None or not template.roles:
        return 0.0
    filled = {m.role for m in group.members}
    return round(100.0 * sum(1 for r in template.roles if r.name in filled) / len(template.roles), 2)
