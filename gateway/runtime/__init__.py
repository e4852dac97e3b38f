"""How gateway processes survive their own faults: killed workers, Redis and database
outages, graceful stops, and start-up without what they need.

- ``presence``: which worker processes live and which jobs they run, announced in Redis.
- ``recovery``: the jobs and locks of a dead worker handed back to the living ones.
- ``worker_loop``: ``gateway worker``'s run loop, which rides out Redis outages and
  stops gracefully.
- ``link``: one process's view of whether Redis answers, and the embedded Redis's healing.
- ``unavailable``: the errors that mean Redis or the database cannot be reached now.
- ``preflight``: the one-line start-up failure of every command.
- ``owner_death``: child processes (an owned embedded Redis) that die with their starter.
"""
