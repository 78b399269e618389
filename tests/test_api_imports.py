"""Imports through the API (POST /api/v1/imports) and the tokens that open it."""

import io

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client

from api.models import ApiToken
from api.schemas import ImportProblem, ImportReport
from api.services import IMPORT_PERMISSIONS, api_token_create, api_token_revoke
from explainers.models import Explainer

from .helpers import LISTING_FILES, LISTINGS, content_snapshot, sign_in_verified
from .test_admin import PASSWORD, make_user

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports"


@pytest.fixture
def importer():
    """An ops account with exactly the permissions an import needs."""
    user = User.objects.create_user("ops", password=PASSWORD)
    codenames = [permission.split(".")[1] for permission in IMPORT_PERMISSIONS]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def token(importer):
    return api_token_create(user=importer, name="nightly import")[1]


def uploads(*paths):
    return [SimpleUploadedFile(path.name, path.read_bytes()) for path in paths]


def post_import(client, token, files, **query):
    address = IMPORTS
    if query:
        address += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    return client.post(address, {"files": files}, HTTP_AUTHORIZATION=f"Bearer {token}")


def command_lines(*arguments) -> list[str]:
    """What import_listings prints with these arguments (-v 2: every title), undone after."""
    out = io.StringIO()
    with transaction.atomic():
        call_command("import_listings", *arguments, verbosity=2, stdout=out, stderr=io.StringIO())
        transaction.set_rollback(True)
    return out.getvalue().splitlines()


def report_lines(report: dict) -> list[str]:
    """The API's report as the command prints it."""
    would = "would be " if report["dry_run"] else ""
    lines = [f"Category {would}created: {path}" for path in report["categories_created"]]
    lines += [f"Category description {would}updated: {p}" for p in report["categories_updated"]]
    lines += [f"Explainer {would}created: {title}" for title in report["created"]]
    lines += [
        f"Explainer {would}updated ({', '.join(update['changes'])}): {update['title']}"
        for update in report["updated"]
    ]
    prefix = "Dry run, nothing written: " if report["dry_run"] else ""
    return [*lines, f"{prefix}{report['summary']}"]


def test_an_import_through_the_api_matches_the_commands_report(client, token):
    expected = command_lines(*map(str, LISTING_FILES), "--parent", "AI Principles")

    response = post_import(client, token, uploads(*LISTING_FILES), parent="AI Principles")

    assert response.status_code == 200, response.content
    report = response.json()
    ImportReport.model_validate(report)
    assert report_lines(report) == expected
    assert report["created_count"] == 85 == Explainer.objects.published().count()
    # The same listings again: nothing to change, as the command would say.
    again = post_import(client, token, uploads(*LISTING_FILES), parent="AI Principles").json()
    assert again["summary"] == "0 created, 0 updated, 85 unchanged"


def test_an_update_reports_each_explainers_changed_fields(client, token, tmp_path):
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    listing = LISTINGS / "model-architectures.page-1.cards.txt"
    edited = tmp_path / listing.name
    edited.write_text(
        listing.read_text().replace("MONA explainer 13 min", "MONA explainer 14 min", 1)
    )
    expected = command_lines(str(edited))

    report = post_import(client, token, uploads(edited)).json()

    assert report_lines(report) == expected
    assert [update["changes"] for update in report["updated"]] == [["reading_time"]]


def test_a_dry_run_writes_nothing_and_says_what_would_change(client, token):
    before = content_snapshot()

    report = post_import(client, token, uploads(*LISTING_FILES), parent="AI Principles", dry_run=1)

    assert report.status_code == 200
    assert report.json()["dry_run"] is True and report.json()["created_count"] == 85
    assert content_snapshot() == before


def test_a_bad_listing_leaves_the_database_unchanged_and_names_file_and_line(client, token):
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    before = content_snapshot()
    good = LISTINGS / "llm-foundations.page-1.cards.txt"
    lines = (LISTINGS / "model-architectures.page-1.cards.txt").read_text().splitlines()
    broken_line = next(n for n, line in enumerate(lines, 1) if line.endswith(" min"))
    lines[broken_line - 1] = lines[broken_line - 1].replace(" min", " minutes")
    bad = SimpleUploadedFile("broken.txt", "\n".join(lines).encode())

    response = post_import(client, token, [*uploads(good), bad])

    assert response.status_code == 400
    problem = response.json()
    ImportProblem.model_validate(problem)
    assert problem["errors"][0]["file"] == "broken.txt"
    assert problem["errors"][0]["line"] is not None
    assert problem["detail"].startswith(f"broken.txt:{problem['errors'][0]['line']}: ")
    assert content_snapshot() == before


def test_a_file_that_is_not_text_is_refused_by_name(client, token):
    response = post_import(client, token, [SimpleUploadedFile("photo.txt", b"\x89PNG\x00\x00")])

    assert response.status_code == 400
    assert response.json()["errors"] == [{"file": "photo.txt", "line": 1, "problem": "binary data"}]
    assert not Explainer.objects.exists()


# Tokens


