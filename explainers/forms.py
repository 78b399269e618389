from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from taggit.forms import TagWidget

from .images import UploadRejected, prepared_upload
from .models import Explainer, HeroImage, Series


def series_from_string(text: str) -> list[str]:
    """Series names typed in the admin: only commas separate them ("MONA explainer" is one)."""
    return sorted({name.strip() for name in text.split(",") if name.strip()})


def series_to_string(series) -> str:
    return ", ".join(sorted(item.name for item in series))


class SeriesWidget(TagWidget):
    """The series as comma-separated tags, suggesting the series that already exist."""

    template_name = "admin/explainers/series_widget.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["list"] = f"{context['widget']['attrs']['id']}-suggestions"
        context["suggestions"] = Series.objects.values_list("name", flat=True)
        return context


class MarkdownWidget(forms.Textarea):
    """A Markdown textarea with a one-click preview rendered by the site's own sanitizer."""

    template_name = "admin/explainers/markdown_widget.html"

    class Media:
        js = ["explainers/admin/markdown-preview.js"]
        css = {"all": ["explainers/admin/admin.css"]}


class ExplainerAdminForm(forms.ModelForm):
    class Meta:
        model = Explainer
        fields = [
            "title", "slug", "category", "series", "excerpt", "body", "hero",
            "status", "published_at", "reading_time", "position",
        ]  # fmt: skip
        widgets = {
            "series": SeriesWidget(attrs={"size": 40}),
            "body": MarkdownWidget(attrs={"rows": 24}),
        }
        help_texts = {
            "reading_time": "Minutes. Leave empty to count it from the body "
            "(about 230 words a minute).",
            "series": "Comma-separated; start typing to pick an existing series.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "reading_time" in self.fields:
            self.fields["reading_time"].required = False

    def clean(self):
        cleaned = super().clean()
        body = cleaned.get("body", self.instance.body or "")
        minutes = cleaned.get("reading_time")
        if "reading_time" in self.fields and (minutes is None or self._reading_time_was_counted()):
            cleaned["reading_time"] = Explainer.estimated_reading_time(body)
        if cleaned.get("status") == Explainer.Status.PUBLISHED and not cleaned.get("published_at"):
            cleaned["published_at"] = timezone.now()
        return cleaned

    def _reading_time_was_counted(self) -> bool:
        # A time that matched the old body's count was counted, not chosen: count it again
        # when the body changes. A time the editor typed in stays as it is.
        return (
            self.instance.pk is not None
            and "body" in self.changed_data
            and "reading_time" not in self.changed_data
            and self.instance.reading_time
            == Explainer.estimated_reading_time(self.initial.get("body") or "")
        )


class HeroImageAdminForm(forms.ModelForm):
    class Meta:
        model = HeroImage
        fields = ["image", "alt_text", "caption", "credit"]
        help_texts = {
            "image": "JPEG, PNG, WebP or GIF; at most 10 MB and 40 megapixels.",
            "alt_text": "Say what the image shows and why it matters here, in a sentence; "
            "skip “image of”. Readers using screen readers hear this instead of seeing it.",
        }

    def clean_image(self):
        image = self.cleaned_data["image"]
        if isinstance(image, UploadedFile):
            try:
                cleaned = prepared_upload(image)
            except UploadRejected as error:
                raise ValidationError(str(error), code="invalid_image") from error
            if cleaned is not None:
                return cleaned
        return image

    def save(self, commit=True):
        if "image" in self.changed_data:
            # An editor's own file replaces the importer's placeholder for good.
            self.instance.is_placeholder = False
        return super().save(commit=commit)
