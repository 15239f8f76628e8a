"""The Django side of the cross-language test (client/tests/shared_sessions.rs):

    share.py create            makes a session with {"from": "django"} and prints its key
    share.py read-and-add KEY  prints the session's data as JSON, then adds {"django_saw": true}
"""

import json
import sys

import run  # noqa: F401,E402  (configures Django from VAREL_DJANGO_DSN)

from varel_session_django.backend import SessionStore

if sys.argv[1] == "create":
    session = SessionStore()
    session["from"] = "django"
    session.save()
    print(session.session_key)
else:
    session = SessionStore(sys.argv[2])
    print(json.dumps(dict(session.items()), sort_keys=True))
    session["django_saw"] = True
    session.save()
