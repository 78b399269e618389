# How many subcategories each category has, kept as they are added, moved and deleted
# (Category.save, explainers/signals.py), counted here once for the rows already stored.

from django.db import migrations, models
from django.db.models import Func, IntegerField, OuterRef, Subquery


def count_subcategories(apps, schema_editor):
    Category = apps.get_model("explainers", "Category")
    children = (
        Category.objects.filter(parent=OuterRef("pk"))
        .order_by()
        .annotate(n=Func(template="COUNT(*)", output_field=IntegerField()))
    )
    Category.objects.update(
        subcategory_count=Subquery(children.values("n"), output_field=IntegerField())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("explainers", "0020_category_next_publication"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="subcategory_count",
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_subcategories, migrations.RunPython.noop),
    ]
