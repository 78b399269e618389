"""Dense positions: 0, 1, 2, … in each category's listing and among each parent's categories.

Until now a new explainer got position 0 (and landed second), and positions could tie or
skip. Each listing is renumbered in the order it showed: by (position, pk) for explainers,
by (position, name, pk) for categories, as the site and the admin ordered them. The fields
lose their default of 0: saving a record without a position puts it at the end.
"""

from django.db import migrations, models


def renumber(rows, group):
    """Dense positions for ``rows`` (ordered by group, then listing order)."""
    changed, numbers = [], {}
    for row in rows:
        key = getattr(row, group)
        position = numbers.get(key, 0)
        numbers[key] = position + 1
        if row.position != position:
            row.position = position
            changed.append(row)
    return changed


def dense_positions(apps, schema_editor):
    Explainer = apps.get_model("explainers", "Explainer")
    Category = apps.get_model("explainers", "Category")
    explainers = Explainer.objects.order_by("category_id", "position", "pk").only(
        "pk", "category_id", "position"
    )
    Explainer.objects.bulk_update(renumber(explainers, "category_id"), ["position"], 500)
    # Top-level categories (no parent) first: NULL sorts differently on each database.
    categories = sorted(
        Category.objects.only("pk", "parent_id", "position", "name"),
        key=lambda c: (c.parent_id is not None, c.parent_id or 0, c.position, c.name, c.pk),
    )
    Category.objects.bulk_update(renumber(categories, "parent_id"), ["position"], 500)


class Migration(migrations.Migration):
    dependencies = [("explainers", "0007_body_images")]

    operations = [
        migrations.RunPython(dense_positions, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="category",
            name="position",
            field=models.PositiveIntegerField(
                blank=True, default=None, editable=False, help_text="Order among its siblings."
            ),
        ),
        migrations.AlterField(
            model_name="explainer",
            name="position",
            field=models.PositiveIntegerField(
                blank=True,
                default=None,
                editable=False,
                help_text="Order in its category's listing.",
            ),
        ),
    ]
