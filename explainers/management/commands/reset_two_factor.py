from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from explainers import two_factor


class Command(BaseCommand):
    help = (
        "Remove USERNAME's two-factor sign-in (their authenticator app and recovery codes), "
        "as after a lost phone. At their next sign-in they set up a new app through a link "
        "emailed to them; with --link, this prints one to hand over yourself instead (for "
        "someone without an email address)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--link", action="store_true", help="Print a set-up link for the user.")

    def handle(self, *args, username, link, **options):
        User = get_user_model()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f'No user is called "{username}".')
        apps, codes = two_factor.reset_two_factor(user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Removed {username}'s two-factor sign-in: {apps} authenticator app"
                f"{'' if apps == 1 else 's'}, {codes} recovery code{'' if codes == 1 else 's'}."
            )
        )
        if link:
            token = two_factor.new_setup_link(user)
            url = settings.SITE_URL + reverse("two_factor_setup_link", args=[token])
            hours = int(two_factor.SETUP_LINK_MAX_AGE.total_seconds() // 3600)
            self.stdout.write(
                f"Set-up link for {username} (works once, for {hours} hours, signed in as "
                f"them):\n{url}"
            )
