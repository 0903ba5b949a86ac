from django import forms
from django.contrib import admin, messages

from keys_app import crypto
from keys_app.models import PERMISSIONS, APIKey


class APIKeyForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=[(p, p) for p in PERMISSIONS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = APIKey
        fields = ["name", "permissions", "request_limit"]

    def clean_permissions(self):
        chosen = self.cleaned_data["permissions"]
        return [p for p in PERMISSIONS if p in chosen]


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    form = APIKeyForm
    list_display = ["name", "permission_list", "request_limit", "last_used_at", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "last_used_at"]

    @admin.display(description="permissions")
    def permission_list(self, api_key):
        return ", ".join(api_key.permissions)

    def save_model(self, request, api_key, form, change):
        if not change:
            secret = crypto.generate_secret()
            api_key.set_secret(secret)
            super().save_model(request, api_key, form, change)
            messages.warning(
                request,
                f"The secret of API key '{api_key.name}' is {secret} — copy it now, "
                "it is not shown on this page again.",
            )
            return
        super().save_model(request, api_key, form, change)
