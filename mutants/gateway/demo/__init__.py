"""``gateway demo``: the whole system on one machine, playing a realistic story.

The embedded Redis, a fresh SQLite database, the fake PeopleForce and fake Jira,
the API (uvicorn on a thread of this process) and one real ``gateway worker``
subprocess, wired together the way production is, then driven through faults and
checked for consistency at the end.
"""
