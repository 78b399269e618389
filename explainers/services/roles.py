"""The editorial groups and what each may do."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

ROLES = {
    "Editors": [
        "add_explainer", "change_explainer", "view_explainer", "publish_explainer",
        "add_heroimage", "change_heroimage", "view_heroimage",
        "add_series", "change_series", "view_series",
        "change_category", "view_category",
    ],
    "Contributors": [
        "add_explainer", "change_explainer", "view_explainer",
        "add_heroimage", "change_heroimage", "view_heroimage",
        "view_category", "view_series",
    ],
}  # fmt: skip


def roles_setup() -> dict[str, list[str]]:
    """Create or reset the editorial groups to exactly their permissions."""
    wanted = {codename for codenames in ROLES.values() for codename in codenames}
    permissions = {
        permission.codename: permission
        for permission in Permission.objects.filter(
            content_type__app_label="explainers", codename__in=wanted
        )
    }
    missing = wanted - set(permissions)
    if missing:
        raise ValueError(f"permissions missing (run migrate first): {', '.join(sorted(missing))}")
    with transaction.atomic():
        for name, codenames in ROLES.items():
            group, _created = Group.objects.get_or_create(name=name)
            group.permissions.set([permissions[codename] for codename in codenames])
    return ROLES
