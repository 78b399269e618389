"""Signing in to the admin: lockouts keyed on the real client address behind a proxy, a
cool-off that grows, `unlock_user`, password reset by email, and two-factor sign-in (TOTP and
recovery codes) for editors and superusers."""

import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from explainers.models import Explainer
from explainers.security import lockout_length

from .helpers import make_category, make_explainer, page_soup

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple 42"
LOGIN = "/admin/login/"
PROXY = "10.0.0.2"  # the load balancer: every request reaches the site from it
ATTACKER = "203.0.113.9"
EDDIE_AT_HOME = "198.51.100.7"
ELSEWHERE = "192.0.2.44"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def frozen_now():
    """The clock stopped now (sessions made meanwhile stay valid after)."""
    return time_machine.travel(datetime.now(UTC), tick=False)


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def behind_a_proxy(settings):
    """What DJANGO_TRUSTED_PROXY_COUNT=1 sets (test_the_proxy_count_comes_from_the_environment)."""
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR",)
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.IPWARE_STRICT = False


def make_user(username, group=None, **fields):
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, **fields)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def from_address(address, forwarded_for=None):
    """A browser at ``address``, reaching the site through the load balancer, which appends
    the address it saw to whatever X-Forwarded-For the browser sent."""
    chain = f"{forwarded_for}, {address}" if forwarded_for else address
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=chain)


def sign_in(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


def fail(client, username, times=5):
    """Wrong passwords: the sign-in form again, or the lockout page for the one that locks."""
    for _attempt in range(times):
        assert sign_in(client, username, "a wrong guess").status_code in (200, 429)


def current_code(device) -> str:
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    return f"{token:0{device.digits}d}"


def a_wrong_code(device) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = totp.t()
    valid = set()
    for t in (now - 1, now, now + 1):
        totp.time = t * device.step + device.t0
        valid.add(f"{totp.token():0{device.digits}d}")
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def with_authenticator(user):
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


# The client's address behind the load balancer


def test_the_proxy_count_comes_from_the_environment():
    script = (
        "from django.conf import settings as s; import json; print(json.dumps(["
        "s.TRUSTED_PROXY_COUNT, getattr(s, 'AXES_IPWARE_PROXY_COUNT', None),"
        " list(s.AXES_IPWARE_META_PRECEDENCE_ORDER)]))"
    )

    def read(**env):
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {script}"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "site_config.settings", **env},
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert read() == [0, None, ["REMOTE_ADDR"]]
    assert read(DJANGO_TRUSTED_PROXY_COUNT="1") == [1, 0, ["HTTP_X_FORWARDED_FOR"]]
    assert read(DJANGO_TRUSTED_PROXY_COUNT="2") == [2, 1, ["HTTP_X_FORWARDED_FOR"]]


def test_an_attackers_failures_lock_their_address_not_the_user_at_their_own(behind_a_proxy):
    make_user("eddie", "Editors")
    make_user("dana", "Editors")
    assert sign_in(from_address(EDDIE_AT_HOME), "eddie").status_code == 302  # his usual address

    attacker = from_address(ATTACKER)
    fail(attacker, "eddie")

    locked = sign_in(attacker, "eddie")
    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    # The address is locked whatever username it tries, and an invented X-Forwarded-For entry
    # does not change it: the load balancer's own entry is the one read.
    assert sign_in(attacker, "dana").status_code == 429
    assert sign_in(from_address(ATTACKER, forwarded_for=EDDIE_AT_HOME), "dana").status_code == 429
    # Eddie still signs in where he usually does; others behind the same proxy too.
    assert sign_in(from_address(EDDIE_AT_HOME), "eddie").status_code == 302
    assert sign_in(from_address(ELSEWHERE), "dana").status_code == 302
    # The username itself is locked from addresses eddie has never signed in from: guesses
    # spread over many addresses add up.
    assert sign_in(from_address(ELSEWHERE), "eddie").status_code == 429


def test_guesses_at_one_username_from_many_addresses_add_up(behind_a_proxy):
    make_user("eddie", "Editors")
    for number in range(5):
        fail(from_address(f"203.0.113.{10 + number}"), "eddie", times=1)

    assert sign_in(from_address("203.0.113.99"), "eddie").status_code == 429


def test_one_address_guessing_many_usernames_is_locked(behind_a_proxy):
    make_user("dana", "Editors")
    attacker = from_address(ATTACKER)
    for username in ["admin", "root", "editor", "eddie", "dana"]:
        fail(attacker, username, times=1)

    assert sign_in(attacker, "dana").status_code == 429
    assert sign_in(from_address(ELSEWHERE), "dana").status_code == 302


def test_the_cool_off_doubles_with_each_lockout_and_starts_over_after_a_quiet_day(
    behind_a_proxy,
):
    make_user("eddie", "Editors")
    attacker = from_address(ATTACKER)
    with time_machine.travel(START, tick=False) as clock:
        fail(attacker, "eddie")
        first = sign_in(attacker, "eddie")
        assert first.status_code == 429 and "15 minutes" in first.content.decode()
        clock.shift(timedelta(minutes=14))
        assert sign_in(attacker, "eddie").status_code == 429
        clock.shift(timedelta(minutes=2))  # 16 minutes: the first lockout is over

        fail(attacker, "eddie")
        second = sign_in(attacker, "eddie")
        assert second.status_code == 429 and "30 minutes" in second.content.decode()
        clock.shift(timedelta(minutes=20))
        assert sign_in(attacker, "eddie").status_code == 429  # 15 minutes would be over
        clock.shift(timedelta(minutes=11))

        fail(attacker, "eddie")
        third = sign_in(attacker, "eddie")
        assert third.status_code == 429 and "1 hour" in third.content.decode()
        clock.shift(timedelta(minutes=61))
        assert sign_in(attacker, "eddie").status_code == 302

        clock.shift(timedelta(hours=25))  # a day without a lockout
        fail(attacker, "eddie")
        again = sign_in(attacker, "eddie")
        assert again.status_code == 429 and "15 minutes" in again.content.decode()

    assert [lockout_length(n) for n in (0, 1, 2, 6, 7, 20)] == [
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=16),
        timedelta(hours=24),
        timedelta(hours=24),
    ]


