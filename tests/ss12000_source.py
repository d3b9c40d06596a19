#!/usr/bin/env python3
"""A school administration system's SS 12000 v2.1 API, on loopback, for the sync tests and
scripts/bench-sync: the lists `narvaro sync` reads, in the standard's shape.

- OAuth 2.0 client credentials (RFC 6749 4.4): POST /token with the client id and secret by
  HTTP Basic gives a bearer token; every other call needs one (401 with the standard's
  Error otherwise). With --scope, a token request without exactly that scope is refused
  (400 invalid_scope, RFC 6749 5.2).
- HTTPS with --tls-cert and --tls-key; with --client-ca too, mutual TLS: a connection
  without a client certificate from that CA is refused in the handshake.
- GET /{organisations,persons,groups,duties,syllabuses,activities,calendarEvents}: `limit`,
  then `pageToken`, which carries the whole query and goes with nothing but `limit` (400
  otherwise); `meta.modified.after`; /calendarEvents requires `startTime.onOrAfter` and
  `startTime.onOrBefore`, as the standard does. A page holds at most --page records.
- GET /deletedEntities: `after`, `entities` (repeated), paged the same way.
- The data is a JSON file with the lists (each record with `meta.modified`) and
  `deleted`: [{"list": "persons", "id": ..., "at": RFC 3339}], read again whenever it
  changes. --die-after N ends the process after N list pages (a source that dies half-way).
- Every call's path and query is appended to --log, one line each.
"""

import argparse
import ssl
import base64
import json
import os
import secrets
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LISTS = ["organisations", "persons", "groups", "duties", "syllabuses", "activities", "calendarEvents"]
ENTITIES = {
    "Organisation": "organisations",
    "Person": "persons",
    "Group": "groups",
    "Duty": "duties",
    "Activity": "activitites",  # sic: the standard's DeletedEntities_data spells it so
    "CalendarEvent": "calendarEvents",
    "Syllabus": "syllabuses",
}


