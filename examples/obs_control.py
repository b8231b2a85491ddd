#!/usr/bin/env python3
"""Start/stop a webinar and show/hide its call-to-action from OBS, a Stream Deck or a terminal.

Standard library only. Make a token with the `control` scope (and `read` for `status`):
/admin/tokens in the portal, or `flask --app wsgi portal create-token --email you@example.com
--scopes read,control`. Then:

    export PORTAL_URL=https://webinars.example.com PORTAL_TOKEN=wpt_...
    python3 obs_control.py 42 start        # go live
    python3 obs_control.py 42 cta-show     # show the offer
    python3 obs_control.py 42 cta-hide
    python3 obs_control.py 42 stop         # end the webinar
    python3 obs_control.py 42 status       # print status and CTA

A Stream Deck "System: Open" / "Run" action or an OBS "Advanced Scene Switcher" run-program
action can call the same command lines. Repeating an action is harmless (the portal answers
"unchanged"); an impossible one (start after stop) prints the portal's reason and exits 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

ACTIONS = {
    "start": ("status", {"action": "start"}),
    "stop": ("status", {"action": "stop"}),
    "cta-show": ("cta", {"visibility": "visible"}),
    "cta-hide": ("cta", {"visibility": "hidden"}),
}


def call(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    """One API call; returns the JSON answer or raises SystemExit with the problem's detail."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base.rstrip('/')}/api/v1{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json",
        **({"Content-Type": "application/json"} if data is not None else {})})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:  # a problem: RFC 9457 JSON with a readable detail
        try:
            problem = json.load(error)
        except ValueError:
            problem = {}
        raise SystemExit(f"{error.code}: {problem.get('detail') or error.reason}") from None
    except urllib.error.URLError as error:
        raise SystemExit(f"cannot reach {base}: {error.reason}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("webinar_id", type=int)
    parser.add_argument("action", choices=[*ACTIONS, "status"])
    parser.add_argument("--url", default=os.environ.get("PORTAL_URL", "http://127.0.0.1:5000"))
    parser.add_argument("--token", default=os.environ.get("PORTAL_TOKEN", ""))
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("set PORTAL_TOKEN (or --token) to an API token with the control scope")
    if args.action == "status":
        webinar = call(args.url, args.token, "GET", f"/webinars/{args.webinar_id}")
        print(f"{webinar['title']}: {webinar['status']}, CTA {webinar['cta_visibility']}")
        return 0
    hook, body = ACTIONS[args.action]
    result = call(args.url, args.token, "POST", f"/webinars/{args.webinar_id}/{hook}", body)
    change = "changed" if result["changed"] else "unchanged"
    print(f"{result['webinar']['title']}: {result['before']} -> {result['after']} ({change})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
