from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from metrics.importing.schema import fields_for, formats_describe
from metrics.models import ImportKind


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,.txt,.xlsx"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(label=_("Export files"))
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("Recognise from the headers")), *ImportKind.choices],
    )
    store = forms.ModelChoiceField(
        label=_("Store"),
        queryset=None,
        required=False,
        empty_label=_("The file names its stores (店铺名称)"),
    )
    sheet = forms.CharField(
        label=_("Sheet"), required=False, max_length=120, help_text=_("XLSX only; empty: the first sheet.")
    )
    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows and skip invalid ones"),
        required=False,
        help_text=_("Unchecked: a file with any invalid row imports nothing, and every error is listed."),
    )

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted here, in the reader's language (a lazy string formatted in the class body is
        # frozen in the language of the moment the module was imported).
        self.fields["files"].help_text = _(
            "CSV (UTF-8 or GBK) or Excel .xlsx, up to %(mb)s MB each. Drop several at once."
        ) % {"mb": settings.IMPORT_MAX_FILE_MB}
        self.fields["store"].queryset = stores
        # The page's format help: each kind's columns, with a Chinese and an English header.
        self.formats = formats_describe()


class MappingForm(forms.Form):
    """One select per canonical field, offering the file's headers."""

    remember = forms.BooleanField(
        label=_("Remember this mapping for the store's next files"), required=False, initial=True
    )

    def __init__(self, *args, kind: str, headers: list[str], proposal: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in this file —")), *((h, h) for h in headers)]
        self.field_names = []
        for spec in fields_for(kind):
            name = f"field_{spec.name}"
            self.fields[name] = forms.ChoiceField(
                label=spec.label,
                choices=choices,
                required=spec.required,
                initial=proposal.get(spec.name, ""),
                help_text=_("Required") if spec.required else _("Optional"),
            )
            self.field_names.append(name)

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("field_"): self.cleaned_data[name] for name in self.field_names if self.cleaned_data[name]
        }

    def clean(self):
        cleaned = super().clean()
        chosen = [cleaned.get(n) for n in self.field_names if cleaned.get(n)]
        duplicates = sorted({h for h in chosen if chosen.count(h) > 1})
        if duplicates:
            raise forms.ValidationError(
                _("Each column can fill one field only: %(headers)s") % {"headers": ", ".join(duplicates)}
            )
        return cleaned
