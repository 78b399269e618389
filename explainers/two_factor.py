"""Two-factor sign-in for the admin: a code from an authenticator app (TOTP) or a recovery code.

Editors and superusers must use it; anyone else who has set it up (a contributor may) must too.
After the password, TwoFactorMiddleware sends such a user who has not given a code in this
session to the code page, or on their first sign-in to set up an authenticator, from every
admin address (library views under /admin/ included) except signing in and out, these pages and
the password reset. Setting up ends with 10 recovery codes, shown once, each good for one
sign-in without the app.

The first authenticator is set up only through a link emailed to the address on file (or
printed by `manage.py reset_two_factor USERNAME --link` for an administrator to hand over):
the password alone must not let whoever has it enrol their own phone before the owner does.
Each link names one waiting (unconfirmed) device, made when the link is sent, whose key is
shown only through it; a newer link, a confirmation or a reset ends it, and it expires after
SETUP_LINK_MAX_AGE.

Sign-in emails (set-up links, and password resets through LimitedPasswordResetForm) are
limited per target address and per client address (the one django-axes reads), in the shared
cache: SIGN_IN_EMAILS_PER_ADDRESS and SIGN_IN_EMAILS_PER_CLIENT an hour.
"""

import hashlib
import logging
from base64 import b32encode
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

import django_otp
from axes.helpers import get_client_ip_address
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import transaction
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .middleware import is_under
from .site import site_details

logger = logging.getLogger(__name__)

REQUIRED_GROUP = "Editors"
RECOVERY_CODES = 10
# The recovery codes just made, until the page that shows them once has read them.
NEW_CODES_SESSION_KEY = "two_factor_new_recovery_codes"
# The set-up link this session opened (its token, checked again on every use).
SETUP_LINK_SESSION_KEY = "two_factor_setup_link"
# Whether this session sent a set-up link, and how that went: sent once without asking.
SETUP_EMAIL_SESSION_KEY = "two_factor_setup_email"
SETUP_LINK_MAX_AGE = timedelta(hours=24)
SETUP_LINK_SALT = "explainers.two_factor.setup_link"
SIGN_IN_EMAILS_WINDOW = timedelta(hours=1)
# Admin addresses (URL names) that a user who still owes a code may open.
OPEN_VIEWS = {
    "admin:login",
    "admin:logout",
    "two_factor_verify",
    "two_factor_setup",
    "two_factor_setup_link",
    "admin_password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


# Who needs what


def requires_two_factor(user) -> bool:
    if not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or user.groups.filter(name=REQUIRED_GROUP).exists()
        or has_authenticator(user)
    )


