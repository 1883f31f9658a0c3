#!/usr/bin/env python3
"""Writes the golden vectors of tests/vectors/*.json.

Every digest and encoded body here is computed with Python's standard library (hashlib,
urllib.parse, json), independently of the Rust implementation the vectors test. `check.py`
recomputes the digests again, with hashlib and with `openssl dgst`.

Usage: python3 tests/vectors/generate.py [--check]   (--check: fail if the files differ)
"""
import hashlib
import json
import sys
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
APP_KEY = "fd460d34e786e7754e505bc4fab0f027"
SECRET = "xxxxxxxx"
BASE = "https://api.netease.im"
FORM = "application/x-www-form-urlencoded;charset=utf-8"


def sha1(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def err(field, rule, index=None):
    e = {"field": field, "rule": rule}
    if index is not None:
        e["index"] = index
    return {"error": e}


# ---------------------------------------------------------------- signing
def signing():
    n128 = ("0123456789abcdef" * 8)
    n129 = n128 + "a"
    ok = [
        ("documented vector", SECRET, "123456", 1440570500),
        ("chinese secret", "云信的密钥", "abc123", 1700000000),
        ("emoji and latin-1 secret", "sécret-🔑", "Z9", 1700000001),
        ("128-character nonce", SECRET, n128, 1700000002),
        ("1-character nonce", SECRET, "a", 1700000003),
        ("uppercase letters in nonce", SECRET, "ABCdef012", 1700000004),
        ("zero time", SECRET, "1", 0),
    ]
    cases = []
    for name, secret, nonce, t in ok:
        cases.append({
            "name": name, "app_key": APP_KEY, "secret": secret, "nonce": nonce, "cur_time": t,
            "expect": {"headers": [["AppKey", APP_KEY], ["Nonce", nonce], ["CurTime", str(t)],
                                   ["CheckSum", sha1(secret + nonce + str(t))]]},
        })
    refused = [
        ("129-character nonce", n129, 1700000000, err("nonce", "length")),
        ("empty nonce", "", 1700000000, err("nonce", "length")),
        ("punctuation in nonce", "abc-123", 1700000000, err("nonce", "charset")),
        ("space in nonce", "abc 123", 1700000000, err("nonce", "charset")),
        ("non-ascii nonce", "随机数", 1700000000, err("nonce", "charset")),
        ("CurTime in milliseconds", "123456", 1440570500855, err("CurTime", "milliseconds")),
    ]
    for name, nonce, t, e in refused:
        cases.append({"name": name, "app_key": APP_KEY, "secret": SECRET, "nonce": nonce,
                      "cur_time": t, "expect": e})
    credentials = [
        {"name": "empty app key", "app_key": "", "secret": SECRET, "expect": err("appKey", "empty")},
        {"name": "space in app key", "app_key": "ab cd", "secret": SECRET, "expect": err("appKey", "charset")},
        {"name": "empty secret", "app_key": APP_KEY, "secret": "", "expect": err("appSecret", "empty")},
    ]
    raw = [  # the bare function: no validation, any strings
        {"secret": SECRET, "nonce": "123456", "cur_time": "1440570500"},
        {"secret": SECRET, "nonce": n129, "cur_time": "1440570500"},
        {"secret": "", "nonce": "", "cur_time": ""},
        {"secret": SECRET, "nonce": "5556767e4727e5582025ab1fff82753b", "cur_time": "1440570500855"},
    ]
    for r in raw:
        r["checksum"] = sha1(r["secret"] + r["nonce"] + r["cur_time"])
    return {"sign": cases, "credentials": credentials, "checksum": raw}


# ---------------------------------------------------------------- requests
def form(pairs):
    return urlencode(pairs, encoding="utf-8")


def requests():
    nonce, t = "0123456789abcdef0123456789abcdef", 1700000000
    auth = [["AppKey", APP_KEY], ["Nonce", nonce], ["CurTime", str(t)],
            ["CheckSum", sha1(SECRET + nonce + str(t))], ["Content-Type", FORM]]
    cases = []

    def ok(name, kind, params, pairs, path, base=None):
        c = {"name": name, "request": kind, "params": params, "expect": {
            "method": "POST", "url": (base or BASE).rstrip("/") + path,
            "headers": auth, "body": form(pairs)}}
        if base:
            c["base_url"] = base
        cases.append(c)

    def bad(name, kind, params, e):
        cases.append({"name": name, "request": kind, "params": params, "expect": e})

    def call(caller="13888888888", callee="13777777777", acc="liuxuanlin", dur=100):
        return {"caller_acc": acc, "caller": caller, "callee": callee, "max_dur": dur}

    def conf(callees, caller="13777777777", acc="liuxuanlin", dur=100):
        return {"caller_acc": acc, "caller": caller, "callees": callees, "max_dur": dur}

    ok("documented start call", "start_call", call(),
       [("callerAcc", "liuxuanlin"), ("caller", "13888888888"), ("callee", "13777777777"), ("maxDur", "100")],
       "/call/ecp/startcall.action")
    ok("landline callee and accid punctuation", "start_call", call(callee="057186778825", acc="a.b-c_d@e"),
       [("callerAcc", "a.b-c_d@e"), ("caller", "13888888888"), ("callee", "057186778825"), ("maxDur", "100")],
       "/call/ecp/startcall.action")
    ok("local base url with trailing slash", "start_call", call(dur=4294967295),
       [("callerAcc", "liuxuanlin"), ("caller", "13888888888"), ("callee", "13777777777"), ("maxDur", "4294967295")],
       "/call/ecp/startcall.action", base="http://127.0.0.1:8080/")
    two = ["13888888888", "13666666666"]
    ok("documented conference, callee list as real JSON", "start_conf", conf(two),
       [("callerAcc", "liuxuanlin"), ("caller", "13777777777"), ("callee", json.dumps(two, separators=(",", ":"))), ("maxDur", "100")],
       "/call/ecp/startconf.action")
    seven = ["1380000000%d" % i for i in range(7)]
    ok("conference of eight participants", "start_conf", conf(seven),
       [("callerAcc", "liuxuanlin"), ("caller", "13777777777"), ("callee", json.dumps(seven, separators=(",", ":"))), ("maxDur", "100")],
       "/call/ecp/startconf.action")
    ok("query a call", "query", {"session": "7c4b7673-4f70-4164-82a0-decb84d77914", "kind": "call"},
       [("session", "7c4b7673-4f70-4164-82a0-decb84d77914"), ("type", "1")], "/call/ecp/queryBySession.action")
    ok("query a conference", "query", {"session": "4ea1e712-cfd5-4891-b66a-4aa71fe65383", "kind": "conference"},
       [("session", "4ea1e712-cfd5-4891-b66a-4aa71fe65383"), ("type", "2")], "/call/ecp/queryBySession.action")

    numbers = [
        ("+86 prefix", "+8613888888888", "country_code"),
        ("86 prefix", "8613888888888", "country_code"),
        ("0086 prefix", "008613888888888", "country_code"),
        ("86 before a landline", "8657186778825", "country_code"),
        ("spaces", "138 8888 8888", "separator"),
        ("dashes", "0571-86778825", "separator"),
        ("parentheses", "(0571)86778825", "separator"),
        ("letters", "1388888888a", "not_digits"),
        ("full-width digits", "１３８８８８８８８８８", "not_digits"),
        ("mobile too short", "1388888888", "mobile_length"),
        ("mobile too long", "138888888888", "mobile_length"),
        ("landline too short", "057186778", "landline_length"),
        ("landline too long", "0571867788251", "landline_length"),
        ("neither mobile nor landline", "23888888888", "number_prefix"),
        ("empty", "", "empty"),
    ]
    for name, number, rule in numbers:
        bad("caller: " + name, "start_call", call(caller=number), err("caller", rule))
        bad("callee: " + name, "start_call", call(callee=number), err("callee", rule))
    bad("callee equals caller", "start_call", call(callee="13888888888"), err("callee", "duplicate"))
    bad("callerAcc empty", "start_call", call(acc=""), err("callerAcc", "empty"))
    bad("callerAcc of 33 characters", "start_call", call(acc="a" * 33), err("callerAcc", "length"))
    bad("callerAcc with a space", "start_call", call(acc="liu xuanlin"), err("callerAcc", "charset"))
    bad("callerAcc in Chinese", "start_call", call(acc="刘"), err("callerAcc", "charset"))
    bad("maxDur zero", "start_call", call(dur=0), err("maxDur", "not_positive"))
    bad("maxDur zero in a conference", "start_conf", conf(two, dur=0), err("maxDur", "not_positive"))
    bad("conference with one callee", "start_conf", conf(["13888888888"]), err("callee", "count"))
    bad("conference with no callee", "start_conf", conf([]), err("callee", "count"))
    bad("conference with eight callees", "start_conf", conf(["1380000000%d" % i for i in range(8)]), err("callee", "count"))
    bad("conference callee listed twice", "start_conf", conf(["13888888888", "13888888888"]), err("callee", "duplicate", 1))
    bad("conference callee is the caller", "start_conf", conf(["13888888888", "13777777777"]), err("callee", "duplicate", 1))
    bad("conference callee with +86", "start_conf", conf(["13888888888", "+8613666666666"]), err("callee", "country_code", 1))
    bad("conference caller with spaces", "start_conf", conf(two, caller="137 7777 7777"), err("caller", "separator"))
    bad("query empty session", "query", {"session": "", "kind": "call"}, err("session", "empty"))
    bad("query session with a space", "query", {"session": "a b", "kind": "call"}, err("session", "charset"))
    bad("query session of 129 characters", "query", {"session": "a" * 129, "kind": "call"}, err("session", "length"))
    bad("base url without scheme", "start_call", dict(call(), base_url="api.netease.im"), err("baseUrl", "url"))
    cases[-1]["base_url"] = cases[-1]["params"].pop("base_url")
    return {"app_key": APP_KEY, "secret": SECRET, "nonce": nonce, "cur_time": t, "cases": cases}


# ---------------------------------------------------------------- responses
def responses():
    cases = []

    def ok(name, endpoint, status, body, expect):
        cases.append({"name": name, "endpoint": endpoint, "http_status": status, "body": body, "expect": {"ok": expect}})

    def api(name, endpoint, status, body, code, message, retry):
        cases.append({"name": name, "endpoint": endpoint, "http_status": status, "body": body,
                      "expect": {"error": {"kind": "api", "code": code, "message": message, "retry": retry}}})

    def proto(name, endpoint, status, body, kind, retry):
        cases.append({"name": name, "endpoint": endpoint, "http_status": status, "body": body,
                      "expect": {"error": {"kind": "protocol", "protocol": kind, "retry": retry}}})

    sid = "7c4b7673-4f70-4164-82a0-decb84d77914"
    ok("start call success", "start_call", 200, '{"code":200,"obj":{"session":"%s"}}' % sid, {"session": sid})
    ok("code as a numeric string", "start_conf", 200, '{"code":"200","obj":{"session":"%s"}}' % sid, {"session": sid})
    ok("msg ignored on success", "start_call", 200, '{"code":200,"msg":"ok","obj":{"session":"%s"}}' % sid, {"session": sid})
    record = {"callee": "15967161***", "caller": "18605815***", "createtime": 1484118614911, "durationSec": 61,
              "initAccount": "abcd", "legs": [{"endTime": "2017-01-11 15:10:30", "endpoint": "18605815***", "hangCause": "NORMAL_CLEARING"}],
              "session": sid, "starttime": "2017-01-11 15:10:30", "status": "SUCCESS"}
    ok("query a call", "query_by_session", 200, json.dumps({"code": 200, "obj": record}),
       {"session": sid, "duration_sec": 61, "answered": True, "billed_minutes": 2, "cost_fen": 24, "legs": 1, "members": None})
    conf = {"createtime": 1484103244335, "durationSec": 0, "initAccount": "call817",
            "members": json.dumps(["18605811***", "18158125678", "15967169***"]), "session": "4ea1e712", "status": "SUCCESS"}
    ok("query a conference, members inside a string", "query_by_session", 200, json.dumps({"code": 200, "obj": conf}),
       {"session": "4ea1e712", "duration_sec": 0, "answered": False, "billed_minutes": 0, "cost_fen": 0, "legs": 0,
        "members": ["18605811***", "18158125678", "15967169***"]})
    ok("query record sent as a string", "query_by_session", 200, json.dumps({"code": 200, "obj": json.dumps({"session": "s", "durationSec": "60"})}),
       {"session": "s", "duration_sec": 60, "answered": True, "billed_minutes": 1, "cost_fen": 12, "legs": 0, "members": None})

    api("bad http header", "start_call", 200, '{"desc":"bad http header","code":414}', 414, "bad http header", "never")
    api("bad param callee", "start_conf", 200, '{"code":414,"msg":"bad param \'callee\'"}', 414, "bad param 'callee'", "never")
    api("msg preferred over desc", "start_call", 200, '{"code":414,"msg":"m","desc":"d"}', 414, "m", "never")
    api("no authorization", "start_call", 200, '{"code":403,"msg":"no authorization"}', 403, "no authorization", "never")
    api("code as string on error", "start_call", 200, '{"code":"403","msg":"no authorization"}', 403, "no authorization", "never")
    api("no message at all", "query_by_session", 200, '{"code":404}', 404, None, "never")
    for code, start, query in [(408, "outcome_unknown", "safe"), (415, "never", "safe"), (416, "backoff", "backoff"),
                               (431, "outcome_unknown", "never"), (500, "outcome_unknown", "safe"),
                               (503, "once_after_delay", "backoff"), (514, "never", "safe"), (999, "never", "never"),
                               (12345, "never", "never")]:
        body = '{"code":%d,"msg":"x"}' % code
        api("code %d on a start" % code, "start_call", 200, body, code, "x", start)
        api("code %d on a query" % code, "query_by_session", 200, body, code, "x", query)
    api("error code with HTTP 500", "start_call", 500, '{"code":500,"msg":"server internal error"}', 500, "server internal error", "outcome_unknown")

    html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    proto("proxy html 502 on a start", "start_call", 502, html, "html", "outcome_unknown")
    proto("proxy html 502 on a query", "query_by_session", 502, html, "html", "safe")
    proto("empty body", "start_call", 200, "", "empty", "outcome_unknown")
    proto("whitespace body", "query_by_session", 200, " \r\n", "empty", "safe")
    proto("truncated JSON", "start_call", 200, '{"code":200,"obj":{"sess', "truncated", "outcome_unknown")
    proto("truncated query record", "query_by_session", 200, '{"code":200,"obj":{"status":"SUCC', "truncated", "safe")
    proto("JSON with trailing text", "start_call", 200, '{"code":200} }', "not_json", "outcome_unknown")
    proto("plain text", "start_call", 200, "Service Unavailable", "not_json", "outcome_unknown")
    proto("JSON array", "start_call", 200, "[1,2]", "not_an_object", "outcome_unknown")
    proto("code missing", "start_call", 200, '{"msg":"x"}', "missing_code", "outcome_unknown")
    proto("code null", "start_call", 200, '{"code":null}', "missing_code", "outcome_unknown")
    proto("code not numeric", "start_call", 200, '{"code":"ok"}', "bad_code", "outcome_unknown")
    proto("code fractional", "start_call", 200, '{"code":200.5}', "bad_code", "outcome_unknown")
    proto("success without session", "start_call", 200, '{"code":200}', "missing_result", "outcome_unknown")
    proto("success with empty session", "start_conf", 200, '{"code":200,"obj":{"session":""}}', "missing_result", "outcome_unknown")
    proto("query success without record", "query_by_session", 200, '{"code":200,"obj":7}', "missing_result", "safe")
    proto("success code with HTTP 500", "query_by_session", 500, '{"code":200,"obj":{}}', "http_status", "safe")
    proto("HTTP 400 html: URL and body do not match", "start_call", 400, "<html><body>400 Bad Request</body></html>", "html", "never")
    # A 3xx is never followed, and its body is never read as an answer, however good it looks.
    for status in (301, 302, 303, 307, 308):
        proto("HTTP %d on a start" % status, "start_call", status, '{"code":200,"obj":{"session":"%s"}}' % sid, "redirect", "outcome_unknown")
    proto("HTTP 302 on a query", "query_by_session", 302, "", "redirect", "safe")
    # A started session must be one that a query accepts (printable ASCII, 1 to 128 characters).
    proto("session with a line break", "start_call", 200, '{"code":200,"obj":{"session":"a\\r\\nX-Injected: 1"}}', "missing_result", "outcome_unknown")
    proto("session with a space", "start_conf", 200, '{"code":200,"obj":{"session":"a b"}}', "missing_result", "outcome_unknown")
    proto("session of 129 characters", "start_call", 200, '{"code":200,"obj":{"session":"%s"}}' % ("s" * 129), "missing_result", "outcome_unknown")
    ok("session of 128 characters", "start_call", 200, '{"code":200,"obj":{"session":"%s"}}' % ("s" * 128), {"session": "s" * 128})
    return {"cases": cases}


# ---------------------------------------------------------------- callbacks
DOC_CALL = '{"callback":"{\\"callee\\":\\"15967161***\\",\\"caller\\":\\"18605815***\\",\\"createtime\\":1484118614911,\\"durationSec\\":0,\\"initAccount\\":\\"abcd\\",\\"legs\\":[{\\"endTime\\":\\"2017-01-11 15:10:30\\",\\"endpoint\\":\\"18605815***\\",\\"hangCause\\":\\"NO_USER_RESPONSE\\"},{\\"endTime\\":\\"2017-01-11 15:10:30\\",\\"endpoint\\":\\"15967161***\\",\\"hangCause\\":\\"NO_USER_RESPONSE\\"}],\\"session\\":\\"7c4b7673-4f70-4164-82a0-decb84d77914\\",\\"starttime\\":\\"2017-01-11 15:10:30\\",\\"status\\":\\"SUCCESS\\"}","eventType":"10"}'
DOC_CONF = '{"callback":"{\\"createtime\\":1484103244335,\\"durationSec\\":0,\\"initAccount\\":\\"call817\\",\\"members\\":\\"[\\\\\\"18605811***\\\\\\",\\\\\\"18158125678\\\\\\",\\\\\\"15967169***\\\\\\"]\\",\\"session\\":\\"4ea1e712-cfd5-4891-b66a-4aa71fe65383\\",\\"starttime\\":\\"2017-01-11 10:52:38\\",\\"status\\":\\"SUCCESS\\"}","eventType":"10"}'


def callbacks():
    t = 1440570500855
    verify = []

    def signed(body, secret=SECRET, cur=t):
        m = md5(body.encode("utf-8"))
        return [["Content-Type", "application/json"], ["AppKey", APP_KEY], ["CurTime", str(cur)],
                ["MD5", m], ["CheckSum", sha1(secret + m + str(cur))]]

    def case(name, body, headers, now, check, expect, secret=SECRET):
        verify.append({"name": name, "secret": secret, "app_key": APP_KEY, "body": body, "headers": headers,
                       "now_ms": now, "tolerance_ms": check, "expect": expect})

    empty = '{"callback":"{}","eventType":"10"}'
    case("documented vector", empty, signed(empty), t, 300000, "ok")
    case("documented call body", DOC_CALL, signed(DOC_CALL), t + 1000, 300000, "ok")
    case("documented conference body", DOC_CONF, signed(DOC_CONF), t - 1000, 300000, "ok")
    case("chinese secret", DOC_CALL, signed(DOC_CALL, secret="云信的密钥"), t, 300000, "ok", secret="云信的密钥")
    lower = [[k.lower(), v] for k, v in signed(empty)]
    case("header names in lower case", empty, lower, t, 300000, "ok")
    case("tolerance 0, same millisecond", empty, signed(empty), t, 0, "ok")
    case("tolerance 0, one millisecond later", empty, signed(empty), t + 1, 0, "stale")
    case("tolerance 0, one millisecond earlier", empty, signed(empty), t - 1, 0, "future")
    case("exactly at the tolerance", empty, signed(empty), t + 300000, 300000, "ok")
    case("one millisecond over the tolerance", empty, signed(empty), t + 300001, 300000, "stale")
    case("from the future", empty, signed(empty), t - 300001, 300000, "future")
    case("time check skipped", empty, signed(empty), t + 10 ** 9, "skip", "ok")
    tampered = DOC_CALL.replace('durationSec\\":0', 'durationSec\\":60')
    case("body altered after signing", tampered, signed(DOC_CALL), t, 300000, "md5_mismatch")
    reser = json.dumps(json.loads(DOC_CALL))  # re-serialized: different bytes, same JSON
    case("MD5 over re-serialized JSON", DOC_CALL, signed(reser), t, 300000, "md5_mismatch")
    h = signed(DOC_CALL)
    h[3][1] = h[3][1].upper()
    case("MD5 in upper case", DOC_CALL, h, t, 300000, "md5_mismatch")
    h = signed(DOC_CALL)
    h[3][1] = h[3][1].encode().hex()  # the hex digest hex-encoded again: 64 characters
    case("MD5 of 64 characters (hex encoded twice)", DOC_CALL, h, t, 300000, "md5_mismatch")
    case("wrong secret", DOC_CALL, signed(DOC_CALL, secret="yyyyyyyy"), t, 300000, "checksum_mismatch")
    h = signed(DOC_CALL)
    h[4][1] = h[4][1].upper()
    case("CheckSum in upper case", DOC_CALL, h, t, 300000, "checksum_mismatch")
    h = signed(DOC_CALL, cur=t // 1000)
    case("CurTime in seconds", DOC_CALL, h, t, 300000, "stale")
    h = signed(DOC_CALL)
    h[2][1] = str(t + 1)
    case("CurTime changed after signing", DOC_CALL, h, t, 300000, "checksum_mismatch")
    h = signed(DOC_CALL)
    h[2][1] = "14405705OO855"
    case("CurTime not a number", DOC_CALL, h, t, 300000, "malformed_cur_time")
    h = signed(DOC_CALL)
    h[1][1] = "another-app"
    case("AppKey of another app", DOC_CALL, h, t, 300000, "app_key_mismatch")
    for i, name in [(3, "MD5"), (4, "CheckSum"), (2, "CurTime")]:
        h = [x for j, x in enumerate(signed(DOC_CALL)) if j != i]
        case("%s header missing" % name, DOC_CALL, h, t, 300000, "missing_header")
    h = [x for j, x in enumerate(signed(DOC_CALL)) if j != 1]
    case("AppKey header absent (optional)", DOC_CALL, h, t, 300000, "ok")
    # A signature header sent twice: a proxy reading the first copy and a verifier reading the
    # last would disagree, so any repeat is refused, whatever the order or the values.
    for i, name in [(3, "MD5"), (4, "CheckSum"), (2, "CurTime"), (1, "AppKey")]:
        good = signed(DOC_CALL)
        case("%s sent twice, forged copy first" % name, DOC_CALL, [[name.lower(), "0" * 40]] + good, t, 300000, "duplicate_header")
        case("%s sent twice, same value" % name, DOC_CALL, good + [good[i]], t, 300000, "duplicate_header")
    # Signed over the zero-padded spelling: one signature must not verify for two CurTime texts.
    h = signed(DOC_CALL, cur="0%d" % t)
    case("CurTime with a leading zero", DOC_CALL, h, t, 300000, "malformed_cur_time")

    parse = [
        {"name": "documented call", "body": DOC_CALL, "expect": {"type": "call_end", "session": "7c4b7673-4f70-4164-82a0-decb84d77914",
         "init_account": "abcd", "caller": "18605815***", "callee": "15967161***", "create_time_ms": 1484118614911,
         "start_time": "2017-01-11 15:10:30", "status": "SUCCESS", "duration_sec": 0, "answered": False, "billed_minutes": 0,
         "cost_fen": 0, "members": None, "hang_causes": ["NO_USER_RESPONSE", "NO_USER_RESPONSE"]}},
        {"name": "documented conference", "body": DOC_CONF, "expect": {"type": "call_end", "session": "4ea1e712-cfd5-4891-b66a-4aa71fe65383",
         "init_account": "call817", "caller": None, "callee": None, "create_time_ms": 1484103244335,
         "start_time": "2017-01-11 10:52:38", "status": "SUCCESS", "duration_sec": 0, "answered": False, "billed_minutes": 0,
         "cost_fen": 0, "members": ["18605811***", "18158125678", "15967169***"], "hang_causes": []}},
    ]
    for secs, minutes in [(1, 1), (60, 1), (61, 2), (3600, 60), (3601, 61)]:
        body = json.dumps({"callback": json.dumps({"session": "s%d" % secs, "durationSec": secs}), "eventType": 10})
        parse.append({"name": "answered %d s, eventType as a number" % secs, "body": body, "expect": {
            "type": "call_end", "session": "s%d" % secs, "init_account": None, "caller": None, "callee": None,
            "create_time_ms": None, "start_time": None, "status": None, "duration_sec": secs, "answered": True,
            "billed_minutes": minutes, "cost_fen": minutes * 12, "members": None, "hang_causes": []}})
    im = '{"eventType":"1","convType":"PERSON","fromAccount":"a","msgType":"TEXT","body":"你好"}'
    parse.append({"name": "IM event passes through", "body": im, "expect": {"type": "other", "event_type": "1", "raw": im}})
    typed = '{"type":"CALL","session":"x"}'
    parse.append({"name": "newer undocumented format passes through", "body": typed, "expect": {"type": "other", "event_type": None, "raw": typed}})
    for name, body in [("not JSON", "eventType=10"), ("JSON array", "[10]"), ("call end without callback", '{"eventType":"10"}'),
                       ("callback not JSON", '{"eventType":"10","callback":"{"}'), ("callback a number", '{"eventType":10,"callback":"5"}')]:
        parse.append({"name": name, "body": body, "expect": {"error": "malformed"}})
    return {"verify": verify, "parse": parse}


# ---------------------------------------------------------------- server side
def server():
    now = 1700000000
    cases = []

    def headers(nonce="abc123", cur=now, secret=SECRET, key=APP_KEY, upper=False, ctype="Content-Type"):
        s = sha1(secret + nonce + str(cur))
        return [["AppKey", key], ["Nonce", nonce], ["CurTime", str(cur)], ["CheckSum", s.upper() if upper else s],
                [ctype, FORM]]

    def case(name, path, hdrs, query, body, expect):
        cases.append({"name": name, "path": path, "headers": hdrs, "query": query, "body": body, "now_secs": now, "expect": expect})

    call_body = form([("callerAcc", "liuxuanlin"), ("caller", "13888888888"), ("callee", "13777777777"), ("maxDur", "100")])
    call_ok = {"request": "start_call", "params": {"caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}}
    conf_ok = {"request": "start_conf", "params": {"caller_acc": "liuxuanlin", "caller": "13777777777",
                                                  "callees": ["13888888888", "13666666666"], "max_dur": 100}}
    hdr414 = {"reply": '{"desc":"bad http header","code":414}'}
    SC, CF, Q = "/call/ecp/startcall.action", "/call/ecp/startconf.action", "/call/ecp/queryBySession.action"
    case("a correct start call", SC, headers(), "", call_body, call_ok)
    case("the Java sample: fixed nonce 123456", SC, headers(nonce="123456"), "", call_body, call_ok)
    case("the C# sample: query string, empty body, ContentType header", CF, headers(nonce="12345", ctype="ContentType"),
         "callerAcc=liuxuanlin&caller=13777777777&callee=['13888888888','13666666666']&maxDur=100", "", conf_ok)
    case("the Java sample: single-quoted callee list in the body", CF, headers(), "",
         form([("callerAcc", "liuxuanlin"), ("caller", "13777777777"), ("callee", "['13888888888','13666666666']"), ("maxDur", "100")]), conf_ok)
    case("the PHP sample: JSON callee list", CF, headers(nonce="f" * 128), "",
         form([("callerAcc", "liuxuanlin"), ("caller", "13777777777"), ("callee", '["13888888888","13666666666"]'), ("maxDur", "100")]), conf_ok)
    case("the PHP sample's second call: nonce of 256 characters", SC, headers(nonce="f" * 256), "", call_body, dict(hdr414, refusal="nonce_too_long"))
    case("query", Q, headers(), "", "session=abc-1&type=2", {"request": "query", "params": {"session": "abc-1", "kind": "conference"}})
    case("CheckSum in upper case", SC, headers(upper=True), "", call_body, dict(hdr414, refusal="checksum_mismatch"))
    case("wrong secret", SC, headers(secret="yyyyyyyy"), "", call_body, dict(hdr414, refusal="checksum_mismatch"))
    case("unknown AppKey", SC, headers(key="0" * 32), "", call_body, dict(hdr414, refusal="unknown_app_key"))
    case("CurTime 301 s old", SC, headers(cur=now - 301), "", call_body, dict(hdr414, refusal="outside_window"))
    case("CurTime 300 s old", SC, headers(cur=now - 300), "", call_body, call_ok)
    case("CurTime 301 s ahead", SC, headers(cur=now + 301), "", call_body, dict(hdr414, refusal="outside_window"))
    case("CurTime in milliseconds", SC, headers(cur=now * 1000), "", call_body, dict(hdr414, refusal="outside_window"))
    h = headers()
    h[2][1] = "17e8"
    case("CurTime not decimal", SC, h, "", call_body, dict(hdr414, refusal="malformed_cur_time"))
    for i, name in enumerate(["AppKey", "Nonce", "CurTime", "CheckSum"]):
        case("%s missing" % name, SC, [x for j, x in enumerate(headers()) if j != i], "", call_body, dict(hdr414, refusal="missing_header"))
    bad = lambda f: {"reply": "{\"code\":414,\"msg\":\"bad param '%s'\"}" % f, "field": f}
    case("callee with +86", SC, headers(), "", call_body.replace("callee=137", "callee=%2B86137"), bad("callee"))
    case("maxDur missing", SC, headers(), "", call_body.replace("&maxDur=100", ""), bad("maxDur"))
    case("maxDur negative", SC, headers(), "", call_body.replace("maxDur=100", "maxDur=-5"), bad("maxDur"))
    case("maxDur not a number", SC, headers(), "", call_body.replace("maxDur=100", "maxDur=1e3"), bad("maxDur"))
    case("conference callee list as Python str(list) with a space", CF, headers(), "",
         form([("callerAcc", "liuxuanlin"), ("caller", "13777777777"), ("callee", "13888888888,13666666666"), ("maxDur", "100")]), bad("callee"))
    case("query type 3", Q, headers(), "", "session=abc-1&type=3", bad("type"))
    case("query without session", Q, headers(), "", "type=1", bad("session"))
    for i, name in enumerate(["AppKey", "Nonce", "CurTime", "CheckSum"]):
        case("%s sent twice" % name, SC, [[name, "forged"]] + headers(), "", call_body, dict(hdr414, refusal="duplicate_header"))
    # "abc" + "01700000000" and "abc0" + "1700000000" hash alike: a leading zero is refused.
    case("CurTime with a leading zero", SC, headers(cur="0%d" % now), "", call_body, dict(hdr414, refusal="malformed_cur_time"))
    return {"app_key": APP_KEY, "secret": SECRET, "window_secs": 300, "cases": cases}


# ---------------------------------------------------------------- exchanges
def exchanges():
    """Scripted conversations: a request, what the service (or the network) does to each attempt
    in turn, and what the exchange must do: the attempts it signs (each with its own nonce; the
    CheckSum computed here with hashlib), the waits between them, and the result. The entropy is
    fixed: CurTime NOW, the nonce of attempt k NONCES[k], the jitter 0 (so each wait is half its
    full backoff: 200 ms doubled per retry, capped at 5 s)."""
    now = 1440570500
    base = "http://127.0.0.1:9"
    nonces = ["%02dexchange%021d" % (k, k) for k in range(1, 12)]
    call = {"kind": "start_call", "caller_acc": "liuxuanlin", "caller": "13888888888", "callee": "13777777777", "max_dur": 100}
    conf = {"kind": "start_conf", "caller_acc": "liuxuanlin", "caller": "13888888888", "callees": ["13777777777", "13666666666"], "max_dur": 600}
    query = {"kind": "query", "session": "4ea1e712", "type": "call"}
    send_msg = {"kind": "api", "path": "/nimserver/msg/sendMsg.action", "params": [["from", "a"], ["to", "b"]], "idempotent": False}
    get_user = dict(send_msg, path="/nimserver/user/getUinfos.action", params=[["accids", '["a"]']], idempotent=True)
    urls = {"start_call": "/call/ecp/startcall.action", "start_conf": "/call/ecp/startconf.action",
            "query": "/call/ecp/queryBySession.action"}

    def body(code, **rest):
        return json.dumps(dict({"code": code}, **rest), separators=(",", ":"))

    started = body(200, obj={"session": "c0ffee00-0000-4000-8000-000000000001"})
    record = body(200, obj={"session": "4ea1e712", "durationSec": 61, "status": "SUCCESS"})

    def answer(status, text, location=None):
        a = {"answer": {"status": status, "body": text}}
        if location is not None:
            a["answer"]["location"] = location
        return a

    def failure(kind, maybe_sent):
        return {"failure": {"kind": kind, "maybe_sent": maybe_sent}}

    def too_large(status=200):
        return {"too_large": {"status": status}}

    cases = []

    def case(name, request, script, waits, result, max_retries=2, backoff_ms=200):
        path = request["path"] if request["kind"] == "api" else urls[request["kind"]]
        attempts = []
        for k in range(len(script)):
            attempts.append({"url": base + path, "nonce": nonces[k], "cur_time": str(now),
                             "checksum": sha1(SECRET + nonces[k] + str(now))})
        assert len(waits) == len(script) - 1, name
        cases.append({"name": name, "request": request, "settings": {"max_retries": max_retries, "backoff_ms": backoff_ms},
                      "script": script, "expect": {"attempts": attempts, "waits_ms": waits, "result": result}})

    def api_error(code, retry, message=None):
        e = {"kind": "api", "code": code, "retry": retry}
        if message is not None:
            e["message"] = message
        return {"error": e}

    def protocol(kind, retry):
        return {"error": {"kind": "protocol", "protocol": kind, "retry": retry}}

    def transport(kind, maybe_sent, retry):
        return {"error": {"kind": "transport", "transport": kind, "maybe_sent": maybe_sent, "retry": retry}}

    ok_start = {"started": {"session": "c0ffee00-0000-4000-8000-000000000001"}}
    ok_record = {"record": {"session": "4ea1e712", "answered": True, "billed_minutes": 2}}

    # A start places a billable call: sent again only after an explicit rejection (416, or 503
    # once) or when nothing left (a connect failure).
    case("start: placed at once", call, [answer(200, started)], [], ok_start)
    case("start: 416 rate limited, then placed", call, [answer(200, body(416)), answer(200, started)], [100], ok_start)
    case("start: 503 twice, sent again once only", call, [answer(200, body(503)), answer(200, body(503))], [100],
         api_error(503, "never"))
    case("start: 500, the call may exist", call, [answer(200, body(500, msg="server internal error"))], [],
         api_error(500, "outcome_unknown", "server internal error"))
    case("start: 408, the call may exist", call, [answer(200, body(408))], [], api_error(408, "outcome_unknown"))
    case("start: read timeout after sending", call, [failure("timeout", True)], [], transport("timeout", True, "outcome_unknown"))
    case("start: reset after sending", call, [failure("io", True)], [], transport("io", True, "outcome_unknown"))
    case("start: connect refused three times", call, [failure("connect", False)] * 3, [100, 200],
         transport("connect", False, "safe"))
    case("start: connect refused, then 503: the one more send is left to the caller", call,
         [failure("connect", False), answer(200, body(503))], [100], api_error(503, "once_after_delay"))
    case("start: connect refused, then placed", conf, [failure("connect", False), answer(200, started)], [100], ok_start)
    case("start: a redirect is never followed", call, [answer(302, "", location="https://elsewhere.example/x")], [],
         protocol("redirect", "outcome_unknown"))
    case("start: an answer over the size limit", call, [too_large()], [], protocol("too_large", "outcome_unknown"))
    case("start: a proxy's HTML page", call, [answer(502, "<html>bad gateway</html>")], [], protocol("html", "outcome_unknown"))
    case("start: 414 bad signature, never sent again", call, [answer(200, body(414, desc="bad http header"))], [],
         api_error(414, "never", "bad http header"))
    # The answer echoes the attempt's own nonce: it never reaches the error.
    case("start: an echoed nonce is redacted", call,
         [answer(200, body(414, desc="bad header Nonce: " + nonces[0]))], [],
         api_error(414, "never", "bad header Nonce: [redacted]"))
    # A query is safe to send again after anything transient.
    case("query: 500, 408, then the record", query, [answer(200, body(500)), answer(200, body(408)), answer(200, record)],
         [100, 200], ok_record)
    case("query: 503 three times, retries spent", query, [answer(200, body(503))] * 3, [100, 200], api_error(503, "backoff"))
    case("query: reset, then the record", query, [failure("io", True), answer(200, record)], [100], ok_record)
    case("query: a proxy's HTML page, then the record", query, [answer(502, "<html>bad gateway</html>"), answer(200, record)],
         [100], ok_record)
    case("query: 404 no such session", query, [answer(200, body(404, msg="not found"))], [], api_error(404, "never", "not found"))
    case("query: no retries allowed", query, [answer(200, body(500))], [], api_error(500, "safe"), max_retries=0)
    case("query: the backoff is capped at 5 s", query, [answer(200, body(503))] * 4, [2000, 2500, 2500],
         api_error(503, "backoff"), max_retries=3, backoff_ms=4000)
    # Another API's request not marked idempotent: no answer code makes sending it again safe.
    case("api: 416 is not sent again", send_msg, [answer(200, body(416))], [], api_error(416, "never"))
    case("api: 503 may have acted", send_msg, [answer(200, body(503))], [], api_error(503, "outcome_unknown"))
    case("api: 500 may have acted", send_msg, [answer(200, body(500))], [], api_error(500, "outcome_unknown"))
    case("api: connect refused, then sent", send_msg, [failure("connect", False), answer(200, body(200, info="sent"))], [100],
         {"json": {"code": 200, "info": "sent"}})
    case("api: a 404 page means an unknown path", send_msg, [answer(404, "Not Found")], [], protocol("not_json", "never"))
    case("api marked idempotent: 416, then the answer", get_user, [answer(200, body(416)), answer(200, body(200, uinfos=[]))],
         [100], {"json": {"code": 200, "uinfos": []}})
    return {"app_key": APP_KEY, "secret": SECRET, "base_url": base, "now_secs": now, "jitter": 0, "cases": cases}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, build in [("signing", signing), ("requests", requests), ("responses", responses),
                        ("callbacks", callbacks), ("server", server), ("exchanges", exchanges)]:
        text = json.dumps(build(), ensure_ascii=False, indent=1) + "\n"
        path = HERE / (name + ".json")
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        sys.exit("vectors out of date (run tests/vectors/generate.py): " + ", ".join(stale))


if __name__ == "__main__":
    main()
