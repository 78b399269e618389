from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from .cache import content_changed
from .models import (
    SHOWN_HERO_FIELDS,
    Category,
    Explainer,
    HeroImage,
    PreviousSlug,
    Series,
    SeriesItem,
)
from .services.cards import cards_refresh
from .services.counts import (
    counted_state,
    live_counts_after_save,
    live_counts_refresh,
    series_count_step,
)
from .services.search_index import search_index_refresh, search_index_remove

CONTENT_MODELS = {Category, Explainer, HeroImage, PreviousSlug, Series, SeriesItem}


@receiver(post_save, sender=HeroImage, dispatch_uid="hero_placeholder_file_on_loaddata")
def draw_placeholder_file_on_loaddata(sender, instance, raw, **kwargs):
    # The fixture names placeholder files that git does not hold (they are drawn from their
    # name); `loaddata` saves raw, so this is the one place that can make them exist.
    if raw:
        # Imported here: drawing takes Pillow, which processes serving readers never load.
        from .services.imports import hero_ensure_placeholder_file

        hero_ensure_placeholder_file(hero=instance)


@receiver(post_save, sender=SeriesItem, dispatch_uid="lead_series_item_saved")
@receiver(post_delete, sender=SeriesItem, dispatch_uid="lead_series_item_deleted")
def refresh_lead_series_of_member(sender, instance, **kwargs):
    # Every way an explainer's series change one at a time (the admin's and the publishing
    # service's taggit calls, a revert, a fixture) saves or deletes a SeriesItem; bulk
    # writes (the importer) refresh what they wrote themselves.
    member = Explainer.objects.filter(pk=instance.content_object_id)
    member.refresh_lead_series()
    cards_refresh(member)


@receiver(post_save, sender=Series, dispatch_uid="lead_series_renamed")
def refresh_lead_series_of_members(sender, instance, created, **kwargs):
    # A new name may change which of its members' series comes first, and their cards show
    # its name and link to its slug.
    if not created:
        members = Explainer.objects.filter(series=instance)
        members.refresh_lead_series()
        cards_refresh(members)


# The cards stored on explainers (services.cards) follow every save of what they show; bulk
# writes (the importer, fixtures, renditions made) refresh the cards they changed themselves.
CARD_FIELDS = {"title", "slug", "excerpt", "reading_time", "category", "hero", "lead_series"}
HERO_CARD_FIELDS = set(SHOWN_HERO_FIELDS)


@receiver(post_save, sender=Explainer, dispatch_uid="cards_explainer_saved")
def refresh_saved_card(sender, instance, update_fields, **kwargs):
    if update_fields is None or CARD_FIELDS & set(update_fields):
        cards_refresh(Explainer.objects.filter(pk=instance.pk))


@receiver(post_save, sender=HeroImage, dispatch_uid="cards_hero_saved")
def refresh_cards_of_hero(sender, instance, created, raw, update_fields, **kwargs):
    # (A fixture may hold an explainer before its hero.)
    if (raw or not created) and (update_fields is None or HERO_CARD_FIELDS & set(update_fields)):
        cards_refresh(Explainer.objects.filter(hero=instance))


@receiver(post_save, dispatch_uid="content_saved")
@receiver(post_delete, dispatch_uid="content_deleted")
@receiver(m2m_changed, sender=SeriesItem, dispatch_uid="series_changed")
def refresh_cached_pages(sender, **kwargs):
    # Every write to the content, from the admin, a revert or a fixture, reaches readers on
    # the next request. Bulk writes (imports, bulk actions, reordering) call it themselves.
    if sender in CONTENT_MODELS:
        content_changed()


# The live counts on categories and series (services.counts) follow every save, fixtures
# loaded raw included; bulk writes (the importer, bulk publishing) count again themselves.


@receiver(pre_save, sender=Explainer, dispatch_uid="counts_explainer_saving")
def note_counted_state(sender, instance, **kwargs):
    instance._counted_before = counted_state(instance.pk)


@receiver(post_save, sender=Explainer, dispatch_uid="counts_explainer_saved")
def count_saved_explainer(sender, instance, **kwargs):
    live_counts_after_save(explainer=instance, before=instance.__dict__.pop("_counted_before"))


@receiver(post_delete, sender=Explainer, dispatch_uid="counts_explainer_deleted")
def count_deleted_explainer(sender, instance, **kwargs):
    # Its series items went first (a cascade), each taking itself off its series' count.
    if instance.is_live():
        live_counts_refresh(category_ids=[instance.category_id])


