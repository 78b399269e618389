"""Sign-in guessing: whose failures count together, and how long a lockout lasts.

django-axes keeps one AccessAttempt per (username, address, browser) with its failure count,
and, with AXES_ENABLE_ACCESS_FAILURE_LOG, one AccessFailureLog row per failed sign-in, marked
``locked_out`` on the failure that locked. settings.py names the pieces below:

- ``lockout_parameters`` (AXES_LOCKOUT_PARAMETERS): failures add up per address and, except
  from an address the user has signed in from before, per username.
- ``cool_off`` (AXES_COOLOFF_TIME): 15 minutes, doubling with each lockout of the same key
  (address or username), at most 24 hours; a day without one starts again at 15 minutes.
- ``SignInAttemptHandler`` (AXES_HANDLER): axes' database handler, whose clean-up of expired
  failures follows each key's own cool-off rather than the current request's, and for which a
  right password forgives only that user's failures from that address.
"""

from datetime import timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import (
    get_client_ip_address,
    get_client_parameters,
    get_client_user_agent,
    get_client_username,
)
from axes.models import AccessAttempt, AccessBase, AccessFailureLog, AccessLog
from django.utils import timezone

FIRST_COOL_OFF = timedelta(minutes=15)
LONGEST_COOL_OFF = timedelta(hours=24)
# A key that has had no lockout for this long after its last one ended starts over.
FORGIVEN_AFTER = timedelta(hours=24)
# Lockouts read back per key: enough to reach the longest cool-off (15 min x 2^7 > 24 h).
LOCKOUTS_READ = 10
# An address the user signed in from (with the right password) this recently is theirs.
OWN_ADDRESS_DAYS = 90


def lockout_parameters(request_or_attempt, credentials=None) -> list[str]:
    """Failures add up per address (one address guessing many usernames) and per username
    (one username guessed from many addresses), each locked at AXES_FAILURE_LIMIT. The
    username's count does not apply from the user's own address: an attacker elsewhere cannot
    lock them out where they usually sign in (their own address's failures still count)."""
    if isinstance(request_or_attempt, AccessBase):
        username, address = request_or_attempt.username, request_or_attempt.ip_address
    else:
        username = get_client_username(request_or_attempt, credentials)
        address = _address(request_or_attempt)
    if username and address and _signed_in_from(request_or_attempt, username, address):
        return ["ip_address"]
    return ["ip_address", "username"]


def cool_off(request=None) -> timedelta:
    """How far back failures count for this request's keys: the length of a lockout in force
    (the longest, if both keys are locked), else FIRST_COOL_OFF."""
    if request is None:
        return FIRST_COOL_OFF
    now = getattr(request, "axes_attempt_time", None) or timezone.now()
    keys = get_client_parameters(
        get_client_username(request),
        _address(request),
        get_client_user_agent(request),
        request,
    )
    return max((_key_cool_off(key, now) for key in keys), default=FIRST_COOL_OFF)


def lockout_length(number: int) -> timedelta:
    """The length of a key's ``number``-th lockout in a row (0 for the first)."""
    return min(FIRST_COOL_OFF * 2**number, LONGEST_COOL_OFF)


def _key_cool_off(key: dict, now) -> timedelta:
    lockouts = AccessFailureLog.objects.filter(locked_out=True, attempt_time__lte=now, **key)
    times = lockouts.order_by("-attempt_time").values_list("attempt_time", flat=True)
    number, ends = -1, None
    for locked_at in reversed(times[:LOCKOUTS_READ]):
        if ends is not None and locked_at - ends >= FORGIVEN_AFTER:
            number = -1
        number += 1
        ends = locked_at + lockout_length(number)
    if ends is not None and now < ends:
        return lockout_length(number)
    # Not locked: only recent failures count towards the next lockout, which is one step
    # longer than the last (AccessFailureLog says so once it has happened).
    return FIRST_COOL_OFF


def _address(request) -> str | None:
    return getattr(request, "axes_ip_address", None) or get_client_ip_address(request)


def _signed_in_from(request_or_attempt, username: str, address: str) -> bool:
    known = request_or_attempt.__dict__.setdefault("_axes_own_addresses", {})
    if (username, address) not in known:
        since = timezone.now() - timedelta(days=OWN_ADDRESS_DAYS)
        known[username, address] = AccessLog.objects.filter(
            username=username, ip_address=address, attempt_time__gte=since
        ).exists()
    return known[username, address]


class SignInAttemptHandler(AxesDatabaseHandler):
    """axes' database handler, cleaning up expired failures key by key, and forgiving no
    one else's failures on a right password.

    axes deletes every AccessAttempt older than the *current request's* cool-off; with cool-offs
    that differ per key, one newcomer's 15 minutes would end someone else's 2-hour lockout
    early. Here a request clears its own keys' expired failures, and anything older than the
    longest cool-off goes for everyone.
    """

    def clean_expired_user_attempts(self, request=None, credentials=None) -> int:
        expired = timezone.now() - LONGEST_COOL_OFF
        count, _ = AccessAttempt.objects.filter(attempt_time__lte=expired).delete()
        if request is not None:
            threshold = get_cool_off_threshold(request)
            for attempts in self.filter_user_attempts(request, credentials):
                count += attempts.filter(attempt_time__lte=threshold).delete()[0]
        return count

    def reset_user_attempts(self, request, credentials=None) -> int:
        """On a right password (AXES_RESET_ON_SUCCESS): the user's own failures from this
        address, not the username's from elsewhere nor this address's for other usernames."""
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials), ip_address=_address(request)
        ).delete()
        return count
