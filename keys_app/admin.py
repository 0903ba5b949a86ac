from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm

from keys_app import crypto, login_throttle
from keys_app.models import PERMISSIONS, APIKey


class APIKeyForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=[(p, p) for p in PERMISSIONS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = APIKey
        fields = ["name", "permissions", "request_limit", "quota_bytes", "webhook_url"]

    def clean_permissions(self):
        chosen = self.cleaned_data["permissions"]
        return [p for p in PERMISSIONS if p in chosen]


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    form = APIKeyForm
    list_display = [
        "name", "permission_list", "request_limit", "quota_bytes", "last_used_at", "created_at",
    ]  # fmt: skip
    search_fields = ["name"]
    readonly_fields = ["created_at", "last_used_at"]
    actions = ["rotate_webhook_secret"]

    @admin.display(description="permissions")
    def permission_list(self, api_key):
        return ", ".join(api_key.permissions)

    @admin.action(description="Rotate the webhook signing secret of the selected keys")
    def rotate_webhook_secret(self, request, queryset):
        for api_key in queryset:
            webhook_secret = api_key.rotate_webhook_secret()
            messages.warning(
                request,
                f"The new webhook signing secret of API key '{api_key.name}' is "
                f"{webhook_secret} — give it to the receiver; /get_key shows it too.",
            )

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


class ThrottledLoginForm(AdminAuthenticationForm):
    """The admin's login form, refusing to check passwords for a username or an address
    that failed too often (keys_app/login_throttle.py)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()  # nothing is checked: the form reports what is missing
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        attempt = login_throttle.begin_attempt(username, address)
        cleaned_data = super().clean()  # raises on a wrong password: the failure stays
        login_throttle.attempt_succeeded(attempt)
        return cleaned_data


admin.site.login_form = ThrottledLoginForm
