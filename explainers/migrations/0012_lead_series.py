"""Each explainer's lead series (the first of its series by name, which its card shows), kept
on the row so that a listing joins it for the rows it shows: looked up per row in the query,
it was computed for every row an OFFSET skipped too."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_lead_series(apps, schema_editor):
    Explainer = apps.get_model("explainers", "Explainer")
    SeriesItem = apps.get_model("explainers", "SeriesItem")
    first = (
        SeriesItem.objects.filter(content_object=OuterRef("pk"))
        .order_by("tag__name", "tag_id")
        .values("tag_id")[:1]
    )
    Explainer.objects.update(lead_series=Subquery(first))


class Migration(migrations.Migration):
    dependencies = [("explainers", "0011_search_postgresql")]

    operations = [
        migrations.AddField(
            model_name="explainer",
            name="lead_series",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="explainers.series",
            ),
        ),
        migrations.RunPython(fill_lead_series, migrations.RunPython.noop, elidable=True),
    ]
