from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from api.models import ApiToken
from api.services import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = (
        "API tokens (Authorization: Bearer …) for the API's writes. `create` prints the token "
        "once (only its digest is stored); `revoke` ends one at once; `list` shows them."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Make a token acting as a user.")
        create.add_argument("--user", required=True, help="Username whose permissions apply.")
        create.add_argument("--name", required=True, help="What it is for.")
        revoke = actions.add_parser("revoke", help="Revoke a token by its public id.")
        revoke.add_argument("public_id", help="As `list` shows it (exp_<public id>_…).")
        listing = actions.add_parser("list", help="Every token, newest first.")
        listing.add_argument("--user", help="Only this user's.")

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_create(self, *, user, name, **options):
        try:
            owner = get_user_model().objects.get_by_natural_key(user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user “{user}”.") from None
        try:
            token, secret = api_token_create(user=owner, name=name)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        if options["verbosity"] >= 1:
            self.stderr.write(
                f"Token “{token.name}” for {owner}: shown once, copy it now (only its digest "
                "is kept)."
            )
        # The secret alone on stdout, so that a script can take it: `TOKEN=$(… create …)`.
        self.stdout.write(secret)

    def handle_revoke(self, *, public_id, **options):
        public_id = public_id.removeprefix("exp_").split("_", 1)[0]
        token = ApiToken.objects.filter(public_id=public_id).first()
        if token is None:
            raise CommandError(f"No token “{public_id}”.")
        if not api_token_revoke(token=token):
            raise CommandError(f"Token “{token.name}” ({public_id}) was revoked already.")
        self.stdout.write(self.style.SUCCESS(f"Revoked “{token.name}” ({public_id})."))

    def handle_list(self, *, user, **options):
        tokens = ApiToken.objects.select_related("user")
        if user:
            tokens = tokens.filter(user__username=user)
        for token in tokens:
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.public_id}  {state:<24}  last used {used:<16}  {token.user}  {token.name}"
            )
