"""The admin side: the one implementation of every admin operation.

The JSON API, the UI, the CLI and the worker all call these modules, so an
operation answers alike wherever it is started. Split by concern:

* database work, each function taking an open session: ``domains``, ``rules``,
  ``audit``, ``dead_letters``, ``dashboard``, ``accounts``;
* what needs Redis, PeopleForce or Jira: ``actions`` (queue ticks, sweeps,
  replays), ``connection``, ``rule_checks``, ``preview``, ``catalog``, ``upstream``;
* shared pieces: ``schemas`` (what every surface validates with), ``errors``
  (the refusals), ``paging``, and ``offload``, the one seam where async code
  leaves the event loop for the database or argon2.
"""
