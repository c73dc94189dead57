"""Prometheus metrics, one registry per app (so several apps in one process do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.request_seconds = Histogram("hazleads_request_seconds", "HTTP request latency (seconds) by route",
                                         ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.scoring_seconds = Histogram("hazleads_scoring_job_seconds", "scoring job duration (seconds) by trigger",
                                         ["trigger"], buckets=JOB_BUCKETS, registry=r)
        self.training_seconds = Histogram("hazleads_training_job_seconds", "training job duration (seconds)",
                                          ["status"], buckets=JOB_BUCKETS, registry=r)
        self.model_version = Gauge("hazleads_model_version", "version of the model in service (0: none)", ["kind"], registry=r)
        self.model_load_failures = Counter("hazleads_model_load_failures_total",
                                           "champion versions that failed to load (the previous one kept serving)",
                                           ["kind"], registry=r)
        self.tips_received = Counter("hazleads_tips_received_total", "tips received through the API", registry=r)
        self.outcomes_recorded = Counter("hazleads_outcomes_recorded_total", "outcomes recorded", ["outcome"], registry=r)
        self.db_unavailable = Counter("hazleads_database_unavailable_total", "requests answered 503: database down",
                                      registry=r)

    def set_model(self, kind: str, version: str | None) -> None:
        try:
            self.model_version.labels(kind).set(float(version) if version else 0.0)
        except ValueError:
            self.model_version.labels(kind).set(0.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
