"""Indexes that serve readers' listings in their order, whatever the number of explainers.

Partial indexes over the published rows (status "published"): a category's listing by
(category, position, id), which its page, previous/next and related explainers read, with the
publication time readers also need, so that counts are read from the index alone; the latest
by (published_at descending, id), for the home page and the feeds. Series members by (series,
explainer), read from the index alone for a series' page and feed.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("explainers", "0008_dense_positions")]

    operations = [
        migrations.AddIndex(
            model_name="explainer",
            index=models.Index(
                condition=models.Q(("status", "published")),
                fields=["category", "position", "id", "published_at"],
                name="explainer_listing_published",
            ),
        ),
        migrations.AddIndex(
            model_name="explainer",
            index=models.Index(
                condition=models.Q(("status", "published")),
                fields=["-published_at", "id"],
                name="explainer_latest_published",
            ),
        ),
        migrations.AddIndex(
            model_name="seriesitem",
            index=models.Index(fields=["tag", "content_object"], name="series_item_members"),
        ),
    ]
