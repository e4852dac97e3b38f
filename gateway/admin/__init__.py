"""The admin side: the one implementation of every admin operation.

The JSON API, the UI, the CLI and the worker all call these modules, so an
operation answers alike wherever it is started. Split by concern: ``domains``,
``rules``, ``audit``, ``dead_letters``, ``dashboard``, ``accounts`` (database
work, each function taking an open session); ``actions``, ``connection``,
``rule_checks``, ``preview``, ``catalog`` (what needs Redis, PeopleForce or
Jira); ``schemas`` (the models every surface validates with).
"""
