"""Writes of the API: tokens (made, checked, revoked) and imports through it.

Keyword-only functions, called by the endpoints, the admin and the api_token command alike.
"""

import hmac
import logging
import secrets
from dataclasses import asdict

from django.utils import timezone

from explainers.listings import parse_listing
from explainers.services.imports import ImportReport, listings_import

from .models import TOKEN_PREFIX, ApiToken, token_digest

# An import writes categories, published explainers, their placeholder heroes and series:
# whoever runs one through the API must be allowed all of that in the admin. (The
# import_listings command, run from a shell on a web machine, asks no one.)
IMPORT_PERMISSIONS = (
    "explainers.add_category",
    "explainers.change_category",
    "explainers.add_explainer",
    "explainers.change_explainer",
    "explainers.publish_explainer",
    "explainers.add_heroimage",
    "explainers.change_heroimage",
    "explainers.add_series",
    "explainers.change_series",
)
PUBLIC_ID_BYTES = 6  # 12 hex digits: unique enough to find a row, nothing secret
SECRET_BYTES = 32

logger = logging.getLogger(__name__)


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it and the only copy of its secret (never stored)."""
    token = ApiToken(user=user, name=name)
    return token, api_token_issue(token=token)


def api_token_issue(*, token: ApiToken) -> str:
    """Give the unsaved ``token`` its public id and digest, save it, and return the secret:
    the only copy there will be."""
    public_id = secrets.token_hex(PUBLIC_ID_BYTES)
    presented = f"{TOKEN_PREFIX}_{public_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token.name = token.name.strip()
    token.public_id, token.digest = public_id, token_digest(presented)
    token.full_clean()
    token.save()
    return presented


def api_token_revoke(*, token: ApiToken) -> bool:
    """Revoke ``token`` at once; False if it already was."""
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)


def api_token_authenticate(*, presented: str) -> ApiToken | None:
    """The active token ``presented`` is (with its user), noting its use; None for a revoked,
    unknown or malformed one, or one whose account is inactive."""
    prefix, _, rest = presented.partition("_")
    public_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not public_id or not secret:
        return None
    token = ApiToken.objects.active().select_related("user").filter(public_id=public_id).first()
    if token is None or not hmac.compare_digest(token.digest, token_digest(presented)):
        return None
    token.last_used_at = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=token.last_used_at)
    return token


def missing_import_permissions(user) -> list[str]:
    return [permission for permission in IMPORT_PERMISSIONS if not user.has_perm(permission)]


def listings_import_uploaded(
    *, token: ApiToken, files, parent: str | None, dry_run: bool
) -> ImportReport:
    """Run the importer on uploaded listing files, as import_listings runs it on files on
    disk: every file checked before anything is written, then one transaction. Raises the
    importer's ListingError (file and line) with nothing written."""
    listings = [parse_listing(upload.read(), upload.name) for upload in files]
    report = listings_import(listings=listings, parent=parent, dry_run=dry_run, titles=True)
    logger.info(
        "API import by token %s (%s): %s%s",
        token.public_id,
        token.user,
        report.summary(),
        ", dry run" if dry_run else "",
    )
    return report


def import_report_data(report: ImportReport) -> dict:
    """The importer's report as the API answers it: what the command prints, as data."""
    data = asdict(report)
    data["updated"] = [{"title": title, "changes": changes} for title, changes in report.updated]
    data["summary"] = report.summary()
    return data