def has_authenticator(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def is_verified(user) -> bool:
    """A code was given in this session (django-otp's OTPMiddleware tells)."""
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


def passed_two_factor(user) -> bool:
    """Signed in with everything the account asks for: for staff privileges outside /admin/."""
    return user.is_authenticated and (is_verified(user) or not requires_two_factor(user))


class TwoFactorMiddleware:
    """Admin pages wait for the code. After django_otp's OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not is_under(request, settings.ADMIN_URL):
            return None
        if request.resolver_match and request.resolver_match.view_name in OPEN_VIEWS:
            return None
        user = request.user
        if not user.is_authenticated or is_verified(user) or not requires_two_factor(user):
            return None
        return redirect(_with_next(reverse("two_factor_verify"), request.get_full_path()))


# Devices and codes


def check_code(user, code: str):
    """The device that accepts ``code`` (used up if it was a recovery code), or None; and when
    a throttled device (django-otp doubles the wait after each wrong code) may try again."""
    code = "".join(code.split()).replace("-", "").lower()
    # Authenticator codes are 6 digits; recovery codes are 8 letters and digits.
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    retry_at = None
    with transaction.atomic():
        for device in model.objects.devices_for_user(user, confirmed=True).select_for_update():
            allowed, details = device.verify_is_allowed()
            if not allowed:
                retry_at = (details or {}).get("locked_until", retry_at)
                continue
            if device.verify_token(code):
                return device, None
    return None, retry_at


def new_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with 10 new ones (the device stays: a session
    verified by a recovery code stays verified)."""
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    with transaction.atomic():
        StaticToken.objects.filter(device__user=user).delete()
        device = StaticDevice.objects.filter(user=user).first() or StaticDevice.objects.create(
            user=user, name="Recovery codes", confirmed=True
        )
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def remaining_recovery_codes(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


class AlreadySetUp(Exception):
    """The device to confirm is no longer waiting, or (a first set-up) another one was
    confirmed meanwhile."""


def confirm_authenticator(user, device, code: str, *, first: bool) -> list[str] | None:
    """Confirm the waiting ``device`` with ``code``, replacing the user's other authenticators
    and recovery codes; the new recovery codes, or None for a wrong code.

    Race-safe: with the user's row locked (SQLite's writers take the database's lock when the
    transaction starts), the device must still be waiting and, for a first set-up, no other
    authenticator confirmed; else AlreadySetUp, and nothing changes."""
    with transaction.atomic():
        # The user's row, locked: every confirmation of theirs waits here for the one before.
        list(get_user_model()._default_manager.select_for_update().filter(pk=user.pk).values("pk"))
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(pk=device.pk, user=user, confirmed=False)
            .first()
        )
        if device is None or (first and has_authenticator(user)):
            raise AlreadySetUp
        if not device.verify_token(code):
            return None
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return new_recovery_codes(user)


def reset_two_factor(user) -> tuple[int, int]:
    """Remove the user's authenticators and recovery codes (a lost phone): how many of each.
    Sessions verified with them are verified no more."""
    with transaction.atomic():
        apps = TOTPDevice.objects.filter(user=user, confirmed=True).count()
        codes = StaticToken.objects.filter(device__user=user).count()
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
    return apps, codes


def _signed_in_with(request, device):
    # A new session key for the raised privilege, as for the password.
    request.session.cycle_key()
    django_otp.login(request, device)


# Set-up links


def _device_fingerprint(device) -> str:
    return salted_hmac(SETUP_LINK_SALT, device.key).hexdigest()[:16]


def new_setup_link(user) -> str:
    """A set-up link's token for a new waiting device; earlier links stop working."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    payload = {"user": user.pk, "device": device.pk, "key": _device_fingerprint(device)}
    return signing.TimestampSigner(salt=SETUP_LINK_SALT).sign_object(payload)


def check_setup_link(user, token: str):
    """The waiting device a set-up link opens for ``user``; or None and what is wrong."""
    signer = signing.TimestampSigner(salt=SETUP_LINK_SALT)
    try:
        payload = signer.unsign_object(token, max_age=SETUP_LINK_MAX_AGE)
    except signing.SignatureExpired:
        return None, "expired"
    except (signing.BadSignature, ValueError):
        return None, "invalid"
    if not isinstance(payload, dict) or payload.get("user") != user.pk:
        return None, "foreign"
    device = TOTPDevice.objects.filter(pk=payload.get("device"), user=user, confirmed=False).first()
    if device is None or _device_fingerprint(device) != payload.get("key"):
        return None, "used" if has_authenticator(user) else "replaced"
    return device, None


def mask_email(address: str) -> str:
    """e***@example.org: enough for its owner to recognise, little for anyone else."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


def _email_of(user) -> str:
    return getattr(user, user.get_email_field_name(), "") or ""


def send_setup_link(request, user) -> str:
    """Email the user a new set-up link: "sent", "limited" (too many sign-in emails to that
    address or from this client this hour) or "failed"."""
    address = _email_of(user)
    if not allow_sign_in_email(request, address):
        return "limited"
    context = {
        "user": user,
        "site_name": site_details().name,
        "link": request.build_absolute_uri(
            reverse("two_factor_setup_link", args=[new_setup_link(user)])
        ),
        "hours": int(SETUP_LINK_MAX_AGE.total_seconds() // 3600),
    }
    subject = render_to_string("registration/two_factor_setup_subject.txt", context)
    body = render_to_string("registration/two_factor_setup_email.txt", context)
    try:
        EmailMessage("".join(subject.splitlines()), body, None, [address]).send()
    except Exception:
        logger.exception("Failed to send a two-factor set-up link to user %s", user.pk)
        return "failed"
    return "sent"


# Sign-in emails: a few an hour per address and per client


def _counted(kind: str, value: str) -> int:
    """One more for ``value`` in this window (the window starts with the first)."""
    digest = hashlib.sha256(value.encode()).hexdigest()
    key = f"sign-in-emails:{kind}:{digest}"
    seconds = int(SIGN_IN_EMAILS_WINDOW.total_seconds())
    cache.add(key, 0, seconds)
    try:
        return cache.incr(key)
    except ValueError:  # it expired in between
        cache.set(key, 1, seconds)
        return 1


def allow_sign_in_email(request, address: str) -> bool:
    """Whether a sign-in email to ``address`` may go now: at most SIGN_IN_EMAILS_PER_ADDRESS
    an hour to one address, and SIGN_IN_EMAILS_PER_CLIENT from one client address. Every try
    counts (race-free increments in the shared cache); a refused one logs a warning."""
    address = address.strip().lower()
    over = []
    if _counted("address", address) > settings.SIGN_IN_EMAILS_PER_ADDRESS:
        over.append("address")
    client = get_client_ip_address(request) if request is not None else None
    if client and _counted("client", client) > settings.SIGN_IN_EMAILS_PER_CLIENT:
        over.append("client")
    if over:
        logger.warning(
            "Sign-in email to %s not sent: too many this hour for the %s (client %s).",
            mask_email(address),
            " and the ".join("target address" if kind == "address" else kind for kind in over),
            client or "unknown",
        )
    return not over


class LimitedPasswordResetForm(PasswordResetForm):
    """Django's password reset form, sending nothing past the sign-in email limits. The page
    after it reads the same either way, as for an unknown address."""

    def save(self, *args, request=None, **kwargs):
        self._request = request
        return super().save(*args, request=request, **kwargs)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        if allow_sign_in_email(getattr(self, "_request", None), to_email):
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name=html_email_template_name,
            )


# Pages


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}"


