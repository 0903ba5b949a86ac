from rest_framework import exceptions, permissions


class HasEndpointPermission(permissions.BasePermission):
    """Requires a valid key that holds the view's `required_permission`.

    A view whose required_permission is None only needs a valid key (/status,
    /check_permissions). Views open to anyone set permission_classes = [] instead.
    """

    def has_permission(self, request, view):
        api_key = request.user
        if api_key is None:
            raise exceptions.NotAuthenticated("No API key provided")
        required = getattr(view, "required_permission", None)
        if required is None or api_key.allows(required):
            return True
        # The permission's name, so the key's owner knows what to ask for.
        raise exceptions.PermissionDenied(f"Insufficient permissions: needs {required}")
