"""Writes of the assurance app, one module per area; every service is importable from here."""

from assurance.services.comparators import baseline_save, baselines_import_csv
from assurance.services.drift import STANDARD_RESPONSE, drift_signal_respond, drift_signals_update
from assurance.services.metrics import (
    BUILTIN_METRICS,
    PROCESS_MEASURES,
    assurance_settings_get,
    assurance_settings_update,
    metric_definitions_ensure,
    month_add,
    month_parse,
    month_window,
)
from assurance.services.records import (
    audit_population,
    audit_record_save,
    audit_sample_choose,
    audit_sample_draw,
    improvement_action_providers,
    improvement_action_raise,
    incident_create,
    incident_review,
)
from assurance.services.snapshots import assurance_snapshot_compute

__all__ = [
    "BUILTIN_METRICS",
    "PROCESS_MEASURES",
    "STANDARD_RESPONSE",
    "assurance_settings_get",
    "assurance_settings_update",
    "assurance_snapshot_compute",
    "audit_population",
    "audit_record_save",
    "audit_sample_choose",
    "audit_sample_draw",
    "baseline_save",
    "baselines_import_csv",
    "drift_signal_respond",
    "drift_signals_update",
    "improvement_action_providers",
    "improvement_action_raise",
    "incident_create",
    "incident_review",
    "metric_definitions_ensure",
    "month_add",
    "month_parse",
    "month_window",
]
