"""Background tasks (django-tasks; `manage.py db_worker` runs them from the database queue).

django-tasks does not retry a failed task by itself: ``make_renditions`` queues its own next
attempt, later each time, up to MAX_ATTEMPTS, and notes every failure on the heroes waiting
for it (the admin shows it) and in the log.
"""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from .services.cards import cards_render_outdated
from .services.renditions import renditions_failed, renditions_make, stale_crops_delete

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# Before the second attempt; doubled before each one after.
RETRY_DELAY = timedelta(minutes=1)
# Crops of an old focal point stay this long: pages and CDNs that cached their URLs still
# show them.
STALE_CROPS_KEPT = timedelta(days=1)


@task()
def make_renditions(original: str, key: str, attempt: int = 1) -> int:
    """Draw the renditions of one image file for one focal point; return how many were drawn."""
    try:
        drawn = renditions_make(original=original, key=key)
    except Exception as error:
        # Short enough that what follows it fits the field (and reads in the admin).
        reason = f"{type(error).__name__}: {error}"[:300]
        retrying = attempt < MAX_ATTEMPTS
        if retrying:
            problem = (
                f"Renditions failed: {reason}; retrying (attempt {attempt} of {MAX_ATTEMPTS})."
            )
        else:
            problem = f"Renditions failed after {MAX_ATTEMPTS} tries: {reason}."
        logger.error("%s Image %s, key %s.", problem, original, key)
        renditions_failed(original=original, key=key, problem=problem)
        if retrying:
            enqueue_later(
                make_renditions,
                RETRY_DELAY * 2 ** (attempt - 1),
                original=original,
                key=key,
                attempt=attempt + 1,
            )
        # Recorded as failed by the backend too (the db_worker logs it with its traceback).
        raise
    if drawn:
        enqueue_later(delete_stale_crops, STALE_CROPS_KEPT, original=original)
    return len(drawn)


@task()
def render_cards() -> int:
    """Store the cards marked out of date (more at once than a save renders itself)."""
    return cards_render_outdated()


@task()
def delete_stale_crops(original: str) -> int:
    """Delete the crops of an image drawn for focal points it no longer has."""
    return len(stale_crops_delete(original=original))


def enqueue_later(task_, delay: timedelta, **kwargs):
    """Queue ``task_`` to run after ``delay``; at once on a backend that cannot wait (the
    immediate backend the tests use)."""
    if task_.get_backend().supports_defer:
        task_ = task_.using(run_after=timezone.now() + delay)
    return task_.enqueue(**kwargs)