def test_one_lockout_does_not_shorten_another(behind_a_proxy):
    """Expired failures are cleared key by key: a newcomer's 15-minute window must not end a
    longer lockout elsewhere."""
    make_user("eddie", "Editors")
    make_user("dana", "Editors")
    attacker = from_address(ATTACKER)
    with time_machine.travel(START, tick=False) as clock:
        fail(attacker, "eddie")
        clock.shift(timedelta(minutes=16))
        fail(attacker, "eddie")  # the second lockout: 30 minutes
        clock.shift(timedelta(minutes=20))
        fail(from_address(ELSEWHERE), "dana", times=1)  # someone else's failure

        assert sign_in(attacker, "eddie").status_code == 429


def test_unlock_user_clears_a_lockout(behind_a_proxy):
    make_user("eddie", "Editors")
    attacker = from_address(ATTACKER)
    fail(attacker, "eddie")
    assert sign_in(from_address(ELSEWHERE), "eddie").status_code == 429
    out = io.StringIO()

    call_command("unlock_user", "eddie", stdout=out)

    assert "Unlocked eddie: cleared 1 failed sign-in record." in out.getvalue()
    assert sign_in(from_address(ELSEWHERE), "eddie").status_code == 302
    assert sign_in(attacker, "eddie").status_code == 302


def test_unlock_user_refuses_an_unknown_username():
    with pytest.raises(CommandError, match='No user is called "nobody"'):
        call_command("unlock_user", "nobody", stdout=io.StringIO())


# Password reset by email


def test_a_password_reset_email_links_to_a_page_that_sets_a_new_password(client):
    make_user("eddie", "Editors", email="eddie@example.org")
    login_page = page_soup(client.get(LOGIN))
    assert login_page.select_one('.password-reset-link a[href="/admin/password_reset/"]')

    response = client.post("/admin/password_reset/", {"email": "EDDIE@example.org"})

    assert response["Location"] == "/admin/password_reset/done/"
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["eddie@example.org"]
    assert "AI Explainers" in email.subject
    link = re.search(r"http://testserver(/admin/password_reset/\S+/\S+/)", email.body)[1]
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    new_password = "a brand new passphrase 77"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done["Location"] == "/admin/password_reset/complete/"
    complete = page_soup(client.get(done["Location"]))
    assert complete.select_one('#content a[href^="/admin/login/"]')

    assert sign_in(Client(), "eddie", new_password).status_code == 302
    assert sign_in(Client(), "eddie", PASSWORD).status_code == 200  # the old one is refused
    assert client.get(link).context["validlink"] is False  # the link works once


def test_a_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post("/admin/password_reset/", {"email": "nobody@example.org"})

    assert response["Location"] == "/admin/password_reset/done/"
    assert mail.outbox == []


# Two-factor sign-in


def test_an_editor_needs_the_code_from_their_authenticator(client):
    eddie = make_user("eddie", "Editors")
    device = with_authenticator(eddie)
    draft = make_explainer(make_category("LLM Foundations"), "Unpublished", status="draft")

    assert sign_in(client, "eddie").status_code == 302
    # The password alone opens no admin page, library ones included, nor previews of drafts.
    for path in ["/admin/", "/admin/explainers/explainer/", "/admin/axes/accessattempt/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/two-factor/?next=")
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get("/admin/two-factor/setup/")["Location"].startswith("/admin/two-factor/?")

    with frozen_now() as clock:
        page = client.get("/admin/two-factor/?next=/admin/explainers/explainer/")
        assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text
        wrong = client.post(
            "/admin/two-factor/",
            {"code": a_wrong_code(device), "next": "/admin/explainers/explainer/"},
        )
        assert wrong.status_code == 200
        assert "That code is not right" in wrong.text
        # Each wrong code doubles the wait before the next try (django-otp's throttling).
        too_soon = client.post("/admin/two-factor/", {"code": current_code(device)})
        assert "Too many wrong codes: try again in 1 seconds" in too_soon.text
        clock.shift(timedelta(seconds=2))

        right = client.post(
            "/admin/two-factor/",
            {"code": current_code(device), "next": "/admin/explainers/explainer/"},
        )

    assert right["Location"] == "/admin/explainers/explainer/"
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200 and "Editorial dashboard" in dashboard.text
    assert client.get(draft.get_absolute_url()).status_code == 200  # the preview
    assert Explainer.objects.get(pk=draft.pk).title == "Unpublished"


