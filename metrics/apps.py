from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("KPIs")

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from metrics import signals  # noqa: F401 - connects the receivers

        # Every app's message templates (metrics/messages.py), before any page renders a message.
        autodiscover_modules("message_keys")

        # The change log (teams) shows values that are messages in the reader's language.
        from metrics.messages import message_render_if_message
        from teams.selectors.changes import change_value_renderer_register

        change_value_renderer_register(renderer=message_render_if_message)
