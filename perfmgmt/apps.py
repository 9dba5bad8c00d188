from django.apps import AppConfig


class PerfmgmtConfig(AppConfig):
    name = "perfmgmt"
    verbose_name = "perfmgmt"
