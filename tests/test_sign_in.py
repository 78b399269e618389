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


SETUP = "/admin/two-factor/setup/"
RESET = "/admin/password_reset/"


def setup_link(email, host="http://testserver") -> str:
    """The set-up address in an emailed (or printed) set-up link."""
    return re.search(rf"{re.escape(host)}(/admin/two-factor/setup/\S+/)", email)[1]


def pending_device(username):
    return TOTPDevice.objects.get(user__username=username, confirmed=False)


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
    make_user("root", is_superuser=True, email="root@example.org")

    sign_in(client, "root")
    assert client.get("/admin/")["Location"] == "/admin/two-factor/?next=%2Fadmin%2F"
    assert client.get("/admin/two-factor/?next=/admin/")["Location"] == (
        "/admin/two-factor/setup/?next=%2Fadmin%2F"
    )
    asked = client.get("/admin/two-factor/setup/?next=/admin/")
    assert "r***@example.org" in asked.text
    # The set-up itself opens from the emailed link, whose token then leaves the address bar.
    assert client.get(setup_link(mail.outbox[0].body))["Location"] == SETUP
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
    setup = client.get("/admin/two-factor/setup/")
    assert setup.status_code == 200 and "ask an administrator" in setup.text


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


# The first authenticator: only through a link emailed to the address on file


def test_a_password_alone_does_not_set_up_the_first_authenticator(client):
    """Someone who has only an Editor's password, before the Editor's own first sign-in, gets
    neither the key nor a way to confirm one: that needs the link emailed to the Editor."""
    make_user("eddie", "Editors", email="eddie@example.org")
    sign_in(client, "eddie")

    page = client.get("/admin/two-factor/setup/?next=/admin/")

    assert page.status_code == 200
    assert "e***@example.org" in page.text and "eddie@example.org" not in page.text
    soup = page_soup(page)
    assert soup.select_one(".two-factor-secret") is None
    assert "otpauth://" not in page.text and not soup.select('img[src^="data:image/svg+xml"]')
    assert [email.to for email in mail.outbox] == [["eddie@example.org"]]
    # Even the right code for the waiting device confirms nothing without the link.
    with frozen_now():
        posted = client.post(SETUP, {"code": current_code(pending_device("eddie"))})
    assert posted.status_code == 200 and "otpauth://" not in posted.text
    assert not TOTPDevice.objects.filter(user__username="eddie", confirmed=True).exists()
    assert client.get("/admin/")["Location"].startswith("/admin/two-factor/")
    # Coming back to the page sends nothing more: a button does, on purpose.
    client.get(SETUP)
    assert len(mail.outbox) == 1
    assert page_soup(client.get(SETUP)).select_one(f'form[action="{SETUP}"] [name="send"]')


def test_the_emailed_link_opens_the_set_up_for_its_own_account_only():
    eddie = make_user("eddie", "Editors", email="eddie@example.org")
    make_user("dana", "Editors", email="dana@example.org")
    first_browser = Client()
    sign_in(first_browser, "eddie")
    first_browser.get(SETUP)
    email = mail.outbox[0]
    assert "AI Explainers" in email.subject
    link = setup_link(email.body)

    # Dana, signed in, opening Eddie's link: not hers, and nothing of his is shown.
    dana = Client()
    sign_in(dana, "dana")
    foreign = dana.get(link)
    assert foreign.status_code == 200 and "for another account" in foreign.text
    assert "otpauth://" not in foreign.text and "eddie" not in foreign.text
    assert dana.get(SETUP).status_code == 200 and "otpauth://" not in dana.get(SETUP).text

    # Eddie opens it in another browser: his password first, then the set-up.
    browser = Client()
    assert browser.get(link)["Location"].startswith("/admin/login/?next=")
    signed_in = browser.post(LOGIN, {"username": "eddie", "password": PASSWORD, "next": link})
    assert signed_in["Location"] == link
    assert browser.get(link)["Location"] == SETUP
    setup = browser.get(SETUP)
    assert "otpauth://totp/AI%20Explainers%3Aeddie?secret=" in setup.text
    device = pending_device("eddie")
    with frozen_now():
        confirmed = browser.post(SETUP, {"code": current_code(device)})
    assert confirmed["Location"].startswith("/admin/two-factor/recovery-codes/")
    assert browser.get("/admin/").status_code == 200
    assert list(TOTPDevice.objects.filter(user=eddie).values_list("pk", "confirmed")) == [
        (device.pk, True)
    ]

    # The link works once: afterwards it says so, and the first browser owes the code.
    later = Client()
    sign_in(later, "eddie")
    used = later.get(link)
    assert "used already" in used.text and "otpauth://" not in used.text
    assert first_browser.get(SETUP)["Location"].startswith("/admin/two-factor/?")


def test_an_expired_replaced_or_broken_link_says_so_and_a_new_one_can_be_sent(client):
    make_user("eddie", "Editors", email="eddie@example.org")
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, "eddie")
        client.get(SETUP)
        first = setup_link(mail.outbox[0].body)
        clock.shift(timedelta(hours=25))

        expired = client.get(first)
        assert expired.status_code == 200 and "expired" in expired.text
        assert "otpauth://" not in expired.text
        assert len(mail.outbox) == 1  # the visit sends nothing itself
        assert page_soup(expired).select_one(f'form[action="{SETUP}"] [name="send"]')

        sent = client.post(SETUP, {"send": "1"})
        assert sent["Location"].startswith(SETUP)
        assert "sent" in client.get(sent["Location"]).text
        second = setup_link(mail.outbox[1].body)
        client.post(SETUP, {"send": "1"})
        third = setup_link(mail.outbox[2].body)

        replaced = client.get(second)
        assert "newer" in replaced.text and "otpauth://" not in replaced.text
        broken = client.get(third[:-4] + "xyz/")
        assert "not valid" in broken.text and "otpauth://" not in broken.text
        assert client.get(third)["Location"] == SETUP
        assert "otpauth://" in client.get(SETUP).text


