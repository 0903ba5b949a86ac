from keys_app.checks import admin_api_key_is_long_enough


def test_a_short_admin_api_key_is_reported(settings):
    settings.ADMIN_API_KEY = "fifteen-chars.."
    (warning,) = admin_api_key_is_long_enough(None)
    assert warning.id == "ytdlphost.W001"
    assert "shorter than 16 characters" in warning.msg


def test_a_long_enough_admin_api_key_is_fine(settings):
    settings.ADMIN_API_KEY = "sixteen-chars..."
    assert admin_api_key_is_long_enough(None) == []
