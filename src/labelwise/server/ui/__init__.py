"""The web annotation UI: server-rendered Jinja2 pages plus small vanilla JS modules.

``templates/`` holds the pages (one partial per task type under ``templates/tasks/``),
``static/`` the style sheet and the annotation page's ES modules (``static/js/``: the
API, the session, one view per task); ``routes.py`` the pages themselves. The script
talks to the JSON API under ``/api`` with the session cookie and CSRF token
(see ``labelwise.server.security``).
"""