@receiver(post_save, sender=SeriesItem, dispatch_uid="counts_series_item_saved")
def count_series_item(sender, instance, created, raw, **kwargs):
    if raw:
        # A fixture's series may come with the count it was dumped with: count it again.
        live_counts_refresh(series_ids=[instance.tag_id])
    elif created:
        series_count_step(item=instance, step=1)


@receiver(post_delete, sender=SeriesItem, dispatch_uid="counts_series_item_deleted")
def count_deleted_series_item(sender, instance, **kwargs):
    series_count_step(item=instance, step=-1)


@receiver(post_save, sender=Category, dispatch_uid="counts_category_loaded")
def count_loaded_category(sender, instance, raw, **kwargs):
    # A fixture's category may come with the count it was dumped with (a move is counted
    # again by Category.save).
    if raw:
        live_counts_refresh(category_ids=[instance.pk])


@receiver(post_delete, sender=Category, dispatch_uid="counts_category_deleted")
def count_deleted_category(sender, instance, **kwargs):
    Category.objects.filter(pk=instance.parent_id).recount_subcategories()


# Site search's index follows every save of what it holds (services.search_index), fixtures
# loaded raw included: a series item saved after its explainer re-indexes the explainer (a
# fixture's words are counted in the vocabulary by the first search that needs it). Bulk
# writes (the importer, bulk publishing) refresh the rows they wrote themselves.


@receiver(post_save, sender=Explainer, dispatch_uid="search_explainer_saved")
def index_saved_explainer(sender, instance, using, raw, **kwargs):
    search_index_refresh(explainer_ids=[instance.pk], using=using, count_words=not raw)


@receiver(pre_delete, sender=Explainer, dispatch_uid="search_explainer_deleted")
def unindex_deleted_explainer(sender, instance, using, **kwargs):
    search_index_remove(explainer_ids=[instance.pk], using=using)


@receiver(m2m_changed, sender=SeriesItem, dispatch_uid="search_series_changed")
def index_series_change(sender, instance, action, pk_set, using, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if isinstance(instance, Explainer):
        search_index_refresh(explainer_ids=[instance.pk], using=using)
    elif pk_set:
        search_index_refresh(explainer_ids=pk_set, using=using)


@receiver(post_save, sender=SeriesItem, dispatch_uid="search_series_item_saved")
def index_series_item(sender, instance, using, raw, **kwargs):
    search_index_refresh(
        explainer_ids=[instance.content_object_id], using=using, count_words=not raw
    )


def _named_fields_changed(update_fields, *names) -> bool:
    return update_fields is None or bool(set(update_fields) & set(names))


@receiver(post_save, sender=Category, dispatch_uid="search_category_saved")
def index_category_explainers(sender, instance, created, using, update_fields, **kwargs):
    if not created and _named_fields_changed(update_fields, "name"):
        ids = Explainer.objects.using(using).filter(category=instance).values_list("pk", flat=True)
        search_index_refresh(explainer_ids=ids, using=using)


@receiver(post_save, sender=Series, dispatch_uid="search_series_saved")
def index_series_members(sender, instance, created, using, update_fields, **kwargs):
    if not created and _named_fields_changed(update_fields, "name"):
        ids = SeriesItem.objects.using(using).filter(tag=instance)
        search_index_refresh(
            explainer_ids=ids.values_list("content_object_id", flat=True), using=using
        )


@receiver(pre_delete, sender=Series, dispatch_uid="search_series_deleting")
def note_series_members(sender, instance, using, **kwargs):
    members = SeriesItem.objects.using(using).filter(tag=instance)
    instance._search_members = list(members.values_list("content_object_id", flat=True))


@receiver(post_delete, sender=Series, dispatch_uid="search_series_deleted")
def index_former_series_members(sender, instance, using, **kwargs):
    search_index_refresh(explainer_ids=getattr(instance, "_search_members", []), using=using)


@receiver(post_save, sender=HeroImage, dispatch_uid="search_hero_saved")
def index_hero_explainers(sender, instance, created, using, update_fields, **kwargs):
    if not created and _named_fields_changed(update_fields, "alt_text"):
        ids = Explainer.objects.using(using).filter(hero=instance).values_list("pk", flat=True)
        search_index_refresh(explainer_ids=ids, using=using)
