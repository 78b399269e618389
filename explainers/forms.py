from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from taggit.forms import TagWidget

from .drawing import UploadRejected, prepared_upload
from .health import content_problems, publish_refusal
from .models import FOCAL_FIELDS, WORDS_PER_MINUTE, Category, Explainer, HeroImage, Series
from .services.editing import (
    StaleToken,
    compare_edit,
    edit_token,
    read_edit_token,
    saved_by,
    saved_by_line,
)
from .services.publishing import can_publish

TOKEN_FIELD = "edit_token"
CONFLICT_CHOICE_PREFIX = "conflict_choice_"


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
    """The writing space: a wide Markdown textarea with a formatting toolbar, the word count
    and reading time as one types, a live preview rendered by the site's own renderer in the
    public page's stylesheet (ExplainerAdmin's preview views), and a picker that inserts
    images from the image library (when ``image_picker`` is set for the user)."""

    template_name = "admin/explainers/markdown_widget.html"
    # Set per form by ExplainerAdmin.get_form: may the user list, and add to, the library?
    image_picker = False
    image_upload = False

    class Media:
        js = ["explainers/admin/writing-space.js"]
        css = {"all": ["explainers/admin/writing-space.css"]}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        # The reading time counted as one types follows Explainer.estimated_reading_time.
        context.update(
            words_per_minute=WORDS_PER_MINUTE,
            image_picker=self.image_picker,
            image_upload=self.image_upload,
        )
        return context


class StaleSafeForm(forms.ModelForm):
    """A change form that is never saved blindly over someone else's newer save.

    It carries the edit token of what it was loaded from (services.editing). On submission,
    fields only others changed since keep their values (``merge_note`` says so); fields both
    changed are a conflict: the form is refused with the user's input kept, ``conflicts``
    lists both values, and the token moves on to the current version, so that the next
    submission saves what the user chose.

    ``user`` (set by the admin on the form class) and ``restored_data`` (a form's raw input,
    from autosave) or ``restored_initial`` (field values, from a revision) are class
    attributes the admin sets per request.
    """

    edit_token = forms.CharField(widget=forms.HiddenInput, required=False)

    user = None
    restored_data = None
    restored_initial = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.merge_note = ""
        self.conflicts = []
        if self.instance.pk is not None:
            self.initial[TOKEN_FIELD] = edit_token(
                version=self.instance.version, values=self.values_of(self.instance)
            )
        if not self.is_bound:
            if self.restored_data is not None:
                self.initial.update(self.initial_from_data(self.restored_data))
            if self.restored_initial is not None:
                self.initial.update(
                    {k: v for k, v in self.restored_initial.items() if k in self.fields}
                )

    def tracked_fields(self) -> list[str]:
        """The model's fields on this form (the token and any note fields are not)."""
        names = {field.name for field in self._meta.model._meta.get_fields()}
        return [name for name in self.fields if name in names]

    def value_of(self, instance, name):
        """A field's value on ``instance``, in the form the comparison and cleaned_data use."""
        return getattr(instance, name)

    def values_of(self, instance) -> dict:
        return {name: self.value_of(instance, name) for name in self.tracked_fields()}

    def current(self):
        """The record as it is now, locked until the save commits (so nobody saves between
        this comparison and ours)."""
        return (
            self._meta.model.objects.select_for_update(of=("self",))
            .select_related("changed_by")
            .get(pk=self.instance.pk)
        )

    def initial_from_data(self, data: MultiValueDict) -> dict:
        """Initial values from a form's raw submission, as each widget reads it."""
        return {
            name: field.widget.value_from_datadict(data, MultiValueDict(), self.add_prefix(name))
            for name, field in self.fields.items()
            if not isinstance(field, forms.FileField)
        }

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self.instance.pk is not None and not self._errors:
            self._check_for_newer_saves()

    def _check_for_newer_saves(self):
        try:
            token = read_edit_token(self.data.get(self.add_prefix(TOKEN_FIELD), ""))
        except StaleToken as problem:
            self.add_error(None, f"{problem} Reload the page; your input below is kept.")
            return
        current = self.current()
        now = self.values_of(current)
        self._apply_conflict_choices(now)
        submitted = {name: self.cleaned_data.get(name) for name in now}
        comparison = compare_edit(token=token, submitted=submitted, current=now)
        if comparison.conflicts:
            self.conflicts = [
                {
                    "name": name,
                    "label": self.fields[name].label or name,
                    "yours": self._shown(name, submitted[name]),
                    "theirs": self._shown(name, now[name]),
                }
                for name in comparison.conflicts
            ]
            labels = ", ".join(c["label"].lower() for c in self.conflicts)
            # The next submission is made knowing the current version.
            self.data = self.data.copy()
            self.data[self.add_prefix(TOKEN_FIELD)] = edit_token(
                version=current.version, values=now
            )
            self.add_error(
                None,
                f"{saved_by(current)} saved changes to the same fields since you opened this "
                f"form ({labels}); nothing was saved. Your text is kept below: for each "
                "field, keep yours or take theirs, then save again.",
            )
            return
        merged = comparison.merged
        for name in merged:
            self._take(name, now[name])
        if merged:
            labels = [str(self.fields[name].label or name).lower() for name in merged]
            self.merge_note = saved_by_line(current, labels)
        self.instance.version = current.version
        # What the save really changes, for the history message ("Changed title").
        self.__dict__["changed_data"] = sorted(
            comparison.changed_by_user - set(comparison.conflicts)
        )

    def _apply_conflict_choices(self, now: dict) -> None:
        """After a conflict, "take theirs" for a field replaces the user's value with it."""
        for name in now:
            if self.data.get(CONFLICT_CHOICE_PREFIX + name) == "theirs":
                self._take(name, now[name])

    def _take(self, name, value) -> None:
        """Use ``value`` for field ``name`` instead of what the user sent."""
        self.cleaned_data[name] = value
        model_field = self._meta.model._meta.get_field(name)
        if model_field.concrete:  # many-to-many values (series) are saved from cleaned_data
            model_field.save_form_data(self.instance, value)

    def _shown(self, name, value) -> str:
        """A value as a person reads it in the conflict table."""
        if isinstance(value, (list, tuple)):
            return ", ".join(str(item) for item in value)
        field = self.fields[name]
        if isinstance(field, forms.ModelChoiceField):
            if value in (None, ""):
                return "—"
            if not hasattr(value, "pk"):
                value = field.queryset.filter(pk=value).first()
            return str(value) if value is not None else "—"
        if isinstance(field, forms.TypedChoiceField | forms.ChoiceField):
            return str(dict(field.choices).get(value, value))
        return "—" if value in (None, "") else str(value)


