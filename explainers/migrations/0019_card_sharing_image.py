from django.db import migrations, models


def mark_cards_out_of_date(apps, schema_editor):
    # Cards stored before this field have no sharing image: listings render them afresh
    # (with their heroes) until the worker or ``manage.py render_cards`` stores them again.
    apps.get_model("explainers", "Explainer").objects.update(card_version="")


class Migration(migrations.Migration):
    dependencies = [
        ("explainers", "0018_stored_cards"),
    ]

    operations = [
        migrations.AddField(
            model_name="explainer",
            name="card_sharing_image",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(mark_cards_out_of_date, migrations.RunPython.noop),
    ]
