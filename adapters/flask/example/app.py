"""The example app of the shared contract (tests/examples/contract.py) on Flask: handlers use
Flask's ``session``, kept by the varel_session extension.

    DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/flask/example/run
"""

import os

from flask import Flask, jsonify, request, session
from psycopg_pool import ConnectionPool
from varel_session_flask import VarelSessionInterface

pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=2, max_size=20, open=True)
app = Flask(__name__)
app.session_interface = VarelSessionInterface(pool)
# Plain HTTP on loopback in this example; behind HTTPS, set SESSION_COOKIE_SECURE.
app.config["SESSION_COOKIE_SECURE"] = False


def unauthorized():
    return jsonify(error="not logged in"), 401


@app.post("/login")
def login():
    user_id = int(request.get_json()["user_id"])
    # Rotates the token (against session fixation) and ties the session to the user.
    session.log_in(user_id)
    return jsonify(user_id=user_id)


@app.get("/me")
def me():
    if session.user_id is None:
        return unauthorized()
    # Counted on the server in one update: concurrent requests never lose a visit.
    visits = session.incr("visits")
    if visits is None:
        return unauthorized()
    return jsonify(user_id=session.user_id, visits=visits)


@app.get("/sessions")
def sessions():
    if session.user_id is None:
        return unauthorized()
    with pool.connection() as connection:
        current = connection.execute("SELECT varel_session.session_handle(%s)", [session.token]).fetchone()[0]
        listing = connection.execute(
            "SELECT handle, extract(epoch FROM created_at)::bigint, host(ip), user_agent "
            "FROM varel_session.session_user_sessions(%s)", [session.user_id]).fetchall()
    return jsonify([
        {"handle": handle, "created_at": created, "ip": ip, "user_agent": agent,
         "current": handle == current}
        for handle, created, ip, agent in listing
    ])


@app.post("/logout")
def logout():
    session.log_out()
    return "", 204


@app.post("/logout-all")
def logout_all():
    if session.user_id is None:
        return unauthorized()
    with pool.connection() as connection:
        ended = connection.execute("SELECT varel_session.session_user_revoke(%s)", [session.user_id]).fetchone()[0]
    session.log_out()
    return jsonify(ended=ended)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "3000")), threaded=True)
