"""The web annotation UI: server-rendered Jinja2 pages plus one small vanilla JS file.

``templates/`` holds the pages (one partial per task type under ``templates/tasks/``),
``static/`` the script and the style sheet; ``routes.py`` the pages themselves. The
script talks to the JSON API under ``/api`` with the session cookie and CSRF token
(see ``labelwise.server.security``).
"""
