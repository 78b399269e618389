from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .cache import content_changed
from .models import Category, Explainer, HeroImage, PreviousSlug, Series, SeriesItem
from .services.imports import hero_ensure_placeholder_file

CONTENT_MODELS = {Category, Explainer, HeroImage, PreviousSlug, Series, SeriesItem}


@receiver(post_save, sender=HeroImage, dispatch_uid="hero_placeholder_file_on_loaddata")
def draw_placeholder_file_on_loaddata(sender, instance, raw, **kwargs):
    # The fixture names placeholder files that git does not hold (they are drawn from their
    # name); `loaddata` saves raw, so this is the one place that can make them exist.
    if raw:
        hero_ensure_placeholder_file(hero=instance)


@receiver(post_save, sender=SeriesItem, dispatch_uid="lead_series_item_saved")
@receiver(post_delete, sender=SeriesItem, dispatch_uid="lead_series_item_deleted")
def refresh_lead_series_of_member(sender, instance, **kwargs):
    # Every way an explainer's series change one at a time (the admin's and the publishing
    # service's taggit calls, a revert, a fixture) saves or deletes a SeriesItem; bulk
    # writes (the importer) refresh what they wrote themselves.
    Explainer.objects.filter(pk=instance.content_object_id).refresh_lead_series()


@receiver(post_save, sender=Series, dispatch_uid="lead_series_renamed")
def refresh_lead_series_of_members(sender, instance, created, **kwargs):
    # A new name may change which of its members' series comes first.
    if not created:
        Explainer.objects.filter(series=instance).refresh_lead_series()


@receiver(post_save, dispatch_uid="content_saved")
@receiver(post_delete, dispatch_uid="content_deleted")
@receiver(m2m_changed, sender=SeriesItem, dispatch_uid="series_changed")
def refresh_cached_pages(sender, **kwargs):
    # Every write to the content, from the admin, a revert or a fixture, reaches readers on
    # the next request. Bulk writes (imports, bulk actions, reordering) call it themselves.
    if sender in CONTENT_MODELS:
        content_changed()