class ExplainerAdminForm(StaleSafeForm):
    class Meta:
        model = Explainer
        fields = [
            "title", "slug", "category", "series", "excerpt", "body", "hero",
            "status", "published_at", "reading_time",
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

    review_note = forms.CharField(
        label="Comment for the author",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to request changes: what should change, and why.",
    )

    # Set by ExplainerAdmin.get_form for the user: the body's image picker and its upload link.
    image_picker = False
    image_upload = False

    # The publish step's health check (explainers.health). The page lists the problems, and
    # the codes of the warnings it listed come back with the form: ticking the box
    # acknowledges those warnings and no others (not one that an edit made since).
    ACKNOWLEDGE = "acknowledge_warnings"
    SHOWN_WARNINGS = "shown_warnings"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.was_live = self.instance.pk is not None and self.instance.is_live()
        self.health_problems = None  # set when a submission publishes
        self.health_refusal = ""  # why it was not published (the admin's message says it)
        self.acknowledged_warnings: set[str] = set()
        if "reading_time" in self.fields:
            self.fields["reading_time"].required = False
        if "body" in self.fields and isinstance(self.fields["body"].widget, MarkdownWidget):
            self.fields["body"].widget.image_picker = self.image_picker
            self.fields["body"].widget.image_upload = self.image_upload
        if "series" in self.fields and not self.is_bound:
            self.initial["series"] = ", ".join(self.instance.working_series())
            if self.restored_initial and "series" in self.restored_initial:
                self.initial["series"] = ", ".join(self.restored_initial["series"])

    def value_of(self, instance, name):
        if name == "series":
            return instance.working_series()
        return super().value_of(instance, name)

    def current(self):
        return super().current().show_pending()

    def clean_series(self):
        names = self.cleaned_data["series"]
        if self.user is None or self.user.has_perm("explainers.add_series"):
            return names
        known = {name.casefold() for name in Series.objects.values_list("name", flat=True)}
        new = [name for name in names if name.casefold() not in known]
        if new:
            raise ValidationError(
                f"No series is called {', '.join(f'“{name}”' for name in new)}; pick an "
                "existing series, or ask an editor to create it."
            )
        return names

    def clean(self):
        cleaned = super().clean()
        body = cleaned.get("body", self.instance.body or "")
        minutes = cleaned.get("reading_time")
        if "reading_time" in self.fields and (minutes is None or self._reading_time_was_counted()):
            cleaned["reading_time"] = Explainer.estimated_reading_time(body)
        if cleaned.get("status") == Explainer.Status.PUBLISHED and not cleaned.get("published_at"):
            cleaned["published_at"] = timezone.now()
        if "_request_changes" in self.data and not cleaned.get("review_note", "").strip():
            self.add_error("review_note", "Say what should change: the author reads this.")
        return cleaned

    def full_clean(self):
        # After the merge with others' saves (StaleSafeForm): what is checked is what is saved.
        super().full_clean()
        if self.is_bound and not self._errors and self.publishes():
            self._check_health()

    def publishes(self) -> bool:
        """Whether saving this puts content before readers: an editor approving, publishing
        pending changes, or publishing or scheduling a draft through its status."""
        if self.user is None or not can_publish(self.user):
            return False  # the step itself is refused (ExplainerAdmin.save_model)
        if "_approve" in self.data:
            return True
        if "_publish_changes" in self.data:
            content = {*Explainer.CONTENT_FIELDS, "series"}
            return self.instance.pending is not None or bool(content & set(self.changed_data))
        return not self.was_live and self.instance.is_live()

    def _check_health(self):
        if self.instance.pk is None or {"_approve", "_publish_changes"} & set(self.data):
            content, body_html = self.instance.content([]), None
        else:
            # A draft published through its status: readers get its row as it is (edits
            # made in the same save wait as pending changes; see services.explainer_save).
            row = Explainer.objects.get(pk=self.instance.pk)
            content, body_html = row.content([]), row.body_html
        self.health_problems = content_problems(content, body_html=body_html)
        if self.data.get(self.ACKNOWLEDGE):
            self.acknowledged_warnings = set(self.data.get(self.SHOWN_WARNINGS, "").split())
        self.health_refusal = publish_refusal(self.health_problems, self.acknowledged_warnings)
        if self.health_refusal:
            self.add_error(
                None, "Nothing was saved or published: see “Before publishing”, by the buttons."
            )

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


class CategoryAdminForm(StaleSafeForm):
    class Meta:
        model = Category
        fields = ["name", "slug", "parent", "description"]


class SeriesAdminForm(StaleSafeForm):
    class Meta:
        model = Series
        fields = ["name", "slug"]


# The admin's focal point editor (static/explainers/admin/focal-point.js) sets hundredths,
# and the arrow keys step by one.
FOCAL_INPUT = {"step": "0.01", "min": "0", "max": "1", "inputmode": "decimal"}


class HeroImageAdminForm(StaleSafeForm):
    class Meta:
        model = HeroImage
        fields = ["image", "alt_text", "caption", "credit", *FOCAL_FIELDS]
        labels = {
            "focal_x": "Subject, across",
            "focal_y": "Subject, down",
            "focal_width": "Subject box, width",
            "focal_height": "Subject box, height",
        }
        help_texts = {
            "image": "JPEG, PNG, WebP or GIF; at most 10 MB and 40 megapixels.",
            "alt_text": "Say what the image shows and why it matters here, in a sentence; "
            "skip “image of”. Readers using screen readers hear this instead of seeing it.",
            "focal_x": "0 is the left edge, 1 the right edge. Empty: the centre of the image.",
            "focal_y": "0 is the top edge, 1 the bottom edge.",
            "focal_width": "Optional: how much of the image's width the subject takes up; "
            "crops keep all of it in the frame when they can.",
            "focal_height": "Optional: the same, of the image's height.",
        }
        widgets = {name: forms.NumberInput(attrs=FOCAL_INPUT) for name in FOCAL_FIELDS}

    def clean(self):
        cleaned = super().clean()
        x, y, width, height = (cleaned.get(name) for name in FOCAL_FIELDS)
        if (x is None) != (y is None):
            self.add_error(
                "focal_x" if x is None else "focal_y",
                "Give both numbers of the focal point, or neither (the centre).",
            )
        if not width and not height:
            # A box of no size is no box.
            cleaned["focal_width"] = cleaned["focal_height"] = width = height = None
        elif not width or not height:
            self.add_error(
                "focal_width" if not width else "focal_height",
                "Give the box both a width and a height, or neither.",
            )
        elif x is None or y is None:
            self.add_error("focal_width", "A box needs its centre: set the subject too.")
        elif (
            min(x - width / 2, y - height / 2) < -1e-4
            or max(x + width / 2, y + height / 2) > 1 + 1e-4
        ):
            self.add_error(
                "focal_width",
                "The box reaches past the edge of the image: make it smaller, or move its centre.",
            )
        for name in FOCAL_FIELDS:
            if cleaned.get(name) is not None:
                # One spelling per focal point: the renditions key is made from it.
                cleaned[name] = round(cleaned[name], 4)
        return cleaned

    def clean_image(self):
        image = self.cleaned_data["image"]
        if isinstance(image, UploadedFile):
            try:
                return prepared_upload(image)
            except UploadRejected as error:
                raise ValidationError(str(error), code="invalid_image") from error
        return image

    def save(self, commit=True):
        if isinstance(self.files.get(self.add_prefix("image")), UploadedFile):
            self.instance.original_filename = self.files[self.add_prefix("image")].name[:255]
        if "image" in self.changed_data:
            # An editor's own file replaces the importer's placeholder for good.
            self.instance.is_placeholder = False
        return super().save(commit=commit)
