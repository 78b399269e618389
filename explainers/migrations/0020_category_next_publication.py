# When the first scheduled explainer in each category or under it comes out, kept with the
# live counts (explainers/services/counts.py), found here once for the rows already stored.

from django.db import migrations, models
from django.db.models import DateTimeField, Func, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat, Now


def find_next_publications(apps, schema_editor):
    Category = apps.get_model("explainers", "Category")
    Explainer = apps.get_model("explainers", "Explainer")
    under = Category.objects.filter(
        Q(pk=OuterRef(OuterRef("pk")))
        | Q(path__startswith=Concat(OuterRef(OuterRef("path")), Value("/")))
    ).values("pk")
    first = (
        Explainer.objects.filter(category__in=under, status="published", published_at__gt=Now())
        .order_by()
        .annotate(first=Func("published_at", function="MIN", output_field=DateTimeField()))
    )
    Category.objects.update(
        next_publication=Subquery(first.values("first"), output_field=DateTimeField())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("explainers", "0019_card_sharing_image"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="next_publication",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(find_next_publications, migrations.RunPython.noop),
    ]
