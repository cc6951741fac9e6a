"""The world journeys act on: accounts, people, buying groups, events and enrollments.

Pure data and rules — no I/O and no clock.
"""

from itinera.domain.model import (
    CSM,
    Account,
    BuyingGroup,
    Enrollment,
    Event,
    Member,
    Person,
    Role,
    RoleTemplate,
    Template,
    Token,
)
from itinera.domain.scores import completeness_score, engagement_score

__all__ = [
    "CSM",
    "Account",
    "BuyingGroup",
    "Enrollment",
    "Event",
    "Member",
    "Person",
    "Role",
    "RoleTemplate",
    "Template",
    "Token",
    "completeness_score",
    "engagement_score",
]
