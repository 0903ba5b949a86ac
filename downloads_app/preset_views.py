"""GET /presets: the presets a key may use (downloads_app/presets.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from downloads_app import presets, schema
from ytdlphost.schema import error_responses


class PresetListView(APIView):
    required_permission = None  # any valid key; each preset is shown to the keys that may use it

    @extend_schema(
        operation_id="presets",
        summary="The presets this key may use",
        description="Any valid key. The operator's named sets of request fields (defined in "
        "the admin or with `manage.py load_presets`), those whose task type's permission the "
        "key holds (a playlist's: its entries' type's), and `library` when the preset sets "
        "`library: true`; sorted by name. A task request names one as `preset`.",
        tags=["presets"],
        responses={200: schema.PresetListOutput, **error_responses(401)},
    )
    def get(self, request):
        usable = presets.usable_presets(request.user)
        return Response({"presets": [presets.preset_body(preset) for preset in usable]})
