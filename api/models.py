import hashlib

from django.conf import settings
from django.db import models

# What every token starts with, so that a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "exp"


def token_digest(presented: str) -> str:
    """What is stored of a token: its SHA-256. The secret is 256 random bits, so a fast hash
    is enough (nothing to guess from it), and a lookup costs no key stretching."""
    return hashlib.sha256(presented.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        """Tokens that still open the API: not revoked, of an active account."""
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A bearer token for the API's writes (imports), acting with its user's permissions.

    The token is ``exp_<public id>_<secret>``; only its digest is stored, and the public id
    (shown in lists) finds the row."""

    name = models.CharField(max_length=100, help_text="What it is for: “nightly import”.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="The token can do what this account may do, no more.",
    )
    public_id = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({TOKEN_PREFIX}_{self.public_id}_…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
