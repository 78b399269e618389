# When a published explainer in a category (or under it) and in a series last changed, kept
# on the row with the live counts (explainers/services/counts.py); set here for the rows
# already stored.

from django.db import migrations, models
from django.db.models import Func, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat, Greatest, Now


def latest(rows):
    # MAX() as a plain function: an aggregate would group the rows, one result each.
    changed = rows.order_by().annotate(
        change=Func(
            Greatest("updated_at", "published_at"),
            function="MAX",
            output_field=models.DateTimeField(),
        )
    )
    return Subquery(changed.values("change"), output_field=models.DateTimeField())


def set_last_change(apps, schema_editor):
    Category = apps.get_model("explainers", "Category")
    Explainer = apps.get_model("explainers", "Explainer")
    Series = apps.get_model("explainers", "Series")
    published = Explainer.objects.filter(status="published", published_at__lte=Now())
    under = Category.objects.filter(
        Q(pk=OuterRef(OuterRef("pk")))
        | Q(path__startswith=Concat(OuterRef(OuterRef("path")), Value("/")))
    ).values("pk")
    Category.objects.update(last_change=latest(published.filter(category__in=under)))
    Series.objects.update(last_change=latest(published.filter(seriesitem__tag=OuterRef("pk"))))


class Migration(migrations.Migration):
    dependencies = [
        ("explainers", "0016_explainer_newest"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="last_change",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="series",
            name="last_change",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(set_last_change, migrations.RunPython.noop),
    ]
