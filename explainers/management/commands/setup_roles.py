from django.core.management.base import BaseCommand, CommandError

from explainers.services.roles import roles_setup


class Command(BaseCommand):
    help = (
        "Create the Editors and Contributors groups with exactly their permissions "
        "(idempotent: run it again after an upgrade). Superusers come from createsuperuser."
    )

    def handle(self, *args, verbosity, **options):
        try:
            roles = roles_setup()
        except ValueError as error:
            raise CommandError(str(error)) from error
        for name, codenames in roles.items():
            if verbosity >= 2:
                self.stdout.write(f"{name}: {', '.join(codenames)}")
        self.stdout.write(self.style.SUCCESS(f"Roles ready: {', '.join(roles)}"))
