"""Integrations: connector configuration, alert receivers (Alertmanager, PagerDuty) and completion webhooks."""
