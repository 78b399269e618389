# Live counts kept on categories and series (explainers/services/counts.py), counted here
# once for the rows already stored.

from django.db import migrations, models
from django.db.models import Func, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat


def count(rows):
    counted = rows.order_by().annotate(n=Func(template="COUNT(*)", output_field=IntegerField()))
    return Subquery(counted.values("n"), output_field=IntegerField())


def count_live(apps, schema_editor):
    Category = apps.get_model("explainers", "Category")
    Explainer = apps.get_model("explainers", "Explainer")
    Series = apps.get_model("explainers", "Series")
    SeriesItem = apps.get_model("explainers", "SeriesItem")
    live = {"status": "published", "published_at__isnull": False}
    under = Category.objects.filter(
        Q(pk=OuterRef(OuterRef("pk")))
        | Q(path__startswith=Concat(OuterRef(OuterRef("path")), Value("/")))
    ).values("pk")
    Category.objects.update(live_count=count(Explainer.objects.filter(category__in=under, **live)))
    members = SeriesItem.objects.filter(
        tag=OuterRef("pk"), **{f"content_object__{lookup}": v for lookup, v in live.items()}
    )
    Series.objects.update(live_count=count(members))


class Migration(migrations.Migration):
    dependencies = [
        ("explainers", "0013_explainer_latest_edit"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="live_count",
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="series",
            name="live_count",
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_live, migrations.RunPython.noop),
    ]