def test_a_code_is_good_once(client):
    eddie = make_user("eddie", "Editors")
    device = with_authenticator(eddie)
    with frozen_now():
        code = current_code(device)
        sign_in(client, "eddie")
        assert client.post("/admin/two-factor/", {"code": code})["Location"] == "/admin/"
        other = Client()
        sign_in(other, "eddie")

        replayed = other.post("/admin/two-factor/", {"code": code})

    assert replayed.status_code == 200 and "used already" in replayed.text


def test_the_first_sign_in_sets_up_an_authenticator_and_gives_recovery_codes_once(client):
    make_user("root", is_superuser=True)

    sign_in(client, "root")
    assert client.get("/admin/")["Location"] == "/admin/two-factor/?next=%2Fadmin%2F"
    assert client.get("/admin/two-factor/?next=/admin/")["Location"] == (
        "/admin/two-factor/setup/?next=%2Fadmin%2F"
    )
    setup = client.get("/admin/two-factor/setup/?next=/admin/")
    soup = page_soup(setup)
    assert "otpauth://totp/AI%20Explainers%3Aroot?secret=" in setup.text
    assert soup.select_one('img[src^="data:image/svg+xml"]')["alt"]
    assert soup.select("script:not([src])") == []  # the CSP allows no inline script
    device = TOTPDevice.objects.get(user__username="root", confirmed=False)
    secret = soup.select_one(".two-factor-secret").get_text().replace(" ", "")
    assert len(secret) == 32

    with frozen_now() as clock:
        assert "not right" in client.post("/admin/two-factor/setup/", {"code": "x"}).text
        clock.shift(timedelta(seconds=2))  # the wait after a wrong code
        confirmed = client.post(
            "/admin/two-factor/setup/", {"code": current_code(device), "next": "/admin/"}
        )

    assert confirmed["Location"] == "/admin/two-factor/recovery-codes/?next=%2Fadmin%2F"
    shown = page_soup(client.get(confirmed["Location"]))
    codes = [code.get_text() for code in shown.select(".two-factor-codes code")]
    assert len(set(codes)) == 10 and all(re.fullmatch(r"[a-z2-7]{8}", code) for code in codes)
    assert shown.select_one('a[href="/admin/"]')
    assert page_soup(client.get(confirmed["Location"])).select(".two-factor-codes") == []
    assert client.get("/admin/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed

    # A later sign-in without the phone: a recovery code, once.
    later = Client()
    sign_in(later, "root")
    assert later.post("/admin/two-factor/", {"code": codes[3].upper()})["Location"] == "/admin/"
    assert later.get("/admin/").status_code == 200
    assert StaticToken.objects.filter(device__user__username="root").count() == 9
    again = Client()
    sign_in(again, "root")
    assert "not right" in again.post("/admin/two-factor/", {"code": codes[3]}).text
    assert again.get("/admin/").status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client):
    root = make_user("root", is_superuser=True)
    device = with_authenticator(root)
    sign_in(client, "root")
    client.post("/admin/two-factor/", {"code": current_code(device)})
    assert "0 unused recovery codes" in client.get("/admin/two-factor/recovery-codes/").text

    made = client.post("/admin/two-factor/recovery-codes/")

    codes = page_soup(client.get(made["Location"])).select(".two-factor-codes code")
    assert len(codes) == 10
    assert "10 unused recovery codes" in client.get("/admin/two-factor/recovery-codes/").text


def test_a_contributor_signs_in_with_a_password_alone_and_may_set_up_two_factor(client):
    make_user("cora", "Contributors")

    assert sign_in(client, "cora").status_code == 302
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert page_soup(dashboard).select_one(
        '#user-tools a[href="/admin/two-factor/recovery-codes/"]'
    )
    assert client.get("/admin/two-factor/recovery-codes/")["Location"].startswith(
        "/admin/two-factor/setup/"
    )
    assert client.get("/admin/two-factor/setup/").status_code == 200


def test_a_contributor_who_set_up_two_factor_needs_the_code_too(client):
    cora = make_user("cora", "Contributors")
    with_authenticator(cora)

    sign_in(client, "cora")

    assert client.get("/admin/")["Location"].startswith("/admin/two-factor/")


def test_signing_out_and_the_password_reset_stay_open_before_the_code(client):
    make_user("eddie", "Editors")
    sign_in(client, "eddie")

    assert client.get("/admin/password_reset/").status_code == 200
    assert client.post("/admin/logout/").status_code == 200
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
