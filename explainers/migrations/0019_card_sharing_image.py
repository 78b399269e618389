from django.db import migrations, models


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
    ]
