"""The admin routes: UI pages, the JSON API under ``/api/v1/admin`` and sign-in.

``main.install_admin`` wires them into the app; ``deps`` holds the dependencies
they share and explains how their database work stays off the event loop.
"""