def _next_url(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index")


def _page(request, template, title, **context):
    return TemplateResponse(
        request,
        f"admin/two_factor/{template}",
        {**admin.site.each_context(request), "title": title, "next": _next_url(request), **context},
    )


def _signed_in_or_login(view):
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not request.user.is_authenticated or not request.user.is_active:
            return redirect(_with_next(reverse("admin:login"), request.get_full_path()))
        return view(request, *args, **kwargs)

    return checked


@sensitive_post_parameters("code")
@never_cache
@_signed_in_or_login
def verify(request):
    """The second step of signing in: a code from the app, or a recovery code."""
    user = request.user
    if is_verified(user) or not requires_two_factor(user):
        return redirect(_next_url(request))
    if not has_authenticator(user):
        return redirect(_with_next(reverse("two_factor_setup"), _next_url(request)))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        device, retry_at = check_code(user, form.cleaned_data["code"])
        if device is not None:
            _signed_in_with(request, device)
            return redirect(_next_url(request))
        if retry_at is not None:
            seconds = max(1, int((retry_at - timezone.now()).total_seconds() + 0.999))
            form.add_error("code", f"Too many wrong codes: try again in {seconds} seconds.")
        else:
            form.add_error("code", "That code is not right, or it was used already.")
    return _page(request, "verify.html", "Two-factor sign-in", form=form)


SETUP_LINK_PROBLEMS = {
    "expired": "This set-up link has expired (each works for {hours} hours).",
    "invalid": "This set-up link is not valid: it may have been cut short when copied.",
    "foreign": "This set-up link is for another account, not the one you are signed in as.",
    "replaced": "This set-up link was replaced by a newer one: use the newest email.",
    "used": "This set-up link was used already: your authenticator app is set up.",
}


def _setup_by_email(request, problem=None):
    """The first set-up, before its link: say where the link went (sending it once per
    session unasked), or why the link opened is no good; a button sends a new one."""
    user = request.user
    address = _email_of(user)
    can_send = bool(address) and not has_authenticator(user)
    sent = request.session.get(SETUP_EMAIL_SESSION_KEY)
    if not (isinstance(sent, dict) and sent.get("user") == user.pk):
        sent = None
    if can_send and request.method == "POST" and "send" in request.POST:
        sent = {"user": user.pk, "status": send_setup_link(request, user)}
        request.session[SETUP_EMAIL_SESSION_KEY] = sent
        return redirect(_with_next(reverse("two_factor_setup"), _next_url(request)))
    if can_send and sent is None and problem is None:
        sent = {"user": user.pk, "status": send_setup_link(request, user)}
        request.session[SETUP_EMAIL_SESSION_KEY] = sent
    hours = int(SETUP_LINK_MAX_AGE.total_seconds() // 3600)
    return _page(
        request,
        "setup_by_email.html",
        "Set up two-factor sign-in",
        problem=SETUP_LINK_PROBLEMS[problem].format(hours=hours) if problem else None,
        used=problem == "used",
        has_email=bool(address),
        can_send=can_send,
        status=sent["status"] if sent and problem is None else None,
        masked_email=mask_email(address) if address else "",
        hours=hours,
    )


@never_cache
@_signed_in_or_login
def setup_link(request, token):
    """An emailed set-up link: kept in the session (out of the address bar, and so out of
    any Referer), then the set-up page; or what is wrong with it."""
    device, problem = check_setup_link(request.user, token)
    if device is None:
        return _setup_by_email(request, problem)
    request.session[SETUP_LINK_SESSION_KEY] = token
    return redirect(reverse("two_factor_setup"))


@sensitive_post_parameters("code")
@never_cache
@_signed_in_or_login
def setup(request):
    """Set up an authenticator app: scan the QR code (or type the key), confirm with a code.

    Open before the second factor only to someone with no authenticator yet (the first
    sign-in), and then only through a set-up link emailed to them; replacing one needs a
    code from it, or from a recovery code, first."""
    user = request.user
    replacing = has_authenticator(user)
    if replacing and not is_verified(user):
        return redirect(_with_next(reverse("two_factor_verify"), _next_url(request)))
    if replacing:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    else:
        token = request.session.get(SETUP_LINK_SESSION_KEY)
        device, problem = check_setup_link(user, token) if token else (None, None)
        if device is None:
            request.session.pop(SETUP_LINK_SESSION_KEY, None)
            return _setup_by_email(request, problem)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        code = "".join(form.cleaned_data["code"].split())
        try:
            codes = confirm_authenticator(user, device, code, first=not replacing)
        except AlreadySetUp:
            request.session.pop(SETUP_LINK_SESSION_KEY, None)
            return redirect(_with_next(reverse("two_factor_verify"), _next_url(request)))
        if codes is not None:
            request.session.pop(SETUP_LINK_SESSION_KEY, None)
            _signed_in_with(request, device)
            request.session[NEW_CODES_SESSION_KEY] = codes
            return redirect(_with_next(reverse("two_factor_recovery_codes"), _next_url(request)))
        form.add_error("code", "That code is not right: check the app and try the next one.")
    # Imported here: only this page draws QR codes, and every reader-serving worker would
    # otherwise hold the encoder's tables.
    import segno

    uri = device.config_url
    secret = b32encode(device.bin_key).decode()
    return _page(
        request,
        "setup.html",
        "Set up two-factor sign-in",
        form=form,
        replacing=replacing,
        otpauth_uri=uri,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        # Black on white whatever the admin's colour theme, as scanners expect.
        qr_code=segno.make(uri, error="m").svg_data_uri(
            scale=5, border=2, dark="#000", light="#fff"
        ),
    )


@never_cache
@_signed_in_or_login
def recovery_codes(request):
    """New recovery codes, shown once; or how many are left, and a button for new ones."""
    user = request.user
    if not is_verified(user):
        step = "two_factor_verify" if has_authenticator(user) else "two_factor_setup"
        return redirect(_with_next(reverse(step), request.get_full_path()))
    if request.method == "POST":
        request.session[NEW_CODES_SESSION_KEY] = new_recovery_codes(user)
        return redirect(_with_next(reverse("two_factor_recovery_codes"), _next_url(request)))
    return _page(
        request,
        "recovery_codes.html",
        "Recovery codes",
        codes=request.session.pop(NEW_CODES_SESSION_KEY, None),
        remaining=remaining_recovery_codes(user),
    )