def test_two_set_ups_confirmed_at_once_leave_one_authenticator():
    """Two links (two devices waiting), both checked by their views before either was
    confirmed, as when the confirmations arrive together: the second, under the lock on the
    user, finds its device gone with the first's confirmation, and confirms nothing. So does
    a waiting device once an authenticator was confirmed some other way."""
    from explainers import two_factor

    eddie = make_user("eddie", "Editors", email="eddie@example.org")
    one = TOTPDevice.objects.create(user=eddie, name="One", confirmed=False)
    other = TOTPDevice.objects.create(user=eddie, name="Other", confirmed=False)

    with frozen_now():
        codes = two_factor.confirm_authenticator(eddie, one, current_code(one), first=True)
        assert len(codes) == 10
        with pytest.raises(two_factor.AlreadySetUp):
            two_factor.confirm_authenticator(eddie, other, current_code(other), first=True)
        waiting = TOTPDevice.objects.create(user=eddie, name="Waiting", confirmed=False)
        with pytest.raises(two_factor.AlreadySetUp):
            two_factor.confirm_authenticator(eddie, waiting, current_code(waiting), first=True)

    assert list(
        TOTPDevice.objects.filter(user=eddie).order_by("pk").values_list("pk", "confirmed")
    ) == [(one.pk, True), (waiting.pk, False)]


def test_without_an_email_address_the_set_up_page_says_to_ask_an_administrator(client):
    make_user("eddie", "Editors")
    sign_in(client, "eddie")

    page = client.get(SETUP)

    assert page.status_code == 200 and "ask an administrator" in page.text
    assert "otpauth://" not in page.text and mail.outbox == []
    assert client.post(SETUP, {"send": "1"}).status_code in (200, 302)
    assert mail.outbox == []


def test_reset_two_factor_removes_a_users_devices_and_can_print_a_set_up_link(client, settings):
    from explainers.two_factor import new_recovery_codes

    eddie = make_user("eddie", "Editors")
    with_authenticator(eddie)
    new_recovery_codes(eddie)
    out = io.StringIO()

    call_command("reset_two_factor", "eddie", "--link", stdout=out)

    assert "Removed eddie's two-factor sign-in: 1 authenticator app, 10 recovery codes." in (
        out.getvalue()
    )
    assert not TOTPDevice.objects.filter(user=eddie, confirmed=True).exists()
    assert not StaticToken.objects.filter(device__user=eddie).exists()
    link = setup_link(out.getvalue(), host=settings.SITE_URL)
    sign_in(client, "eddie")
    assert client.get("/admin/")["Location"].startswith("/admin/two-factor/")
    assert client.get(link)["Location"] == SETUP
    assert "otpauth://" in client.get(SETUP).text
    with pytest.raises(CommandError, match='No user is called "nobody"'):
        call_command("reset_two_factor", "nobody", stdout=io.StringIO())


# Sign-in emails (password resets, set-up links): a few an hour per address and per client


def test_password_reset_emails_to_one_address_stop_after_three_an_hour(behind_a_proxy, caplog):
    make_user("eddie", "Editors", email="eddie@example.org")
    with time_machine.travel(START, tick=False) as clock:
        for number in range(5):  # from five addresses: the limit is the target's
            browser = from_address(f"203.0.113.{10 + number}")
            response = browser.post(RESET, {"email": "eddie@example.org"})
            assert response["Location"] == "/admin/password_reset/done/"
        assert len(mail.outbox) == 3
        warnings = [r for r in caplog.records if r.levelname == "WARNING"]
        assert warnings and "e***@example.org" in warnings[-1].getMessage()
        assert "eddie@example.org" not in warnings[-1].getMessage()

        clock.shift(timedelta(minutes=61))
        from_address(ELSEWHERE).post(RESET, {"email": "EDDIE@example.org"})
        assert len(mail.outbox) == 4


def test_one_client_gets_at_most_ten_sign_in_emails_an_hour(behind_a_proxy):
    for number in range(12):
        make_user(f"user{number}", email=f"user{number}@example.org")
    attacker = from_address(ATTACKER)

    for number in range(11):
        response = attacker.post(RESET, {"email": f"user{number}@example.org"})
        assert response["Location"] == "/admin/password_reset/done/"

    assert len(mail.outbox) == 10
    # An invented X-Forwarded-For entry is not a new client; someone elsewhere is.
    from_address(ATTACKER, forwarded_for=ELSEWHERE).post(RESET, {"email": "user11@example.org"})
    assert len(mail.outbox) == 10
    from_address(ELSEWHERE).post(RESET, {"email": "user11@example.org"})
    assert [email.to for email in mail.outbox[10:]] == [["user11@example.org"]]


def test_set_up_links_and_password_resets_share_the_limit(client, settings):
    assert (settings.SIGN_IN_EMAILS_PER_ADDRESS, settings.SIGN_IN_EMAILS_PER_CLIENT) == (3, 10)
    make_user("eddie", "Editors", email="eddie@example.org")
    sign_in(client, "eddie")
    client.get(SETUP)
    client.post(SETUP, {"send": "1"})
    client.post(RESET, {"email": "eddie@example.org"})
    assert len(mail.outbox) == 3

    limited = client.post(SETUP, {"send": "1"}, follow=True)

    assert "Too many" in limited.text
    assert len(mail.outbox) == 3