def instant(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


class Source:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.mtime = None
        self.data = {}
        self.tokens = set()
        self.pages = 0
        # the answer of each query, kept until the data changes: a page costs its own
        # records, not a scan of the whole list
        self.answers = {}

    def load(self):
        with self.lock:
            m = os.stat(self.args.data).st_mtime_ns
            if m != self.mtime:
                with open(self.args.data, encoding="utf-8") as f:
                    self.data = json.load(f)
                self.mtime = m
                self.answers = {}
                # instants read once, not once a query
                self.modified = {
                    name: [instant(r["meta"]["modified"]) if "meta" in r else None for r in rows]
                    for name, rows in self.data.items()
                    if name in LISTS
                }
                self.starts = [instant(r["startTime"]) for r in self.data.get("calendarEvents", [])]
            return self.data

    def select(self, name, query):
        rows = self.data.get(name, [])
        keep = [True] * len(rows)
        if "meta.modified.after" in query:
            after = instant(query["meta.modified.after"][0])
            keep = [k and m is not None and m > after for k, m in zip(keep, self.modified[name])]
        if name == "calendarEvents":
            lo, hi = instant(query["startTime.onOrAfter"][0]), instant(query["startTime.onOrBefore"][0])
            keep = [k and lo <= t <= hi for k, t in zip(keep, self.starts)]
        return [r for r, k in zip(rows, keep) if k]

    def answered(self, name, query, compute):
        key = (name, json.dumps(query, sort_keys=True))
        with self.lock:
            items = self.answers.get(key)
        if items is None:
            items = compute()
            with self.lock:
                self.answers[key] = items
        return items


def error(handler, status, code, message):
    body = json.dumps({"code": code, "message": message}).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    if status == 401:
        handler.send_header("WWW-Authenticate", "Bearer")
    handler.end_headers()
    handler.wfile.write(body)


def answer(handler, value):
    body = json.dumps(value, ensure_ascii=False).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def token_of(query, start):
    return base64.urlsafe_b64encode(json.dumps({"q": query, "at": start}).encode()).decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    source = None

    def log_message(self, *a):
        pass

    def record(self):
        if self.source.args.log:
            with open(self.source.args.log, "a", encoding="utf-8") as f:
                f.write(f"{self.command} {self.path}\n")

    def token_error(self, status, code):
        """The token endpoint's error answer (RFC 6749 5.2)."""
        body = json.dumps({"error": code}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="token"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return self.wfile.write(body)

    def do_POST(self):
        self.record()
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if urlsplit(self.path).path != "/token":
            return error(self, 404, "not_found", "no such resource")
        auth = self.headers.get("Authorization", "")
        want = base64.b64encode(f"{self.source.args.client_id}:{self.source.args.client_secret}".encode()).decode()
        if auth != f"Basic {want}":
            return self.token_error(401, "invalid_client")
        if self.source.args.scope and form.get("scope") != [self.source.args.scope]:
            return self.token_error(400, "invalid_scope")
        if form.get("grant_type") != ["client_credentials"]:
            return self.token_error(400, "unsupported_grant_type")
        token = secrets.token_urlsafe(24)
        self.source.tokens.add(token)
        answer(self, {"access_token": token, "token_type": "Bearer", "expires_in": 600})

    def do_GET(self):
        self.record()
        url = urlsplit(self.path)
        name = url.path.strip("/").split("/")[-1]
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.source.tokens:
            return error(self, 401, "unauthorized", "a bearer token from /token is needed")
        if name not in LISTS and name != "deletedEntities":
            return error(self, 404, "not_found", "no such resource")
        query = parse_qs(url.query)
        for key, values in query.items():
            if len(values) > 1 and key != "entities":
                return error(self, 400, "repeated_parameter", key)
        try:
            limit = int(query.get("limit", ["1000"])[0])
        except ValueError:
            return error(self, 400, "bad_limit", "limit is a whole number")
        limit = max(1, min(limit, self.source.args.page))
        start = 0
        if "pageToken" in query:
            others = [k for k in query if k not in ("pageToken", "limit")]
            if others:
                return error(self, 400, "page_token_with_filters", ", ".join(others))
            try:
                t = json.loads(base64.urlsafe_b64decode(query["pageToken"][0]))
            except Exception:
                return error(self, 400, "bad_page_token", "not a token of this server")
            query, start = t["q"], t["at"]
        self.source.pages += 1
        if self.source.args.die_after and self.source.pages > self.source.args.die_after:
            # the source dies half-way: the connection drops without an answer
            self.wfile.flush()
            os._exit(3)
        data = self.source.load()
        if name == "deletedEntities":
            return self.deleted(data, query, start, limit)
        if name == "calendarEvents" and not ("startTime.onOrAfter" in query and "startTime.onOrBefore" in query):
            return error(self, 400, "missing_parameter", "startTime.onOrAfter and startTime.onOrBefore are required")
        items = self.source.answered(name, query, lambda: self.source.select(name, query))
        page = items[start:start + limit]
        more = start + limit < len(items)
        answer(self, {"data": page, "pageToken": token_of(query, start + limit) if more else None})

    def deleted(self, data, query, start, limit):
        wanted = [ENTITIES[e] for e in query.get("entities", ENTITIES.keys()) if e in ENTITIES]
        rows = data.get("deleted", [])
        if "after" in query:
            after = instant(query["after"][0])
            rows = [r for r in rows if instant(r["at"]) > after]
        rows = [r for r in rows if r["list"] in wanted]
        page = rows[start:start + limit]
        out = {}
        for r in page:
            out.setdefault(r["list"], []).append(r["id"])
        more = start + limit < len(rows)
        answer(self, {"data": out, "pageToken": token_of(query, start + limit) if more else None})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--client-id", default="narvaro-sync")
    p.add_argument("--client-secret", default="source-secret")
    p.add_argument("--page", type=int, default=1000)
    p.add_argument("--die-after", type=int, default=0)
    p.add_argument("--log")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--scope", help="the token endpoint wants exactly this scope")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key")
    p.add_argument("--client-ca", help="mutual TLS: a client certificate from this CA is required")
    args = p.parse_args()
    Handler.source = Source(args)
    Handler.source.load()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
