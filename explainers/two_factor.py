"""Two-factor sign-in for the admin: a code from an authenticator app (TOTP) or a recovery code.

Editors and superusers must use it; anyone else who has set it up (a contributor may) must too.
After the password, TwoFactorMiddleware sends such a user who has not given a code in this
session to the code page, or on their first sign-in to set up an authenticator, from every
admin address (library views under /admin/ included) except signing in and out, these pages and
the password reset. Setting up ends with 10 recovery codes, shown once, each good for one
sign-in without the app.
"""

from base64 import b32encode
from functools import wraps
from urllib.parse import urlencode

import django_otp
import segno
from django import forms
from django.contrib import admin
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

REQUIRED_GROUP = "Editors"
RECOVERY_CODES = 10
# The recovery codes just made, until the page that shows them once has read them.
NEW_CODES_SESSION_KEY = "two_factor_new_recovery_codes"
# Admin addresses (URL names) that a user who still owes a code may open.
OPEN_VIEWS = {
    "admin:login",
    "admin:logout",
    "two_factor_verify",
    "two_factor_setup",
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
        if not request.path.startswith(reverse("admin:index")):
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


def _signed_in_with(request, device):
    # A new session key for the raised privilege, as for the password.
    request.session.cycle_key()
    django_otp.login(request, device)


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


@sensitive_post_parameters("code")
@never_cache
@_signed_in_or_login
def setup(request):
    """Set up an authenticator app: scan the QR code (or type the key), confirm with a code.

    Open before the second factor only to someone with no authenticator yet (the first
    sign-in); replacing one needs a code from it, or from a recovery code, first."""
    user = request.user
    replacing = has_authenticator(user)
    if replacing and not is_verified(user):
        return redirect(_with_next(reverse("two_factor_verify"), _next_url(request)))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if device.verify_token("".join(form.cleaned_data["code"].split())):
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = new_recovery_codes(user)
            _signed_in_with(request, device)
            request.session[NEW_CODES_SESSION_KEY] = codes
            return redirect(_with_next(reverse("two_factor_recovery_codes"), _next_url(request)))
        form.add_error("code", "That code is not right: check the app and try the next one.")
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
