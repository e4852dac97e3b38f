"""Prometheus metrics of the gateway, defined once per process in the default registry.

Every part of the gateway adds its metrics here so names stay unique and easy to find.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# -- webhook ingress (gateway.api.webhooks) -------------------------------------------------

WEBHOOKS_ACCEPTED = Counter(
    "gateway_webhooks_accepted",
    "Jira webhook deliveries verified and queued for a worker.",
)
WEBHOOKS_REJECTED = Counter(
    "gateway_webhooks_rejected",
    "Jira webhook deliveries refused (bad signature, too large, bad payload), by reason.",
    ["reason"],
)
WEBHOOKS_IGNORED = Counter(
    "gateway_webhooks_ignored",
    "Verified Jira webhook deliveries the gateway does not act on, by reason.",
    ["reason"],
)
WEBHOOK_DUPLICATES = Counter(
    "gateway_webhook_duplicates",
    "Jira webhook deliveries already seen (same identifier or body), answered without queuing.",
)
WEBHOOKS_ENQUEUE_FAILURES = Counter(
    "gateway_webhooks_enqueue_failures",
    "Verified Jira webhook deliveries answered 503 because Redis could not record or queue them.",
)

# -- forward ticks and sweeps (gateway.worker) ---------------------------------------------

TICKS = Counter(
    "gateway_ticks",
    "Forward ticks run, by domain and outcome (ok, failed, skipped when one already ran).",
    ["domain", "outcome"],
)
TICK_DURATION = Histogram(
    "gateway_tick_duration_seconds",
    "Wall time of one forward tick, by domain.",
    ["domain"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
SYNC_ACTIONS = Counter(
    "gateway_sync_actions",
    "What ticks did to tasks (created, updated, completed, dropped, ...), by domain.",
    ["domain", "action"],
)
SWEEPS = Counter(
    "gateway_sweeps", "Zombie sweeps run, by domain and outcome.", ["domain", "outcome"]
)
SWEEP_CAPPED = Counter(
    "gateway_sweep_capped",
    "Sweeps that stopped at their page cap (their window did not advance), by domain.",
    ["domain"],
)
SWEEP_REPAIRED = Counter(
    "gateway_sweep_repaired",
    "Tasks the sweeper completed because their webhook was lost, by domain.",
    ["domain"],
)
INBOUND_OUTCOMES = Counter(
    "gateway_inbound_outcomes",
    "Webhook jobs by result (completed, already_agrees, not_tracked, ...), by domain.",
    ["domain", "outcome"],
)
DEAD_LETTERS = Counter(
    "gateway_dead_letters",
    "Work items that failed permanently and were dead-lettered, by domain and operation.",
    ["domain", "operation"],
)

# -- upstream calls (gateway.clients) ------------------------------------------------------

UPSTREAM_REQUESTS = Counter(
    "gateway_upstream_requests",
    "HTTP attempts to PeopleForce and Jira, by service, endpoint template and status "
    "('error' when no response arrived).",
    ["service", "endpoint", "status"],
)
UPSTREAM_RETRIES = Counter(
    "gateway_upstream_retries",
    "Retries of upstream calls, by service and the status that caused them.",
    ["service", "status"],
)
UPSTREAM_RATE_LIMITED = Counter(
    "gateway_upstream_rate_limited",
    "429 answers received from upstream, by service.",
    ["service"],
)
UPSTREAM_BACKOFF_SECONDS = Counter(
    "gateway_upstream_backoff_seconds",
    "Total time spent waiting before retries, by service.",
    ["service"],
)

# -- Jira rate window (gateway.clients.rate_window), per worker process ---------------------

JIRA_WINDOW_SLOTS = Gauge(
    "gateway_jira_window_slots",
    "Requests the adaptive window lets be in flight to a Jira site now, by site host.",
    ["site"],
)
JIRA_PACE_PER_SECOND = Gauge(
    "gateway_jira_pace_per_second",
    "Requests per second the pacer lets leave for a Jira site now, by site host and kind "
    "of limit (read: GET/POST, write: PUT/DELETE); absent until the site states its limit.",
    ["site", "kind"],
)

# -- ARQ jobs (gateway.worker) -------------------------------------------------------------

JOBS = Counter(
    "gateway_jobs",
    "ARQ jobs finished by this worker, by function and outcome (ok, retry, failed).",
    ["function", "outcome"],
)
JOBS_RUNNING = Gauge("gateway_jobs_running", "ARQ jobs running in this process now.")
JOBS_QUEUED = Gauge(
    "gateway_jobs_queued",
    "Jobs waiting in the ARQ queue (including deferred retries), sampled when scraped.",
)
JOB_DURATION = Histogram(
    "gateway_job_duration_seconds",
    "Wall time of ARQ jobs, by function.",
    ["function"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
NOTIFICATIONS = Counter(
    "gateway_notifications",
    "Alerts to the chat webhook, by kind and outcome (sent, suppressed, failed).",
    ["kind", "outcome"],
)

# -- state read from the database when /metrics is scraped (gateway.observe) ---------------

DEAD_LETTERS_OPEN = Gauge(
    "gateway_dead_letters_open",
    "Dead letters neither replayed nor discarded, by domain.",
    ["domain"],
)
SYNC_LAG_SECONDS = Gauge(
    "gateway_sync_lag_seconds",
    "Age of the oldest unsynced change: the oldest pending create, or the time since the "
    "domain's last successful tick, whichever is larger; by domain.",
    ["domain"],
)
LAST_TICK_AGE_SECONDS = Gauge(
    "gateway_last_tick_age_seconds", "Seconds since the domain's last tick started.", ["domain"]
)
CONSECUTIVE_TICK_FAILURES = Gauge(
    "gateway_consecutive_tick_failures", "Ticks failed in a row, by domain.", ["domain"]
)
BREAKER_OPEN = Gauge(
    "gateway_breaker_open",
    "1 while the domain's circuit breaker is open (credentials refused; no writes).",
    ["domain"],
)
WORKERS_ALIVE = Gauge(
    "gateway_workers_alive", "Workers whose heartbeat is in Redis (seen within its TTL)."
)
WORKER_HEARTBEAT_AGE_SECONDS = Gauge(
    "gateway_worker_heartbeat_age_seconds",
    "Seconds since the most recent worker heartbeat (absent: no worker seen).",
)