def test_no_token_an_unknown_one_or_a_revoked_one_gets_a_401(client, importer):
    token_row, secret = api_token_create(user=importer, name="old")
    files = uploads(LISTING_FILES[0])
    answers = {
        "none": client.post(IMPORTS, {"files": files}),
        "unknown": post_import(client, secret[:-4] + "AAAA", uploads(LISTING_FILES[0])),
        "malformed": post_import(client, "not-a-token", uploads(LISTING_FILES[0])),
    }
    api_token_revoke(token=token_row)
    answers["revoked"] = post_import(client, secret, uploads(LISTING_FILES[0]))

    for name, response in answers.items():
        assert response.status_code == 401, name
        assert response["WWW-Authenticate"] == "Bearer"
    assert not Explainer.objects.exists()


def test_a_token_of_an_inactive_account_gets_a_401(client, importer, token):
    importer.is_active = False
    importer.save()

    assert post_import(client, token, uploads(LISTING_FILES[0])).status_code == 401


def test_a_token_acts_with_its_users_permissions_only(client):
    call_command("setup_roles", stdout=io.StringIO())
    editor = make_user("eddie", "Editors")  # may not add categories
    secret = api_token_create(user=editor, name="editor's")[1]

    response = post_import(client, secret, uploads(*LISTING_FILES), parent="AI Principles")

    assert response.status_code == 403
    assert "explainers.add_category" in response.json()["detail"]
    assert not Explainer.objects.exists()


def test_only_a_digest_of_the_token_is_stored_and_its_use_is_noted(client, token):
    row = ApiToken.objects.get()

    assert token.startswith(f"exp_{row.public_id}_")
    assert token not in str(list(ApiToken.objects.values()))
    assert row.last_used_at is None
    post_import(client, token, uploads(*LISTING_FILES), parent="AI Principles", dry_run=1)
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_the_command_creates_lists_and_revokes_tokens(client, importer):
    out = io.StringIO()
    call_command("api_token", "create", "--user", "ops", "--name", "cron", stdout=out,
                 stderr=io.StringIO())  # fmt: skip
    secret = out.getvalue().strip()
    public_id = secret.split("_")[1]
    listed = io.StringIO()
    call_command("api_token", "list", stdout=listed)

    dry_run = post_import(
        client, secret, uploads(*LISTING_FILES), parent="AI+Principles", dry_run=1
    )
    assert dry_run.status_code == 200
    assert public_id in listed.getvalue() and "active" in listed.getvalue()
    assert secret not in listed.getvalue()
    call_command("api_token", "revoke", public_id, stdout=io.StringIO())
    assert post_import(client, secret, uploads(LISTING_FILES[0])).status_code == 401
    with pytest.raises(CommandError, match="revoked already"):
        call_command("api_token", "revoke", public_id, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "create", "--user", "nobody", "--name", "x")


# The admin


def test_the_admin_shows_a_new_token_once_and_can_revoke_it(client, importer):
    root = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    sign_in_verified(client, root)

    created = client.post("/admin/api/apitoken/add/", {"name": "partner feed", "user": importer.pk})
    secret = created.context["secret"]
    row = ApiToken.objects.get()
    listing = client.get("/admin/api/apitoken/")
    change = client.get(f"/admin/api/apitoken/{row.pk}/change/")

    assert created.status_code == 200 and secret.encode() in created.content
    assert row.user == importer and row.name == "partner feed"
    assert secret.encode() not in listing.content + change.content
    assert post_import(Client(), secret, uploads(*LISTING_FILES), dry_run=1,
                       parent="AI Principles").status_code == 200  # fmt: skip
    client.post(
        "/admin/api/apitoken/", {"action": "revoke", "_selected_action": [row.pk]}, follow=True
    )
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert post_import(Client(), secret, uploads(LISTING_FILES[0])).status_code == 401


def test_staff_make_tokens_for_themselves_only(client, importer):
    staff = make_user("sam")
    codenames = ["add_apitoken", "change_apitoken", "view_apitoken"]
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    sign_in_verified(client, staff)
    api_token_create(user=importer, name="not sam's")

    refused = client.post("/admin/api/apitoken/add/", {"name": "borrowed", "user": importer.pk})
    own = client.post("/admin/api/apitoken/add/", {"name": "mine", "user": staff.pk})
    listing = client.get("/admin/api/apitoken/")

    assert refused.status_code == 200 and "borrowed" not in {t.name for t in ApiToken.objects.all()}
    assert own.status_code == 200 and ApiToken.objects.filter(user=staff, name="mine").exists()
    assert b"not sam" not in listing.content


def test_without_permission_the_admin_shows_no_tokens(client):
    sign_in_verified(client, make_user("nobody"))

    assert client.get("/admin/api/apitoken/").status_code == 403
    assert client.get("/admin/api/apitoken/add/").status_code == 403


def test_a_body_that_is_not_multipart_is_a_400_not_a_server_error(client, token):
    response = client.generic(
        "POST",
        IMPORTS,
        b"--nothing--",
        content_type="multipart/form-data",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("files: not a multipart/form-data body")
