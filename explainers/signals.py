from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import HeroImage
from .services import hero_ensure_placeholder_file


@receiver(post_save, sender=HeroImage, dispatch_uid="hero_placeholder_file_on_loaddata")
def draw_placeholder_file_on_loaddata(sender, instance, raw, **kwargs):
    # The fixture names placeholder files that git does not hold (they are drawn from their
    # name); `loaddata` saves raw, so this is the one place that can make them exist.
    if raw:
        hero_ensure_placeholder_file(hero=instance)
