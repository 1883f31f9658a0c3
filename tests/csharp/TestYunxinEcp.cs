// The C# suite: every case of tests/vectors through the P/Invoke wrapper (csharp/YunxinEcp.cs),
// the same way core/tests/vectors.rs runs them, digests cross-checked with .NET's own SHA1 and
// MD5, the wrapper's exceptions and handles, generic API requests, and client round trips
// against the in-process mock, the client's log events through Ecp.SetLogHandler, and the shapes
// of header collections the callback verifier takes; every scripted conversation of
// exchanges.json through the exchange (yx_exchange_*) step by step and over HttpClient, and
// AsyncEcpClient against the mock (retries, outcome unknown, redirects, the size cap,
// cancellation, the same log lines as the blocking client).
//
// Usage: mono TestYunxinEcp.exe VECTOR_DIR   (closes with "csharp: N passed, M failed")
using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.IO;
using System.Json;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Runtime.Serialization;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using YunxinEcp;

internal static class TestYunxinEcp
{
    private static int passed;
    private static int failed;

    private static void Case(string name, Action body)
    {
        try
        {
            body();
            passed++;
        }
        catch (Exception e)
        {
            failed++;
            Console.Error.WriteLine("FAIL [" + name + "] " + e.GetType().Name + ": " + e.Message);
        }
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new Exception("check failed: " + what);
        }
    }

    private static T Throws<T>(Action action) where T : Exception
    {
        try
        {
            action();
        }
        catch (T e)
        {
            return e;
        }
        throw new Exception("expected " + typeof(T).Name);
    }

    // ---- JSON: build values, compare canonically (object keys sorted) ----

    private static JsonValue J(string s) { return s == null ? null : new JsonPrimitive(s); }
    private static JsonValue J(long n) { return new JsonPrimitive(n); }
    private static JsonValue J(ulong? n) { return n.HasValue ? new JsonPrimitive(n.Value) : null; }
    private static JsonValue J(bool b) { return new JsonPrimitive(b); }

    private static JsonValue Strings(IEnumerable<string> values)
    {
        if (values == null)
        {
            return null;
        }
        var array = new JsonArray();
        foreach (string v in values)
        {
            array.Add(J(v));
        }
        return array;
    }

    private static string Canon(JsonValue v)
    {
        if (v == null)
        {
            return "null";
        }
        var o = v as JsonObject;
        if (o != null)
        {
            return "{" + string.Join(",", o.Keys.OrderBy(k => k, StringComparer.Ordinal)
                .Select(k => new JsonPrimitive(k).ToString() + ":" + Canon(o[k]))) + "}";
        }
        var a = v as JsonArray;
        if (a != null)
        {
            return "[" + string.Join(",", a.Select(Canon)) + "]";
        }
        return v.ToString();
    }

    private static void Same(JsonValue got, JsonValue want)
    {
        string g = Canon(got), w = Canon(want);
        if (g != w)
        {
            throw new Exception("\n  got  " + g + "\n  want " + w);
        }
    }

    private static string S(JsonValue v, string key)
    {
        JsonValue x = v[key];
        return x == null ? null : (string)x;
    }

    private static byte[] Bytes(string s) { return Encoding.UTF8.GetBytes(s); }

    private static List<KeyValuePair<string, string>> Pairs(JsonValue array)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (JsonValue p in (JsonArray)array)
        {
            pairs.Add(new KeyValuePair<string, string>((string)p[0], (string)p[1]));
        }
        return pairs;
    }

    private static JsonValue ValidationJson(ValidationException e)
    {
        var error = new JsonObject { { "field", J(e.Field) }, { "rule", J(e.Rule) } };
        if (e.Index >= 0)
        {
            error.Add("index", J(e.Index));
        }
        return new JsonObject { { "error", error } };
    }

    private static void NoSecret(YunxinEcpException e, string secret)
    {
        if (secret != null && secret.Length >= 4)
        {
            Check(!e.Message.Contains(secret), "the secret is not in the message");
        }
    }

    private static string Hex(byte[] digest)
    {
        var sb = new StringBuilder(digest.Length * 2);
        foreach (byte b in digest)
        {
            sb.Append(b.ToString("x2"));
        }
        return sb.ToString();
    }

    private static string Sha1Hex(string text)
    {
        using (var sha = SHA1.Create())
        {
            return Hex(sha.ComputeHash(Encoding.UTF8.GetBytes(text)));
        }
    }

    private static string Md5Hex(byte[] body)
    {
        using (var md5 = MD5.Create())
        {
            return Hex(md5.ComputeHash(body));
        }
    }

    private static JsonValue Load(string dir, string name)
    {
        return JsonValue.Parse(File.ReadAllText(Path.Combine(dir, name), Encoding.UTF8));
    }

    private static void Signing(string dir)
    {
        JsonValue v = Load(dir, "signing.json");
        foreach (JsonValue c in (JsonArray)v["sign"])
        {
            Case("signing.json sign: " + S(c, "name"), () =>
            {
                using (var creds = new Credentials(S(c, "app_key"), S(c, "secret")))
                {
                    JsonValue got;
                    if ((ulong)c["cur_time"] == 0)
                    {
                        ZeroTime(creds, c);
                        return;
                    }
                    try
                    {
                        using (AuthHeaders h = creds.Sign(S(c, "nonce"), (ulong)c["cur_time"]))
                        {
                            var headers = new JsonArray();
                            foreach (var pair in h.Pairs)
                            {
                                headers.Add(new JsonArray(J(pair.Key), J(pair.Value)));
                            }
                            got = new JsonObject { { "headers", headers } };
                            // .NET's own SHA1 agrees with the library.
                            Check(Sha1Hex(S(c, "secret") + h.Nonce + h.CurTime) == h.CheckSum, "SHA1 agrees");
                        }
                    }
                    catch (ValidationException e)
                    {
                        NoSecret(e, S(c, "secret"));
                        got = ValidationJson(e);
                    }
                    Same(got, c["expect"]);
                }
            });
        }
        foreach (JsonValue c in (JsonArray)v["credentials"])
        {
            Case("signing.json credentials: " + S(c, "name"), () =>
            {
                JsonValue got;
                try
                {
                    using (var creds = new Credentials(S(c, "app_key"), S(c, "secret")))
                    {
                        Check(creds.AppKey == S(c, "app_key"), "app key");
                    }
                    got = J("ok");
                }
                catch (ValidationException e)
                {
                    got = ValidationJson(e);
                }
                Same(got, c["expect"]);
            });
        }
        foreach (JsonValue c in (JsonArray)v["checksum"])
        {
            Case("signing.json checksum: " + S(c, "checksum"), () =>
            {
                Check(Ecp.Checksum(S(c, "secret"), S(c, "nonce"), S(c, "cur_time")) == S(c, "checksum"), "checksum");
                Check(Sha1Hex(S(c, "secret") + S(c, "nonce") + S(c, "cur_time")) == S(c, "checksum"), ".NET SHA1");
            });
        }
    }

    // A CurTime of 0 asks the library for the clock, so the vector's digest of "0" is checked
    // with the bare Checksum, and the signature is checked to be of now.
    private static void ZeroTime(Credentials creds, JsonValue c)
    {
        JsonValue want = c["expect"]["headers"];
        Check(Ecp.Checksum(S(c, "secret"), S(c, "nonce"), "0") == (string)want[3][1], "the digest of CurTime 0");
        using (AuthHeaders h = creds.Sign(S(c, "nonce"), 0))
        {
            long now = (long)(DateTime.UtcNow - new DateTime(1970, 1, 1)).TotalSeconds;
            Check(h.AppKey == (string)want[0][1] && h.Nonce == (string)want[1][1], "key and nonce");
            Check(Math.Abs(long.Parse(h.CurTime) - now) <= 2 && Sha1Hex(S(c, "secret") + h.Nonce + h.CurTime) == h.CheckSum, "0 reads the clock");
        }
    }

    private static void Requests(string dir)
    {
        JsonValue v = Load(dir, "requests.json");
        using (var creds = new Credentials(S(v, "app_key"), S(v, "secret")))
        {
            foreach (JsonValue c in (JsonArray)v["cases"])
            {
                Case("requests.json: " + S(c, "name"), () =>
                {
                    JsonValue p = c["params"];
                    JsonValue got;
                    try
                    {
                        using (EcpRequest request = Build(c["request"], p))
                        {
                            string baseUrl = ((JsonObject)c).ContainsKey("base_url") ? S(c, "base_url") : null;
                            PreparedRequest prepared = request.Prepare(baseUrl, creds, S(v, "nonce"), (ulong)v["cur_time"]);
                            var headers = new JsonArray();
                            foreach (var h in prepared.Headers)
                            {
                                headers.Add(new JsonArray(J(h.Key), J(h.Value)));
                            }
                            // The request's own JSON gives back what it was built from.
                            Same(JsonValue.Parse(request.ToJson()), new JsonObject { { "request", c["request"] }, { "params", p } });
                            got = new JsonObject
                            {
                                { "method", J(prepared.Method) }, { "url", J(prepared.Url) },
                                { "headers", headers }, { "body", J(prepared.Body) },
                            };
                        }
                    }
                    catch (ValidationException e)
                    {
                        got = ValidationJson(e);
                    }
                    Same(got, c["expect"]);
                });
            }
        }
    }

    private static EcpRequest Build(JsonValue kind, JsonValue p)
    {
        switch ((string)kind)
        {
            case "start_call":
                return EcpRequest.StartCall(S(p, "caller_acc"), S(p, "caller"), S(p, "callee"), (uint)p["max_dur"]);
            case "start_conf":
                return EcpRequest.StartConf(S(p, "caller_acc"), S(p, "caller"),
                    ((JsonArray)p["callees"]).Select(x => (string)x).ToList(), (uint)p["max_dur"]);
            default:
                return EcpRequest.Query(S(p, "session"), S(p, "kind") == "call" ? SessionKind.Call : SessionKind.Conference);
        }
    }

    private static void Responses(string dir)
    {
        JsonValue v = Load(dir, "responses.json");
        foreach (JsonValue c in (JsonArray)v["cases"])
        {
            Case("responses.json: " + S(c, "name"), () =>
            {
                byte[] body = Bytes(S(c, "body"));
                int status = (int)c["http_status"];
                JsonValue got;
                try
                {
                    if (S(c, "endpoint") == "query_by_session")
                    {
                        CallRecord r = Ecp.ParseQueryResponse(status, body);
                        got = new JsonObject { { "ok", new JsonObject
                        {
                            { "session", J(r.Session) }, { "duration_sec", J(r.DurationSec) },
                            { "answered", J(r.Answered) }, { "billed_minutes", J((long)r.BilledMinutes) },
                            { "cost_fen", J((long)r.CostFen) }, { "legs", J(r.Legs.Length) },
                            { "members", Strings(r.Members) },
                        } } };
                    }
                    else
                    {
                        int endpoint = S(c, "endpoint") == "start_call" ? Endpoint.StartCall : Endpoint.StartConf;
                        got = new JsonObject { { "ok", new JsonObject { { "session", J(Ecp.ParseStartResponse(endpoint, status, body)) } } } };
                    }
                }
                catch (ApiException e)
                {
                    Check(e.Message.Contains("/call/ecp/"), "the message names the endpoint");
                    got = new JsonObject { { "error", new JsonObject
                    {
                        { "kind", J("api") }, { "code", J(e.ApiCode) }, { "message", J(e.ApiMessage) }, { "retry", J(e.RetryAdvice) },
                    } } };
                }
                catch (ProtocolException e)
                {
                    Check(e.Message.Contains("/call/ecp/"), "the message names the endpoint");
                    got = new JsonObject { { "error", new JsonObject
                    {
                        { "kind", J("protocol") }, { "protocol", J(e.Reason) }, { "retry", J(e.RetryAdvice) },
                    } } };
                }
                Same(got, c["expect"]);
            });
        }
    }

    private static void Callbacks(string dir)
    {
        JsonValue v = Load(dir, "callbacks.json");
        foreach (JsonValue c in (JsonArray)v["verify"])
        {
            Case("callbacks.json verify: " + S(c, "name"), () =>
            {
                byte[] body = Bytes(S(c, "body"));
                var headers = Pairs(c["headers"]);
                JsonValue tolerance = c["tolerance_ms"];
                bool numeric = tolerance != null && tolerance.JsonType == JsonType.Number;
                using (var creds = new Credentials(S(c, "app_key"), S(c, "secret")))
                using (CallbackVerifier verifier = numeric ? new CallbackVerifier(creds, (ulong)tolerance) : CallbackVerifier.SkipTimeCheck(creds))
                {
                    string got;
                    try
                    {
                        verifier.Verify(body, headers, (ulong)c["now_ms"]);
                        got = "ok";
                        // .NET's MD5 of the raw bytes, hex-encoded ONCE, is the header the service sent.
                        string md5 = headers.First(h => h.Key.Equals("MD5", StringComparison.OrdinalIgnoreCase)).Value;
                        Check(Md5Hex(body) == md5 && Ecp.BodyMd5(body) == md5, "MD5 agrees");
                    }
                    catch (CallbackException e)
                    {
                        NoSecret(e, S(c, "secret"));
                        got = e.Reason;
                    }
                    Same(J(got), c["expect"]);
                }
            });
        }
        // SignCallback gives the headers of the genuine callbacks: every "ok" case that carries the
        // five headers in a delivery's order, CurTime in milliseconds.
        var names = new[] { "Content-Type", "AppKey", "CurTime", "MD5", "CheckSum" };
        var signable = ((JsonArray)v["verify"]).Where(c => (string)c["expect"] == "ok"
            && Pairs(c["headers"]).Select(h => h.Key).SequenceEqual(names)
            && Pairs(c["headers"])[2].Value.Length == 13).ToList();
        Case("callbacks.json sign: the vectors hold genuine callbacks to sign", () => Check(signable.Count >= 5, "at least five cases"));
        foreach (JsonValue c in signable)
        {
            Case("callbacks.json sign: " + S(c, "name"), () =>
            {
                var want = Pairs(c["headers"]);
                using (var creds = new Credentials(S(c, "app_key"), S(c, "secret")))
                {
                    var got = Ecp.SignCallback(creds, Bytes(S(c, "body")), ulong.Parse(want[2].Value));
                    Check(got.SequenceEqual(want), "the vector's headers, in order");
                }
            });
        }
        foreach (JsonValue c in (JsonArray)v["parse"])
        {
            Case("callbacks.json parse: " + S(c, "name"), () =>
            {
                JsonValue got;
                try
                {
                    CallbackEvent e = Ecp.ParseCallback(Bytes(S(c, "body")));
                    if (e.IsCallEnd)
                    {
                        CallRecord r = e.Record;
                        got = new JsonObject
                        {
                            { "type", J("call_end") }, { "session", J(r.Session) }, { "init_account", J(r.InitAccount) },
                            { "caller", J(r.Caller) }, { "callee", J(r.Callee) }, { "create_time_ms", J(r.CreateTimeMs) },
                            { "start_time", J(r.StartTime) }, { "status", J(r.Status) }, { "duration_sec", J(r.DurationSec) },
                            { "answered", J(r.Answered) }, { "billed_minutes", J((long)r.BilledMinutes) },
                            { "cost_fen", J((long)r.CostFen) }, { "members", Strings(r.Members) },
                            { "hang_causes", Strings(r.Legs.Select(l => l.HangCause)) },
                        };
                        Check(JsonValue.Parse(r.Json)["session"] == null ? r.Session == null : (string)JsonValue.Parse(r.Json)["session"] == r.Session, "record JSON");
                    }
                    else
                    {
                        got = new JsonObject { { "type", J("other") }, { "event_type", J(e.EventType) }, { "raw", J(e.Raw) } };
                    }
                }
                catch (CallbackException e)
                {
                    got = new JsonObject { { "error", J(e.Reason) } };
                }
                Same(got, c["expect"]);
            });
        }
    }

    private static void Server(string dir)
    {
        JsonValue v = Load(dir, "server.json");
        using (var app = new Credentials(S(v, "app_key"), S(v, "secret")))
        {
            foreach (JsonValue c in (JsonArray)v["cases"])
            {
                Case("server.json: " + S(c, "name"), () =>
                {
                    JsonValue got;
                    try
                    {
                        Ecp.VerifyRequest(app, Pairs(c["headers"]), (ulong)c["now_secs"], (ulong)v["window_secs"]);
                    }
                    catch (AuthException e)
                    {
                        Same(new JsonObject { { "reply", J(e.Reply) }, { "refusal", J(e.Reason) } }, c["expect"]);
                        return;
                    }
                    try
                    {
                        got = JsonValue.Parse(Ecp.ParseServerRequestJson(S(c, "path"), S(c, "query"), Bytes(S(c, "body"))));
                    }
                    catch (ValidationException e)
                    {
                        got = new JsonObject { { "reply", J(e.Reply) }, { "field", J(e.Field) } };
                    }
                    Same(got, c["expect"]);
                });
            }
        }
    }

    private const string Key = "fd460d34e786e7754e505bc4fab0f027";
    private const string Secret = "xxxxxxxx";

    private static void Wrapper()
    {
        Case("wrapper: versions", () =>
        {
            Check(Ecp.LibraryAbiVersion == Ecp.AbiVersion, "ABI");
            Check(Ecp.Version.Split('.').Length >= 3, "version");
        });

        Case("wrapper: API errors carry the code, the message and the retry advice", () =>
        {
            var e = Throws<ApiException>(() => Ecp.ParseStartResponse(Endpoint.StartCall, 200, Bytes("{\"desc\":\"bad http header\",\"code\":414}")));
            Check(e.ApiCode == 414 && e.ApiMessage == "bad http header" && e.RetryAdvice == "never", "414");
            Check(e.Kind == "api" && e.Result == Result.Api && e.MaybeSent && e.HttpStatus == 200, "kind");
            e = Throws<ApiException>(() => Ecp.ParseStartResponse(Endpoint.StartConf, 200, Bytes("{\"code\":500}")));
            Check(e.RetryAdvice == "outcome_unknown", "a 500 on a start may have placed the call");
            Check(Ecp.CodeRetryAdvice(500, Endpoint.QueryBySession) == "safe", "a 500 on a query is safe");
            Check(Ecp.CodeMeaning(416) == "rate limited", "meaning");
            Check(((JsonArray)JsonValue.Parse(Ecp.CodeTableJson())).Count >= 23, "code table");
        });

        Case("wrapper: NULL, NUL and invalid input are refused", () =>
        {
            var e = Throws<YunxinEcpException>(() => new Credentials(null, Secret));
            Check(e.Result == Result.NullArgument && e.Field == "app_key", "NULL app key");
            Throws<ArgumentException>(() => new Credentials(Key, "xx\0xx"));
            // A lone surrogate is no UTF-8: refused before the call.
            Throws<ArgumentException>(() => new Credentials(Key, "x\ud800x"));
            var v = Throws<ValidationException>(() => EcpRequest.StartConf("liuxuanlin", "13777777777", new[] { "13888888888", "+8613666666666" }, 60));
            Check(v.Field == "callee" && v.Rule == "country_code" && v.Index == 1, "callee[1]");
            v = Throws<ValidationException>(() => EcpRequest.StartCall("liuxuanlin", "13888888888", "13777777777", 0));
            Check(v.Field == "maxDur" && v.Rule == "not_positive", "maxDur 0");
        });

        Case("wrapper: the secret never shows", () =>
        {
            using (var creds = new Credentials(Key, "very-secret-value"))
            {
                Check(!creds.ToString().Contains("very-secret-value"), "ToString");
            }
        });

        Case("wrapper: SignNow agrees with .NET's SHA1; handles survive double Dispose", () =>
        {
            var creds = new Credentials(Key, Secret);
            using (AuthHeaders a = creds.SignNow())
            using (AuthHeaders b = creds.SignNow())
            {
                Check(a.Nonce != b.Nonce && a.Nonce.Length == 32, "fresh nonces");
                Check(Sha1Hex(Secret + a.Nonce + a.CurTime) == a.CheckSum, "SHA1");
                long now = (long)(DateTime.UtcNow - new DateTime(1970, 1, 1)).TotalSeconds;
                Check(Math.Abs(long.Parse(a.CurTime) - now) <= 2, "seconds, now");
            }
            PreparedRequest p;
            using (var call = EcpRequest.StartCall("liuxuanlin", "13888888888", "13777777777", 100))
            {
                p = call.PrepareNow(null, creds);
            }
            Check(p.Url == "https://api.netease.im/call/ecp/startcall.action" && p.Method == "POST", "default URL");
            Check(p.Headers[4].Key == "Content-Type" && Sha1Hex(Secret + p.Headers[1].Value + p.Headers[2].Value) == p.Headers[3].Value, "signed afresh");
            creds.Dispose();
            creds.Dispose();
            Throws<ObjectDisposedException>(() => creds.SignNow());
        });

        Case("wrapper: the docs' getMD5 (hex-encoded twice) is refused, the right MD5 accepted", () =>
        {
            byte[] body = Bytes("{\"callback\":\"{\\\"durationSec\\\":61,\\\"session\\\":\\\"s-3\\\"}\",\"eventType\":\"10\"}");
            string now = ((long)(DateTime.UtcNow - new DateTime(1970, 1, 1)).TotalMilliseconds).ToString();
            string md5 = Md5Hex(body);
            string twice = Hex(Encoding.ASCII.GetBytes(md5));
            Check(twice.Length == 64, "the docs' 64 characters");
            using (var creds = new Credentials(Key, Secret))
            using (var verifier = new CallbackVerifier(creds))
            {
                var good = new Dictionary<string, string> { { "AppKey", Key }, { "CurTime", now }, { "MD5", md5 }, { "CheckSum", Sha1Hex(Secret + md5 + now) } };
                CallbackEvent e = verifier.VerifyAndParse(body, good);
                Check(e.IsCallEnd && e.Record.Session == "s-3" && e.Record.BilledMinutes == 2, "the record");
                var bad = new Dictionary<string, string> { { "AppKey", Key }, { "CurTime", now }, { "MD5", twice }, { "CheckSum", Sha1Hex(Secret + twice + now) } };
                Check(Throws<CallbackException>(() => verifier.Verify(body, bad)).Reason == "md5_mismatch", "md5_mismatch");
            }
        });
    }

    private static void SignedCallbacks()
    {
        Case("wrapper: SignCallback signs as .NET's MD5 and SHA1 do, and the verifier accepts it", () =>
        {
            byte[] body = Bytes("{\"callback\":\"{\\\"durationSec\\\":61,\\\"session\\\":\\\"s-sign\\\"}\",\"eventType\":\"10\"}");
            const ulong at = 1700000000123;
            using (var creds = new Credentials(Key, Secret))
            using (var verifier = new CallbackVerifier(creds))
            {
                var headers = Ecp.SignCallback(creds, body, at);
                string md5 = Md5Hex(body);
                Check(headers.Select(h => h.Key).SequenceEqual(new[] { "Content-Type", "AppKey", "CurTime", "MD5", "CheckSum" }), "a delivery's order");
                Check(headers[0].Value == "application/json" && headers[1].Value == Key && headers[2].Value == "1700000000123", "type, key, CurTime in ms");
                Check(headers[3].Value == md5 && headers[4].Value == Sha1Hex(Secret + md5 + "1700000000123"), ".NET's MD5 and SHA1");
                CallbackEvent e = verifier.VerifyAndParse(body, headers, at + 1000);
                Check(e.IsCallEnd && e.Record.Session == "s-sign" && e.Record.BilledMinutes == 2, "the record");
                // The bytes are signed, not their JSON: one byte more is refused.
                byte[] longer = body.Concat(new[] { (byte)' ' }).ToArray();
                Check(Throws<CallbackException>(() => verifier.Verify(longer, headers, at)).Reason == "md5_mismatch", "md5_mismatch");
                using (var stranger = new Credentials(Key, "not-the-secret"))
                {
                    var forged = Ecp.SignCallback(stranger, body, at);
                    Check(forged[4].Value == Sha1Hex("not-the-secret" + md5 + "1700000000123"), "SHA1 with the other secret");
                    var refused = Throws<CallbackException>(() => verifier.Verify(body, forged, at));
                    Check(refused.Reason == "checksum_mismatch", "checksum_mismatch");
                    NoSecret(refused, "not-the-secret");
                }
            }
        });

        Case("wrapper: SignCallback at 0 reads the clock in milliseconds; seconds and null are refused by name", () =>
        {
            byte[] body = Bytes("{\"callback\":\"{}\",\"eventType\":\"10\"}");
            using (var creds = new Credentials(Key, Secret))
            using (var verifier = new CallbackVerifier(creds))
            {
                var headers = Ecp.SignCallback(creds, body);
                long now = (long)(DateTime.UtcNow - new DateTime(1970, 1, 1)).TotalMilliseconds;
                Check(headers[2].Value.Length == 13 && Math.Abs(long.Parse(headers[2].Value) - now) < 60000, "milliseconds, this minute");
                verifier.Verify(body, headers);
                Check(Ecp.SignCallback(creds, new byte[0], 1700000000000)[3].Value == Md5Hex(new byte[0]), "MD5 of nothing");
                Check(Ecp.SignCallback(creds, null, 1700000000000)[3].Value == Md5Hex(new byte[0]), "null is no bytes");
                var v = Throws<ValidationException>(() => Ecp.SignCallback(creds, body, 1700000000));
                Check(v.Field == "cur_time_ms" && v.Rule == "seconds", "field cur_time_ms, rule seconds");
                NoSecret(v, Secret);
                Check(Throws<ArgumentNullException>(() => Ecp.SignCallback(null, body)).ParamName == "credentials", "credentials named");
            }
        });
    }

    // A caller's own contract for an answer of EcpClient.Request<T>.
    [DataContract]
    private sealed class StartAnswer
    {
        [DataMember(Name = "code")] public long Code { get; set; }
        [DataMember(Name = "obj")] public StartObj Obj { get; set; }
    }

    [DataContract]
    private sealed class StartObj
    {
        [DataMember(Name = "session")] public string Session { get; set; }
    }

    private static readonly Dictionary<string, string> UserParams = new Dictionary<string, string> { { "accid", "zhangsan" }, { "name", "张三" } };

    private static void Api()
    {
        Case("api: a path that is not a plain absolute path is refused, naming \"path\"", () =>
        {
            foreach (string bad in new[] { "nimserver/user/create.action", "https://api.netease.im/x", "/a/../b", "/a?b=1", "//a" })
            {
                var e = Throws<ValidationException>(() => EcpRequest.Api(bad, UserParams).Dispose());
                Check(e.Field == "path" && e.Rule == "api_path", "bad path '" + bad + "': " + e.Field + "/" + e.Rule);
            }
            Check(Throws<YunxinEcpException>(() => EcpRequest.Api(null, UserParams)).Result == Result.NullArgument, "NULL path");
            Check(Throws<ValidationException>(() => EcpRequest.Api("", UserParams)).Field == "path", "an empty path");
            var empty = Throws<ValidationException>(() => EcpRequest.Api("/a", new[] { new KeyValuePair<string, string>("", "x") }));
            Check(empty.Field == "params" && empty.Rule == "empty" && empty.Index == 0, "an empty name");
        });

        Case("api: a request's JSON, its prepared form, and its answer read", () =>
        {
            using (var creds = new Credentials(Key, Secret))
            using (var request = EcpRequest.Api("/nimserver/user/create.action", UserParams, true))
            {
                Same(JsonValue.Parse(request.ToJson()), JsonValue.Parse(
                    "{\"request\":\"api\",\"params\":{\"path\":\"/nimserver/user/create.action\",\"params\":[[\"accid\",\"zhangsan\"],[\"name\",\"张三\"]],\"idempotent\":true}}"));
                PreparedRequest p = request.Prepare(null, creds, "abc", 1700000000);
                Check(p.Url == "https://api.netease.im/nimserver/user/create.action" && p.Body == "accid=zhangsan&name=%E5%BC%A0%E4%B8%89", "URL and body");
                Check(p.Headers[3].Value == Sha1Hex(Secret + "abc1700000000"), "signed as every request");
                string ok = "{\"code\":200,\"info\":{\"accid\":\"zhangsan\"}}";
                Check(Ecp.ParseApiResponse(request, 200, Bytes(ok)) == ok, "the whole body");
                var e = Throws<ApiException>(() => Ecp.ParseApiResponse(request, 200, Bytes("{\"code\":414,\"desc\":\"already register\"}")));
                Check(e.ApiCode == 414 && e.ApiMessage == "already register" && e.RetryAdvice == "never", "a code other than 200");
                Check(Throws<ProtocolException>(() => Ecp.ParseApiResponse(request, 200, Bytes("[]"))).Reason != null, "no code");
            }
        });

        Case("api: against the mock, a path it does not serve, and an ECP path", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, BackoffMs = 10 }))
            {
                Check(Throws<ValidationException>(() => client.Request("../user/create.action", UserParams)).Field == "path", "refused before sending");
                // The mock serves only the ECP paths: any other is HTTP 404 "not found", which is no
                // JSON: an HTTP layer refused it before any service saw it, so it is not sent again.
                var e = Throws<ProtocolException>(() => client.Request("/nimserver/user/create.action", UserParams));
                Check(e.Reason == "not_json" && e.HttpStatus == 404 && e.RawBody == "not found", "404 not found: " + e.Message);
                Check(e.RetryAdvice == "never", "refused by the HTTP layer: never sent again");
                var seen = ((JsonArray)JsonValue.Parse(mock.Control("GET", "/_mock/requests"))).Where(r => (string)r["path"] == "/nimserver/user/create.action");
                Check(seen.Count() == 1 && (string)seen.First()["body"] == "accid=zhangsan&name=%E5%BC%A0%E4%B8%89", "sent once, form-encoded");
                // An ECP path through the generic request: the whole answer, read into the caller's type.
                var answer = client.Request<StartAnswer>("/call/ecp/startcall.action", new Dictionary<string, string>
                {
                    { "callerAcc", "liuxuanlin" }, { "caller", "13888888888" }, { "callee", "13777777777" }, { "maxDur", "100" },
                });
                Check(answer.Code == 200 && answer.Obj.Session.Length == 36 && mock.StartCount == 1, "a call placed");
                var api = Throws<ApiException>(() => client.Request("/call/ecp/queryBySession.action", new Dictionary<string, string> { { "session", "nope" }, { "type", "1" } }, true));
                Check(api.ApiCode == 404 && api.Json.Contains("\"path\":\"/call/ecp/queryBySession.action\""), "a code other than 200 is an ApiException");
            }
        });
    }

    private static void BaseUrlFromEnvironment()
    {
        Case("client: no BaseUrl means YUNXIN_BASE_URL, else the service; the option wins", () =>
        {
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            {
                try
                {
                    Environment.SetEnvironmentVariable("YUNXIN_BASE_URL", null);
                    using (var client = new EcpClient(creds, null))
                        Check(client.BaseUrl == "https://api.netease.im", "the service by default");
                    Environment.SetEnvironmentVariable("YUNXIN_BASE_URL", "http://127.0.0.1:9");
                    using (var client = new EcpClient(creds, null))
                        Check(client.BaseUrl == "http://127.0.0.1:9", "the variable when set");
                    using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = "http://127.0.0.1:7" }))
                        Check(client.BaseUrl == "http://127.0.0.1:7", "the option wins");
                    Environment.SetEnvironmentVariable("YUNXIN_BASE_URL", "ftp://nope");
                    try
                    {
                        new EcpClient(creds, null).Dispose();
                        Check(false, "a bad YUNXIN_BASE_URL is refused");
                    }
                    catch (ValidationException e)
                    {
                        Check(e.Field == "YUNXIN_BASE_URL" && e.Rule == "url", "named: " + e.Field + " " + e.Rule);
                    }
                }
                finally
                {
                    Environment.SetEnvironmentVariable("YUNXIN_BASE_URL", null);
                }
            }
        });
    }

    private static void Mock()
    {
        Case("mock: start a call and a conference, query both, verify both callbacks", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, TimeoutMs = 20000, BackoffMs = 10 }))
            {
                Check(client.BaseUrl == mock.BaseUrl, "base URL");
                mock.SetCallbackUrl(mock.InboxUrl);
                mock.SetOutcomeAnswered("13777777777", 61);
                string call = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                string conf = client.StartConf("liuxuanlin", "13777777777", new[] { "13888888888", "13666666666" }, 600);
                Check(call.Length == 36 && call != conf && mock.StartCount == 2, "two starts");
                CallRecord r = client.Query(call, SessionKind.Call);
                Check(r.Session == call && r.Answered && r.BilledMinutes == 2 && r.Legs.Length == 2, "the call record");
                r = client.Query(conf, SessionKind.Conference);
                Check(r.IsConference && r.Members.Length == 3, "the conference record");
                Check(Throws<ApiException>(() => client.Query("no-such-session", SessionKind.Call)).ApiCode == 404, "404");

                Check(mock.WaitForInbox(2, 10000) == 2, "two callbacks");
                using (var verifier = new CallbackVerifier(creds))
                {
                    var seen = new List<string>();
                    for (int i = 0; i < 2; i++)
                    {
                        ReceivedCallback post = mock.Inbox(i);
                        seen.Add(verifier.VerifyAndParse(post.Body, post.Headers).Record.Session);
                    }
                    seen.Sort(StringComparer.Ordinal);
                    var want = new List<string> { call, conf };
                    want.Sort(StringComparer.Ordinal);
                    Check(seen.SequenceEqual(want), "both sessions");
                }
                Check((int)JsonValue.Parse(mock.StatsJson())["sessions"] == 2, "stats");
                Check(mock.SessionCount == 2, "session count");
            }
        });

        Case("mock: a wrong secret (414) shows the library's message unchanged, which points to yunxin-ecp doctor", () =>
        {
            const string secret = "a wrong secret 5f0c";
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, secret))
            using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, MaxRetries = 0 }))
            {
                var e = Throws<ApiException>(() => client.StartCall("liuxuanlin", "13888888888", "13777777777", 100));
                Check(e.ApiCode == 414 && e.ApiMessage == "bad http header", e.ApiCode + " " + e.ApiMessage);
                // The wrapper adds nothing and cuts nothing: the message is the error JSON's.
                Check(e.Message == (string)JsonValue.Parse(e.Json)["message"], e.Message);
                Check(e.Message.Contains("yunxin-ecp doctor"), e.Message);
                Check(!e.Message.Contains(secret), "no secret");
                var parsed = Throws<ApiException>(() => Ecp.ParseStartResponse(Endpoint.StartCall, 200, Bytes("{\"desc\":\"bad http header\",\"code\":414}")));
                Check(parsed.Message == e.Message, parsed.Message);
            }
        });

        Case("mock: a start is never resent once it may have arrived", () =>
        {
            string baseUrl;
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            {
                using (MockServer mock = MockServer.Start())
                using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, BackoffMs = 10 }))
                {
                    baseUrl = mock.BaseUrl;
                    mock.InjectFault("server_error");
                    var api = Throws<ApiException>(() => client.StartCall("liuxuanlin", "13888888888", "13777777777", 100));
                    Check(api.ApiCode == 500 && api.RetryAdvice == "outcome_unknown", "500");
                    mock.InjectFault("reset_before_response");
                    var t = Throws<TransportException>(() => client.StartCall("liuxuanlin", "13888888888", "13777777777", 100));
                    Check(t.MaybeSent && t.RetryAdvice == "outcome_unknown", "maybe sent");
                    Check(mock.StartCount == 2, "one attempt each");
                    mock.InjectFault("rate_limited");
                    client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                    Check(mock.StartCount == 3, "a 416 is retried");
                    Check(Throws<YunxinEcpException>(() => mock.InjectFault("gremlins")).Result == Result.InvalidArgument, "unknown fault");
                    mock.SetEcpEnabled(false);
                    Check(Throws<ApiException>(() => client.StartCall("liuxuanlin", "13888888888", "13777777777", 100)).ApiCode == 403, "403");
                }
                using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = baseUrl, MaxRetries = 0 }))
                {
                    var t = Throws<TransportException>(() => client.StartCall("liuxuanlin", "13888888888", "13777777777", 100));
                    Check(t.Reason == "connect" && !t.MaybeSent && t.RetryAdvice == "safe", "connect, not sent");
                }
            }
        });

        Case("client options: MaxResponseBytes sets the limit, zero settings are refused by name", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            {
                using (var small = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, MaxRetries = 0, MaxResponseBytes = 1024 }))
                using (var usual = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, MaxRetries = 0 }))
                {
                    // The same 2 KiB answer: too large under 1 KiB, fine under the default 1 MiB.
                    mock.InjectFault("oversized", bytes: 2048);
                    Check(Throws<ProtocolException>(() => small.StartCall("liuxuanlin", "13888888888", "13777777777", 100)).Reason == "too_large", "too_large");
                    mock.InjectFault("oversized", bytes: 2048);
                    Check(usual.StartCall("liuxuanlin", "13888888888", "13777777777", 100).Length == 36, "2 KiB accepted by default");
                }
                var zero = new[]
                {
                    Tuple.Create(new ClientOptions { ConnectTimeoutMs = 0 }, "connect_timeout_ms"),
                    Tuple.Create(new ClientOptions { TimeoutMs = 0 }, "timeout_ms"),
                    Tuple.Create(new ClientOptions { MaxResponseBytes = 0 }, "max_response_bytes"),
                };
                foreach (var z in zero)
                {
                    var e = Throws<ValidationException>(() => new EcpClient(creds, z.Item1).Dispose());
                    Check(e.Field == z.Item2 && e.Rule == "not_positive", "zero " + z.Item2 + ": " + e.Field + "/" + e.Rule);
                }
                var absurd = new[]
                {
                    Tuple.Create(new ClientOptions { ConnectTimeoutMs = ulong.MaxValue }, "connect_timeout_ms"),
                    Tuple.Create(new ClientOptions { TimeoutMs = ulong.MaxValue }, "timeout_ms"),
                    Tuple.Create(new ClientOptions { BackoffMs = 9300000000000000000UL }, "backoff_ms"),
                };
                foreach (var a in absurd)
                {
                    var e = Throws<ValidationException>(() => new EcpClient(creds, a.Item1).Dispose());
                    Check(e.Field == a.Item2 && e.Rule == "at_most", "absurd " + a.Item2 + ": " + e.Field + "/" + e.Rule);
                }
            }
        });
    }

    // ---- the client's log events (Ecp.SetLogHandler) ----

    /// <summary>Collects what a log handler receives, from any thread.</summary>
    private sealed class LogLines
    {
        private readonly List<Tuple<LogLevel, string, int>> lines = new List<Tuple<LogLevel, string, int>>();

        public void Add(LogLevel level, string message)
        {
            lock (lines)
            {
                lines.Add(Tuple.Create(level, message, Thread.CurrentThread.ManagedThreadId));
            }
        }

        public List<Tuple<LogLevel, string, int>> All
        {
            get
            {
                lock (lines)
                {
                    return new List<Tuple<LogLevel, string, int>>(lines);
                }
            }
        }

        public int Count => All.Count;

        public string Dump() => string.Join("\n    ", All.Select(l => l.Item1 + " " + l.Item2));
    }

    /// <summary>Every Nonce and CheckSum value the mock received.</summary>
    private static List<string> SentSecrets(MockServer mock)
    {
        var values = new List<string>();
        foreach (JsonValue request in (JsonArray)JsonValue.Parse(mock.Control("GET", "/_mock/requests")))
        {
            JsonValue headers = request["headers"];
            if (headers == null)
            {
                continue;
            }
            foreach (JsonValue header in (JsonArray)headers)
            {
                string name = (string)header[0];
                if (name.Equals("Nonce", StringComparison.OrdinalIgnoreCase) || name.Equals("CheckSum", StringComparison.OrdinalIgnoreCase))
                {
                    values.Add((string)header[1]);
                }
            }
        }
        return values;
    }

    private static readonly KeyValuePair<string, string>[] MobileParams =
    {
        new KeyValuePair<string, string>("mobile", "13888888888"),
    };

    /// <summary>Case, with a deadline: the library calls the handler holding its logging lock, so
    /// a regression (an exception unwinding through the library leaves the lock held) hangs the
    /// next installation rather than failing. Past the deadline the suite reports and kills itself.</summary>
    private static void LoggingCase(string name, Action body)
    {
        var worker = new Thread(() => Case(name, body)) { IsBackground = true };
        worker.Start();
        if (!worker.Join(120000))
        {
            failed++;
            Console.Error.WriteLine("FAIL [" + name + "] still running after 120 s: a deadlock on the library's logging lock?");
            Console.WriteLine("csharp: " + passed + " passed, " + failed + " failed");
            Console.Out.Flush();
            Console.Error.Flush();
            // Not Environment.Exit: Mono's shutdown waits for the thread stuck in native code.
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        }
    }

    private static void Logging()
    {
        LoggingCase("logging: a retried query logs 'retry' at Info and every attempt at Debug, on the calling thread, nothing secret", () =>
        {
            var log = new LogLines();
            try
            {
                using (MockServer mock = MockServer.Start())
                using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
                using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, BackoffMs = 10 }))
                {
                    string session = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                    Ecp.SetLogHandler(log.Add);
                    mock.InjectFault("busy_503");
                    Check(client.Query(session, SessionKind.Call).Session == session, "the query's record, after a retry");
                    // A path with a phone number in it (and one in the body): masked in the path, the body never logged.
                    Check(Throws<ProtocolException>(() => client.Request("/nimserver/user/13888888888.action", MobileParams)).HttpStatus == 404, "the mock's 404");
                    Ecp.SetLogHandler(null);

                    var lines = log.All;
                    string dump = "\n    " + log.Dump();
                    Check(lines.Count(l => l.Item1 == LogLevel.Info && l.Item2.StartsWith("retry ", StringComparison.Ordinal) && l.Item2.Contains("reason=api_503")) == 1, "one retry at Info:" + dump);
                    var sent = lines.Where(l => l.Item2.StartsWith("request sent ", StringComparison.Ordinal)).ToList();
                    Check(sent.All(l => l.Item1 == LogLevel.Debug), "request sent at Debug:" + dump);
                    Check(sent.Count(l => l.Item2.Contains("endpoint=query_by_session") && l.Item2.Contains("attempt=1")) == 1
                        && sent.Count(l => l.Item2.Contains("endpoint=query_by_session") && l.Item2.Contains("attempt=2")) == 1, "both attempts sent:" + dump);
                    Check(lines.Count(l => l.Item1 == LogLevel.Debug && l.Item2.StartsWith("response ", StringComparison.Ordinal) && l.Item2.Contains("code=503")) == 1, "the 503 response:" + dump);
                    string id = lines[0].Item2.Split(' ').First(f => f.StartsWith("id=", StringComparison.Ordinal));
                    Check(lines.Where(l => l.Item2.Contains("endpoint=query_by_session") || l.Item2.StartsWith("retry", StringComparison.Ordinal)).All(l => l.Item2.Contains(id + " ")), "one id across the query's retries:" + dump);
                    Check(lines.All(l => l.Item3 == Thread.CurrentThread.ManagedThreadId), "on the thread making the request");
                    Check(sent.Any(l => l.Item2.Contains("path=/nimserver/user/138****8888.action")), "the path's number masked:" + dump);
                    Check(lines.Any(l => l.Item1 == LogLevel.Warn && l.Item2.StartsWith("gave up ", StringComparison.Ordinal) && l.Item2.Contains("advice=never")), "gave up at Warn:" + dump);

                    List<string> secrets = SentSecrets(mock);
                    Check(secrets.Count >= 2 * 4, "the mock saw the Nonce and CheckSum of every attempt");
                    foreach (var line in lines)
                    {
                        Check(!line.Item2.Contains(MockServer.SampleAppSecret), "no app secret: " + line.Item2);
                        Check(!line.Item2.Contains("13888888888") && !line.Item2.Contains("13777777777"), "no unmasked phone number: " + line.Item2);
                        Check(!line.Item2.Contains("mobile"), "no body: " + line.Item2);
                        Check(secrets.All(v => !line.Item2.Contains(v)), "no Nonce or CheckSum value: " + line.Item2);
                        Check(!line.Item2.Contains("Nonce") && !line.Item2.Contains("CheckSum") && !line.Item2.Contains("CurTime"), "no header: " + line.Item2);
                    }
                }
            }
            finally
            {
                Ecp.SetLogHandler(null);
            }
        });

        LoggingCase("logging: maxLevel filters, removing the handler (null or Off) stops the lines", () =>
        {
            var log = new LogLines();
            try
            {
                using (MockServer mock = MockServer.Start())
                using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
                using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, BackoffMs = 10, MaxRetries = 1 }))
                {
                    string session = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                    Ecp.SetLogHandler(log.Add, LogLevel.Info);
                    mock.InjectFault("busy_503");
                    client.Query(session, SessionKind.Call);
                    Check(log.Count == 1 && log.All[0].Item1 == LogLevel.Info && log.All[0].Item2.StartsWith("retry ", StringComparison.Ordinal), "Info: the retry only:\n    " + log.Dump());

                    var warn = new LogLines();
                    Ecp.SetLogHandler(warn.Add, LogLevel.Warn);
                    mock.InjectFault("busy_503", 2);
                    Check(Throws<ApiException>(() => client.Query(session, SessionKind.Call)).ApiCode == 503, "two 503s exhaust MaxRetries 1");
                    Check(warn.Count == 1 && warn.All[0].Item1 == LogLevel.Warn && warn.All[0].Item2.StartsWith("gave up ", StringComparison.Ordinal)
                        && warn.All[0].Item2.Contains("attempts=2"), "Warn: gave up only:\n    " + warn.Dump());
                    Check(log.Count == 1, "the replaced handler got nothing more");

                    Ecp.SetLogHandler(null);
                    mock.InjectFault("busy_503");
                    client.Query(session, SessionKind.Call);
                    Check(log.Count == 1 && warn.Count == 1, "null: no more lines");

                    Ecp.SetLogHandler(log.Add);
                    client.Query(session, SessionKind.Call);
                    Check(log.Count == 3, "installed again: request sent and response");
                    Ecp.SetLogHandler(log.Add, LogLevel.Off);
                    mock.InjectFault("busy_503");
                    client.Query(session, SessionKind.Call);
                    Check(log.Count == 3, "Off: no more lines");
                }
            }
            finally
            {
                Ecp.SetLogHandler(null);
            }
        });

        LoggingCase("logging: a handler that throws neither crashes the process nor fails the query; the exception goes to Console.Error", () =>
        {
            TextWriter stderr = Console.Error;
            var captured = new StringWriter();
            try
            {
                using (MockServer mock = MockServer.Start())
                using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
                using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, BackoffMs = 10 }))
                {
                    string session = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                    int calls = 0;
                    Console.SetError(captured);
                    Ecp.SetLogHandler((level, message) =>
                    {
                        calls++;
                        throw new InvalidOperationException("handler boom");
                    });
                    mock.InjectFault("busy_503");
                    CallRecord record = client.Query(session, SessionKind.Call);
                    Ecp.SetLogHandler(null);
                    Console.SetError(stderr);
                    Check(record.Session == session && record.Answered, "the query's result");
                    Check(calls == 5, "every event reached the handler: " + calls);
                    string[] reported = captured.ToString().Split(new[] { '\n' }, StringSplitOptions.RemoveEmptyEntries);
                    Check(reported.Length == 5 && reported.All(l => l.StartsWith("yunxin_ecp: the log handler threw System.InvalidOperationException: handler boom (the ", StringComparison.Ordinal)),
                        "one line each on Console.Error: " + captured);
                    Check(reported.Any(l => l.Contains("the Info event \"retry id=")), "the dropped event named: " + captured);
                }
            }
            finally
            {
                Ecp.SetLogHandler(null);
                Console.SetError(stderr);
            }
        });

        LoggingCase("logging: inside the handler, SetLogHandler is refused; a refused level keeps the previous handler", () =>
        {
            var log = new LogLines();
            try
            {
                using (MockServer mock = MockServer.Start())
                using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
                using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, BackoffMs = 10 }))
                {
                    string session = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                    Exception inside = null;
                    Ecp.SetLogHandler((level, message) =>
                    {
                        log.Add(level, message);
                        try
                        {
                            Ecp.SetLogHandler(null);
                        }
                        catch (Exception e)
                        {
                            inside = e;
                        }
                    });
                    client.Query(session, SessionKind.Call);
                    Check(inside is InvalidOperationException && inside.Message.Contains("inside the log handler"), "refused inside: " + inside);
                    Check(log.Count == 2, "still installed: both events of the attempt:\n    " + log.Dump());

                    Ecp.SetLogHandler(log.Add);
                    var e2 = Throws<YunxinEcpException>(() => Ecp.SetLogHandler((level, message) => { }, (LogLevel)9));
                    Check(e2.Result == Result.InvalidArgument && e2.Json.Contains("max_level"), "a level outside yx_log_level: " + e2.Json);
                    client.Query(session, SessionKind.Call);
                    Check(log.Count == 4, "the previous handler and level stay:\n    " + log.Dump());
                }
            }
            finally
            {
                Ecp.SetLogHandler(null);
            }
        });

        LoggingCase("logging: installs and removals from several threads while others query", () =>
        {
            var log = new LogLines();
            try
            {
                using (MockServer mock = MockServer.Start())
                using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
                using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, BackoffMs = 10 }))
                {
                    string session = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                    var errors = new List<Exception>();
                    var threads = new List<Thread>();
                    int queriers = 4, toggles = 0;
                    for (int t = 0; t < 6; t++)
                    {
                        bool querier = t < queriers;
                        threads.Add(new Thread(() =>
                        {
                            try
                            {
                                if (querier)
                                {
                                    for (int i = 0; i < 40; i++)
                                    {
                                        Check(client.Query(session, SessionKind.Call).Session == session, "the record");
                                    }
                                }
                                else
                                {
                                    // Installs and removes for as long as the queries run.
                                    for (int i = 0; Volatile.Read(ref queriers) > 0; i++)
                                    {
                                        Ecp.SetLogHandler(i % 2 == 0 ? (Action<LogLevel, string>)log.Add : null);
                                        Interlocked.Increment(ref toggles);
                                        Thread.Sleep(0);
                                    }
                                }
                            }
                            catch (Exception e)
                            {
                                lock (errors)
                                {
                                    errors.Add(e);
                                }
                            }
                            finally
                            {
                                if (querier)
                                {
                                    Interlocked.Decrement(ref queriers);
                                }
                            }
                        }));
                    }
                    threads.ForEach(t => t.Start());
                    Check(threads.All(t => t.Join(60000)), "every thread finished (no deadlock)");
                    Check(errors.Count == 0, "no errors: " + string.Join("; ", errors.Select(e => e.Message)));
                    Check(toggles >= 2 && log.Count > 0, "handlers installed and removed (" + toggles + "), lines received (" + log.Count + ")");
                    Ecp.SetLogHandler(null);
                    int count = log.Count;
                    client.Query(session, SessionKind.Call);
                    Check(log.Count == count, "removed: no more lines");
                    Check(log.All.All(l => l.Item1 == LogLevel.Debug && (l.Item2.Contains("endpoint=query_by_session") || l.Item2.StartsWith("response ", StringComparison.Ordinal))), "only the queries' events:\n    " + log.Dump());
                }
            }
            finally
            {
                Ecp.SetLogHandler(null);
            }
        });
    }

    // ---- the shapes of header collections CallbackVerifier takes ----

    /// <summary>ASP.NET Core's StringValues in miniature: a struct enumerating strings, the value
    /// type of IHeaderDictionary (IDictionary&lt;string, StringValues&gt;); default has no values.</summary>
    private struct StringValuesLike : IEnumerable<string>
    {
        private readonly string[] values;

        public StringValuesLike(params string[] values) { this.values = values; }

        public IEnumerator<string> GetEnumerator() { return ((IEnumerable<string>)(values ?? new string[0])).GetEnumerator(); }

        IEnumerator IEnumerable.GetEnumerator() { return GetEnumerator(); }
    }

    private static bool IsCheckSum(string name) { return name.Equals("CheckSum", StringComparison.OrdinalIgnoreCase); }

    /// <summary>Both entry points refuse the headers as sent twice.</summary>
    private static void RefusedAsDuplicate(Action verify, Func<CallbackEvent> verifyAndParse)
    {
        Check(Throws<CallbackException>(verify).Reason == "duplicate_header", "Verify: duplicate_header");
        Check(Throws<CallbackException>(() => verifyAndParse()).Reason == "duplicate_header", "VerifyAndParse: duplicate_header");
    }

    private static void Shapes()
    {
        // One genuine callback, signed by the mock, for every shape.
        ReceivedCallback post = null;
        string session = null;
        Case("header shapes: the mock signs a callback", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl }))
            {
                mock.SetCallbackUrl(mock.InboxUrl);
                session = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                Check(mock.WaitForInbox(1, 10000) == 1, "a callback");
                post = mock.Inbox(0);
            }
        });
        if (post == null)
        {
            return;
        }
        string sum = post.Headers.First(h => IsCheckSum(h.Key)).Value;
        byte[] body = post.Body;

        using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
        using (var verifier = new CallbackVerifier(creds))
        {
            Case("header shapes: pairs with CheckSum twice are refused, not joined", () =>
            {
                verifier.Verify(body, post.Headers);
                var twice = post.Headers.Concat(new[] { new KeyValuePair<string, string>("CheckSum", sum) }).ToList();
                RefusedAsDuplicate(() => verifier.Verify(body, twice), () => verifier.VerifyAndParse(body, twice));
            });

            Case("header shapes: NameValueCollection (HttpListenerRequest.Headers, ASP.NET's Request.Headers)", () =>
            {
                var headers = new NameValueCollection();
                foreach (var h in post.Headers)
                {
                    headers.Add(h.Key, h.Value);
                }
                verifier.Verify(body, headers);
                Check(verifier.VerifyAndParse(body, headers).Record.Session == session, "the record");
                // Another copy, another case: one name (the collection ignores case), two values.
                headers.Add("checksum", sum);
                Check(headers.GetValues("CheckSum").Length == 2 && headers["CheckSum"] == sum + "," + sum, "two values, which the indexer joins");
                RefusedAsDuplicate(() => verifier.Verify(body, headers), () => verifier.VerifyAndParse(body, headers));
                Check(Throws<CallbackException>(() => verifier.Verify(body, (NameValueCollection)null)).Reason == "missing_header", "null: no headers");
            });

            Case("header shapes: IEnumerable<KeyValuePair<string, IEnumerable<string>>> (HttpHeaders' shape)", () =>
            {
                // System.Net.Http.dll is not installed for mcs here; this is the shape HttpHeaders enumerates as.
                var headers = post.Headers.Select(h => new KeyValuePair<string, IEnumerable<string>>(h.Key, new[] { h.Value })).ToList();
                verifier.Verify(body, headers);
                Check(verifier.VerifyAndParse(body, headers).Record.Session == session, "the record");
                var twice = headers.Select(h => IsCheckSum(h.Key) ? new KeyValuePair<string, IEnumerable<string>>(h.Key, new[] { sum, sum }) : h).ToList();
                RefusedAsDuplicate(() => verifier.Verify(body, twice), () => verifier.VerifyAndParse(body, twice));
            });

            Case("header shapes: List<KeyValuePair<string, List<string>>>", () =>
            {
                var headers = post.Headers.Select(h => new KeyValuePair<string, List<string>>(h.Key, new List<string> { h.Value })).ToList();
                verifier.Verify(body, headers);
                Check(verifier.VerifyAndParse(body, headers).Record.Session == session, "the record");
                headers.First(h => IsCheckSum(h.Key)).Value.Add(sum);
                RefusedAsDuplicate(() => verifier.Verify(body, headers), () => verifier.VerifyAndParse(body, headers));
            });

            Case("header shapes: IDictionary<string, string[]>", () =>
            {
                IDictionary<string, string[]> headers = post.Headers.ToDictionary(h => h.Key, h => new[] { h.Value }, StringComparer.OrdinalIgnoreCase);
                verifier.Verify(body, headers);
                Check(verifier.VerifyAndParse(body, headers).Record.Session == session, "the record");
                headers["CheckSum"] = new[] { sum, sum };
                RefusedAsDuplicate(() => verifier.Verify(body, headers), () => verifier.VerifyAndParse(body, headers));
            });

            Case("header shapes: IDictionary<string, a StringValues-like struct> (IHeaderDictionary's shape)", () =>
            {
                IDictionary<string, StringValuesLike> headers = post.Headers.ToDictionary(h => h.Key, h => new StringValuesLike(h.Value), StringComparer.OrdinalIgnoreCase);
                // A name without values (StringValues.Empty, default) is no header.
                headers["X-Empty"] = default(StringValuesLike);
                verifier.Verify(body, headers);
                Check(verifier.VerifyAndParse(body, headers).Record.Session == session, "the record");
                headers["CheckSum"] = new StringValuesLike(sum, sum);
                RefusedAsDuplicate(() => verifier.Verify(body, headers), () => verifier.VerifyAndParse(body, headers));
            });
        }

        Case("header shapes: a web handler on HttpListener verifies the mock's POST with Request.Headers", () =>
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            string url = "http://127.0.0.1:" + port + "/callback/";
            var listener = new HttpListener();
            listener.Prefixes.Add(url);
            listener.Start();
            try
            {
                using (MockServer mock = MockServer.Start())
                using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
                using (var client = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl }))
                using (var verifier = new CallbackVerifier(creds))
                {
                    mock.SetCallbackUrl(url);
                    string placed = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                    IAsyncResult pending = listener.BeginGetContext(null, null);
                    Check(pending.AsyncWaitHandle.WaitOne(10000), "the callback arrived");
                    HttpListenerContext context = listener.EndGetContext(pending);
                    CallbackEvent e = verifier.VerifyAndParse(context.Request);
                    context.Response.StatusCode = 200;
                    context.Response.Close();
                    Check(e.IsCallEnd && e.Record.Session == placed, "the record of the call placed");
                }
            }
            finally
            {
                listener.Close();
            }
        });
    }

    /// <summary>A stream of size bytes of 'x', made as they are read, counting the bytes it has
    /// handed out: what a reader pulled, whatever it kept.</summary>
    private sealed class CountingStream : Stream
    {
        private readonly long size;
        private long position;

        public CountingStream(long size) { this.size = size; }

        public long Pulled => position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, size - position);
            for (int i = 0; i < n; i++)
            {
                buffer[offset + i] = (byte)'x';
            }
            position += n;
            return n;
        }
    }

    /// <summary>The most ReadBody may read past the cap: one read of its chunk (64 KiB).</summary>
    private const int Chunk = 64 * 1024;

    private static void TooLarge(Action read, long cap)
    {
        CallbackException e = Throws<CallbackException>(read);
        var big = e as BodyTooLargeException;
        Check(big != null, "a BodyTooLargeException, not " + e.GetType().Name + ": " + e.Message);
        Check(e.AnswerStatus == 413 && e.Reason == "too_large" && e.Kind == "callback" && e.Field == "body"
            && e.Result == Result.Callback && big.MaxBodyBytes == cap,
            "413, too_large, callback, body, the cap: " + e.AnswerStatus + " " + e.Reason + " " + e.Kind + " " + e.Field + " " + big.MaxBodyBytes);
        Check(e.Message == "body larger than " + cap + " bytes", e.Message);
        Check(e.Json.Contains("\"reason\":\"too_large\""), e.Json);
    }

    /// <summary>A call-end callback body of exactly length bytes (JSON with trailing spaces), and
    /// its headers signed now with .NET's MD5 and SHA1.</summary>
    private static KeyValuePair<byte[], NameValueCollection> SignedBody(string session, int length)
    {
        string json = "{\"callback\":\"{\\\"durationSec\\\":61,\\\"session\\\":\\\"" + session + "\\\"}\",\"eventType\":\"10\"}";
        byte[] body = Bytes(json.PadRight(length));
        Check(body.Length == length, "the callback fits");
        string now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString();
        string md5 = Ecp.BodyMd5(body);
        string sum;
        using (var sha1 = SHA1.Create())
        {
            sum = string.Concat(sha1.ComputeHash(Bytes(MockServer.SampleAppSecret + md5 + now)).Select(b => b.ToString("x2")));
        }
        var headers = new NameValueCollection { { "AppKey", MockServer.SampleAppKey }, { "CurTime", now }, { "MD5", md5 }, { "CheckSum", sum } };
        return new KeyValuePair<byte[], NameValueCollection>(body, headers);
    }

    /// <summary>POSTs body to an HttpListener on 127.0.0.1 (chunked: without a Content-Length),
    /// where handle answers the request; returns the status the client got.</summary>
    private static int PostToListener(byte[] body, bool chunked, NameValueCollection headers, Func<HttpListenerRequest, int> handle)
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        string url = "http://127.0.0.1:" + port + "/cap/";
        var listener = new HttpListener();
        listener.Prefixes.Add(url);
        listener.Start();
        try
        {
            IAsyncResult pending = listener.BeginGetContext(null, null);
            var server = new Thread(() =>
            {
                if (!pending.AsyncWaitHandle.WaitOne(30000))
                {
                    return;
                }
                HttpListenerContext context = listener.EndGetContext(pending);
                try
                {
                    context.Response.StatusCode = handle(context.Request);
                }
                catch (Exception e)
                {
                    Console.Error.WriteLine("  the handler threw " + e.GetType().Name + ": " + e.Message);
                    context.Response.StatusCode = 500;
                }
                context.Response.Close();
            }) { IsBackground = true };
            server.Start();
            var request = (HttpWebRequest)WebRequest.Create(url);
            request.Method = "POST";
            request.Timeout = 30000;
            request.SendChunked = chunked;
            request.Headers.Add(headers);
            if (!chunked)
            {
                request.ContentLength = body.Length;
            }
            try
            {
                using (Stream output = request.GetRequestStream())
                {
                    output.Write(body, 0, body.Length);
                }
                using (var response = (HttpWebResponse)request.GetResponse())
                {
                    return (int)response.StatusCode;
                }
            }
            catch (WebException e) when (e.Response is HttpWebResponse refused)
            {
                using (refused)
                {
                    return (int)refused.StatusCode;
                }
            }
            finally
            {
                server.Join(30000);
            }
        }
        finally
        {
            listener.Close();
        }
    }

    // ---- several credentials, deliveries and the duplicate guard ----

    private const string DeliveryApp = "fd460d34e786e7754e505bc4fab0f027";
    private const string DeliveryBody = "{\"callback\":\"{\\\"session\\\":\\\"s-1\\\",\\\"durationSec\\\":61}\",\"eventType\":\"10\"}";
    private const ulong DeliveryNow = 1700000000000UL;

    /// <summary>The headers the service sends with body, signed here with .NET's MD5 and SHA1.</summary>
    private static List<KeyValuePair<string, string>> SignedWith(string secret, ulong at = DeliveryNow, string appKey = DeliveryApp, string body = DeliveryBody)
    {
        string md5 = Md5Hex(Bytes(body));
        string curTime = at.ToString();
        return new List<KeyValuePair<string, string>>
        {
            new KeyValuePair<string, string>("AppKey", appKey),
            new KeyValuePair<string, string>("CurTime", curTime),
            new KeyValuePair<string, string>("MD5", md5),
            new KeyValuePair<string, string>("CheckSum", Sha1Hex(secret + md5 + curTime)),
        };
    }

    private static string HeaderOf(List<KeyValuePair<string, string>> headers, string name) => headers.First(h => h.Key == name).Value;

    /// <summary>The delivery key's recipe, computed here: SHA1 over each of AppKey, CheckSum,
    /// CurTime and MD5 after its length as 8 big-endian bytes.</summary>
    private static string KeyOf(List<KeyValuePair<string, string>> headers)
    {
        var bytes = new List<byte>();
        foreach (string name in new[] { "AppKey", "CheckSum", "CurTime", "MD5" })
        {
            byte[] part = Bytes(HeaderOf(headers, name));
            byte[] length = BitConverter.GetBytes((ulong)part.Length);
            if (BitConverter.IsLittleEndian)
            {
                Array.Reverse(length);
            }
            bytes.AddRange(length);
            bytes.AddRange(part);
        }
        using (var sha = SHA1.Create())
        {
            return Hex(sha.ComputeHash(bytes.ToArray()));
        }
    }

    /// <summary>A store of one's own, as a Redis one behaves (atomic under a lock), recording its calls.</summary>
    private sealed class DictStore : IDeliveryStore
    {
        internal readonly Dictionary<string, KeyValuePair<string, ulong>> State = new Dictionary<string, KeyValuePair<string, ulong>>();
        internal readonly List<string> Calls = new List<string>();

        public DeliveryClaim Claim(string key, ulong expiresAtMs, ulong nowMs)
        {
            lock (State)
            {
                Calls.Add("claim " + key + " " + expiresAtMs + " " + nowMs);
                if (!State.TryGetValue(key, out var held))
                {
                    State[key] = new KeyValuePair<string, ulong>("pending", expiresAtMs);
                    return DeliveryClaim.First;
                }
                return held.Key == "done" ? DeliveryClaim.Duplicate : DeliveryClaim.InProgress;
            }
        }

        public void Complete(string key, ulong expiresAtMs)
        {
            lock (State)
            {
                Calls.Add("complete " + key + " " + expiresAtMs);
                State[key] = new KeyValuePair<string, ulong>("done", expiresAtMs);
            }
        }

        public void Release(string key)
        {
            lock (State)
            {
                Calls.Add("release " + key);
                State.Remove(key);
            }
        }
    }

    /// <summary>A store whose Claim answers (or throws) what it is given, and whose Complete throws.</summary>
    private sealed class Answers : IDeliveryStore
    {
        private readonly DeliveryClaim answer;
        private readonly Exception thrown;

        internal Answers(DeliveryClaim answer, Exception thrown = null)
        {
            this.answer = answer;
            this.thrown = thrown;
        }

        public DeliveryClaim Claim(string key, ulong expiresAtMs, ulong nowMs)
        {
            if (thrown != null)
            {
                throw thrown;
            }
            return answer;
        }

        public void Complete(string key, ulong expiresAtMs) => throw new InvalidOperationException("Server=db;Password=hunter22");

        public void Release(string key)
        {
        }
    }

    /// <summary>Handle on DeliveryBody: status, body, handler calls.</summary>
    private static string Handled(CallbackVerifier verifier, DeliveryGuard guard, List<KeyValuePair<string, string>> headers, bool deduplicate = true, Action onHandle = null)
    {
        int calls = 0;
        CallbackAnswer answer = verifier.Handle(Bytes(DeliveryBody), headers, (evt, delivery) =>
        {
            calls++;
            Check(evt.IsCallEnd && evt.Record.Session == "s-1", "the event");
            onHandle?.Invoke();
        }, guard, deduplicate, DeliveryNow);
        return answer.Status + " " + answer.Body + " " + calls;
    }

    private static void Deliveries()
    {
        Case("deliveries: during a rotation both secrets are accepted and the match is named", () =>
        {
            using (var old = new Credentials(DeliveryApp, "old-secret"))
            using (var fresh = new Credentials(DeliveryApp, "new-secret"))
            using (var verifier = new CallbackVerifier(new[] { old, fresh }))
            {
                Check(verifier.AppKeys.SequenceEqual(new[] { DeliveryApp, DeliveryApp }), string.Join(",", verifier.AppKeys));
                foreach (var pair in new[] { new KeyValuePair<string, int>("old-secret", 0), new KeyValuePair<string, int>("new-secret", 1) })
                {
                    string secret = pair.Key;
                    int index = pair.Value;
                    var headers = SignedWith(secret);
                    Delivery d = verifier.Verify(Bytes(DeliveryBody), headers, DeliveryNow + 250);
                    Check(d.Credential == index && d.AppKey == DeliveryApp, secret + ": " + d);
                    Check(d.CurTimeMs == DeliveryNow && d.ExpiresAtMs == DeliveryNow + 300000, secret + ": times");
                    Check(d.Key == KeyOf(headers), secret + ": key " + d.Key + " want " + KeyOf(headers));
                }
                var refused = Throws<CallbackException>(() => verifier.Verify(Bytes(DeliveryBody), SignedWith("stranger"), DeliveryNow));
                Check(refused.Reason == "checksum_mismatch" && !refused.ToString().Contains("old-secret") && !refused.ToString().Contains("new-secret"), refused.Reason);
            }
        });

        Case("deliveries: VerifyDelivery gives the event; no time check never expires; not parsed by Verify", () =>
        {
            using (var old = new Credentials(DeliveryApp, "old-secret"))
            using (var verifier = new CallbackVerifier(old))
            using (var skip = CallbackVerifier.SkipTimeCheck(new[] { old }))
            {
                Delivery d = verifier.VerifyDelivery(Bytes(DeliveryBody), SignedWith("old-secret"), out CallbackEvent evt, DeliveryNow);
                Check(evt.IsCallEnd && evt.Record.Session == "s-1" && d.Credential == 0, "the event");
                Check(Throws<CallbackException>(() => verifier.Verify(Bytes(DeliveryBody), SignedWith("old-secret"), DeliveryNow + 300001)).Reason == "stale", "stale");
                const string notJson = "not json";
                var signed = SignedWith("old-secret", DeliveryNow, DeliveryApp, notJson);
                Check(verifier.Verify(Bytes(notJson), signed, DeliveryNow).Key.Length == 40, "Verify only verifies");
                var malformed = Throws<CallbackException>(() => verifier.VerifyDelivery(Bytes(notJson), signed, out CallbackEvent none, DeliveryNow));
                Check(malformed.Reason == "malformed" && malformed.AnswerStatus == 400, malformed.Reason);
                Check(skip.Verify(Bytes(DeliveryBody), SignedWith("old-secret", 1440570500855UL)).ExpiresAtMs == ulong.MaxValue, "never expires");
            }
        });

        Case("deliveries: several apps each match by their own key; a relabelled one is refused", () =>
        {
            using (var a = new Credentials("app-a", "secret-a"))
            using (var b = new Credentials("app-b", "secret-b"))
            using (var verifier = new CallbackVerifier(new List<Credentials> { a, b }))
            {
                Delivery d = verifier.Verify(Bytes(DeliveryBody), SignedWith("secret-b", DeliveryNow, "app-b"), DeliveryNow);
                Check(d.Credential == 1 && d.AppKey == "app-b", d.ToString());
                var relabelled = Throws<CallbackException>(() => verifier.Verify(Bytes(DeliveryBody), SignedWith("secret-b", DeliveryNow, "app-a"), DeliveryNow));
                Check(relabelled.Reason == "app_key_mismatch", relabelled.Reason);
            }
        });

        Case("deliveries: 1 to 8 credentials, named by field and rule", () =>
        {
            using (var old = new Credentials(DeliveryApp, "old-secret"))
            {
                foreach (int count in new[] { 0, 9, 20 })
                {
                    var e = Throws<ValidationException>(() => new CallbackVerifier(Enumerable.Repeat(old, count)));
                    Check(e.Field == "credentials" && e.Rule == "count" && e.Message.Contains("must hold 1 to 8 entries, got " + count), count + ": " + e.Message);
                }
                Check(Throws<ArgumentNullException>(() => new CallbackVerifier(new[] { old, null })).Message.Contains("credentials[1] is null"), "a null entry");
                using (var eight = new CallbackVerifier(Enumerable.Repeat(old, 8)))
                {
                    Check(eight.AppKeys.Length == 8, "eight");
                }
            }
        });

        Case("deliveries: the memory guard claims once, then in progress, then duplicate; its capacity holds", () =>
        {
            using (var old = new Credentials(DeliveryApp, "old-secret"))
            using (var verifier = new CallbackVerifier(old))
            using (var guard = new DeliveryGuard())
            using (var small = new DeliveryGuard(null, 3))
            {
                Delivery first = verifier.Verify(Bytes(DeliveryBody), SignedWith("old-secret"), DeliveryNow);
                Check(guard.Claim(first, DeliveryNow) == DeliveryClaim.First, "first");
                Check(guard.Claim(first, DeliveryNow) == DeliveryClaim.InProgress, "in progress");
                guard.Complete(first);
                Check(guard.Claim(first, DeliveryNow + 1) == DeliveryClaim.Duplicate, "duplicate");
                Check(guard.Held == 1 && guard.Evicted == 0, "held " + guard.Held);
                Delivery other = verifier.Verify(Bytes(DeliveryBody), SignedWith("old-secret", DeliveryNow + 1), DeliveryNow + 1);
                Check(guard.Claim(other, DeliveryNow) == DeliveryClaim.First, "other: first");
                guard.Release(other);
                Check(guard.Claim(other, DeliveryNow) == DeliveryClaim.First, "released: first again");
                Check(guard.Claim(first, first.ExpiresAtMs + 1000) == DeliveryClaim.First && guard.Held == 1, "expired: forgotten");
                for (ulong i = 0; i < 10; i++)
                {
                    Check(small.Claim(verifier.Verify(Bytes(DeliveryBody), SignedWith("old-secret", DeliveryNow + i), DeliveryNow), DeliveryNow) == DeliveryClaim.First, "delivery " + i);
                }
                Check(small.Held == 3 && small.Evicted == 7, small.Held + " " + small.Evicted);
            }
            var zero = Throws<ValidationException>(() => new MemoryDeliveryStore(0));
            Check(zero.Field == "capacity" && zero.Rule == "not_positive", zero.Field + " " + zero.Rule);
            Throws<ArgumentException>(() => new DeliveryGuard(new DictStore(), 5));
            using (var store = new MemoryDeliveryStore())
            {
                var bad = Throws<YunxinEcpException>(() => store.Claim("not a key", DeliveryNow, DeliveryNow));
                Check(bad.Result == Result.InvalidArgument && bad.Field == "key", bad.Kind);
            }
        });

        Case("deliveries: a store of one's own gets the key and the expiry; its failures name type and step only", () =>
        {
            using (var old = new Credentials(DeliveryApp, "old-secret"))
            using (var verifier = new CallbackVerifier(old))
            {
                var store = new DictStore();
                var guard = new DeliveryGuard(store);
                var headers = SignedWith("old-secret");
                Delivery d = verifier.Verify(Bytes(DeliveryBody), headers, DeliveryNow);
                Check(guard.Claim(d, DeliveryNow + 7) == DeliveryClaim.First, "first");
                guard.Complete(d);
                Check(guard.Claim(d, DeliveryNow + 8) == DeliveryClaim.Duplicate, "duplicate");
                string key = KeyOf(headers), expires = (DeliveryNow + 300000).ToString();
                Check(store.Calls.SequenceEqual(new[] { "claim " + key + " " + expires + " " + (DeliveryNow + 7), "complete " + key + " " + expires,
                    "claim " + key + " " + expires + " " + (DeliveryNow + 8) }), string.Join(" | ", store.Calls));
                Check(guard.Held == null && guard.Evicted == null && guard.Store == store, "no figures for a store of one's own");

                var failing = new DeliveryGuard(new Answers(DeliveryClaim.First, new IOException("Server=db;Password=hunter22")));
                var e = Throws<DeliveryStoreException>(() => failing.Claim(d, DeliveryNow));
                Check(e.Message == "System.IO.IOException thrown by the store's claim()" && e.Step == "claim" && e.Reason == "store_unavailable", e.Message);
                Check(!e.ToString().Contains("hunter22") && e.InnerException == null && !e.Json.Contains("hunter22"), "no secret: " + e);
                var odd = Throws<DeliveryStoreException>(() => new DeliveryGuard(new Answers((DeliveryClaim)7)).Claim(d, DeliveryNow));
                Check(odd.Message == "the store's Claim() must return First, Duplicate or InProgress, not 7", odd.Message);
                var complete = Throws<DeliveryStoreException>(() => new DeliveryGuard(new Answers(DeliveryClaim.First)).Complete(d));
                Check(complete.Message == "System.InvalidOperationException thrown by the store's complete()" && complete.Step == "complete", complete.Message);
            }
        });

        Case("deliveries: the library's answers, the same in every language", () =>
        {
            Func<string, string> refused = reason => "{\"error\":\"callback refused\",\"reason\":\"" + reason + "\"}";
            foreach (var row in new[]
            {
                new object[] { "malformed", 400, refused("malformed") }, new object[] { "checksum_mismatch", 403, refused("checksum_mismatch") },
                new object[] { "too_large", 413, refused("too_large") }, new object[] { "in_progress", 409, refused("in_progress") },
                new object[] { "store_unavailable", 503, refused("store_unavailable") }, new object[] { "duplicate", 200, "{\"result\":\"duplicate\"}" },
                new object[] { "<script>", 403, refused("refused") },
            })
            {
                string reason = (string)row[0], body = (string)row[2];
                int status = (int)row[1];
                CallbackAnswer answer = CallbackAnswer.ForReason(reason);
                Check(answer.Status == status && answer.Body == body, reason + ": " + answer.Status + " " + answer.Body);
            }
            Check(new BodyTooLargeException(5).Answer.Status == 413, "too large");
        });

        Case("deliveries: Handle handles a delivery once; a throwing handler releases it; 409 and 503 never reach it", () =>
        {
            using (var old = new Credentials(DeliveryApp, "old-secret"))
            using (var verifier = new CallbackVerifier(old))
            using (var guard = new DeliveryGuard())
            {
                Check(Handled(verifier, guard, SignedWith("old-secret")) == "200  1", "first");
                Check(Handled(verifier, guard, SignedWith("old-secret")) == "200 {\"result\":\"duplicate\"} 0", "repeat");
                Check(Handled(verifier, null, SignedWith("old-secret", DeliveryNow + 5)) == "200  1", "own guard: first");
                Check(Handled(verifier, null, SignedWith("old-secret", DeliveryNow + 5)).EndsWith(" 0"), "own guard: repeat");
                Check(Handled(verifier, null, SignedWith("old-secret"), false) == "200  1" && Handled(verifier, null, SignedWith("old-secret"), false) == "200  1", "no guard");
                Check(Handled(verifier, guard, SignedWith("stranger")) == "403 {\"error\":\"callback refused\",\"reason\":\"checksum_mismatch\"} 0", "forged");
                Throws<ArgumentException>(() => Handled(verifier, guard, SignedWith("old-secret"), false));

                var store = new DictStore();
                var mine = new DeliveryGuard(store);
                var e = Throws<InvalidDataException>(() => Handled(verifier, mine, SignedWith("old-secret"), true, () => throw new InvalidDataException("booking failed")));
                Check(e.Message == "booking failed" && store.State.Count == 0, "released");
                Check(Handled(verifier, mine, SignedWith("old-secret")) == "200  1", "the next attempt is handled");

                Check(Handled(verifier, new DeliveryGuard(new Answers(DeliveryClaim.InProgress)), SignedWith("old-secret"))
                    == "409 {\"error\":\"callback refused\",\"reason\":\"in_progress\"} 0", "in progress");
                TextWriter error = Console.Error;
                var said = new StringWriter();
                Console.SetError(said);
                try
                {
                    Check(Handled(verifier, new DeliveryGuard(new Answers(DeliveryClaim.First, new IOException("Password=hunter22"))), SignedWith("old-secret"))
                        == "503 {\"error\":\"callback refused\",\"reason\":\"store_unavailable\"} 0", "store failed");
                    Check(Handled(verifier, new DeliveryGuard(new Answers(DeliveryClaim.First)), SignedWith("old-secret")) == "200  1", "completion failed: the answer stands");
                }
                finally
                {
                    Console.SetError(error);
                }
                string text = said.ToString();
                Check(text.Contains("System.IO.IOException thrown by the store's claim()") && text.Contains("System.InvalidOperationException thrown by the store's complete()")
                    && !text.Contains("hunter22"), text);
            }
        });

        Case("deliveries: two threads claiming one delivery at once get one First (memory and own store)", () =>
        {
            using (var old = new Credentials(DeliveryApp, "old-secret"))
            using (var verifier = new CallbackVerifier(old))
            {
                foreach (bool memory in new[] { true, false })
                {
                    for (ulong round = 0; round < 50; round++)
                    {
                        var guard = memory ? new DeliveryGuard() : new DeliveryGuard(new DictStore());
                        Delivery d = verifier.Verify(Bytes(DeliveryBody), SignedWith("old-secret", DeliveryNow + round), DeliveryNow + round);
                        var claims = new DeliveryClaim[2];
                        using (var start = new Barrier(2))
                        {
                            var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
                            {
                                start.SignalAndWait(10000);
                                claims[i] = guard.Claim(d, DeliveryNow);
                            })).ToList();
                            threads.ForEach(t => t.Start());
                            threads.ForEach(t => Check(t.Join(10000), "joined"));
                        }
                        Array.Sort(claims);
                        Check(claims[0] == DeliveryClaim.First && claims[1] == DeliveryClaim.InProgress, (memory ? "memory" : "own") + " round " + round + ": " + claims[0] + " " + claims[1]);
                        guard.Dispose();
                    }
                }
            }
        });

        Case("deliveries: a repeat while the first is being handled is 409; the handler runs once", () =>
        {
            using (var old = new Credentials(DeliveryApp, "old-secret"))
            using (var verifier = new CallbackVerifier(old))
            using (var guard = new DeliveryGuard())
            using (var entered = new ManualResetEventSlim())
            using (var go = new ManualResetEventSlim())
            {
                int calls = 0;
                string first = null;
                var thread = new Thread(() =>
                {
                    CallbackAnswer a = verifier.Handle(Bytes(DeliveryBody), SignedWith("old-secret"), (evt, delivery) =>
                    {
                        Interlocked.Increment(ref calls);
                        entered.Set();
                        go.Wait(20000);
                    }, guard, true, DeliveryNow);
                    first = a.Status + " " + a.Body;
                });
                thread.Start();
                Check(entered.Wait(20000), "the first delivery reached its handler");
                string repeat = Handled(verifier, guard, SignedWith("old-secret"));
                go.Set();
                Check(thread.Join(20000), "the first finished");
                Check(repeat == "409 {\"error\":\"callback refused\",\"reason\":\"in_progress\"} 0", repeat);
                Check(first == "200 " && calls == 1, first + " " + calls);
                Check(Handled(verifier, guard, SignedWith("old-secret")).StartsWith("200 {\"result\":\"duplicate\"}"), "then a duplicate");
            }
        });

        Case("deliveries: on HttpListener, Handle(context) answers, handles once, refuses and caps", () =>
        {
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var verifier = new CallbackVerifier(creds))
            using (var guard = new DeliveryGuard())
            {
                var handled = new List<string>();
                var signed = SignedBody("s-http", 300);
                Func<int?, Func<HttpListenerContext, string>> endpoint = cap => context =>
                {
                    CallbackAnswer a = verifier.Handle(context, (evt, delivery) => { lock (handled) { handled.Add(evt.Record.Session); } }, guard, true, null, cap);
                    return a.Status + " " + a.Body;
                };
                Check(ServeOnce(signed.Key, signed.Value, endpoint(null)) == "200 |200 ", "first");
                Check(ServeOnce(signed.Key, signed.Value, endpoint(null)) == "200 {\"result\":\"duplicate\"}|200 {\"result\":\"duplicate\"}", "repeat");
                var forged = new NameValueCollection(signed.Value);
                forged.Set("CheckSum", new string('0', 40));
                Check(ServeOnce(signed.Key, forged, endpoint(null)).EndsWith("|403 {\"error\":\"callback refused\",\"reason\":\"checksum_mismatch\"}"), "forged");
                Check(ServeOnce(signed.Key, signed.Value, endpoint(299)).EndsWith("|413 {\"error\":\"callback refused\",\"reason\":\"too_large\"}"), "over the cap");
                lock (handled)
                {
                    Check(handled.SequenceEqual(new[] { "s-http" }), string.Join(",", handled));
                }
            }
        });
    }

    /// <summary>POSTs body to an HttpListener on 127.0.0.1 whose one context serve answers (and
    /// writes); returns what serve said, "|", and the status and body the client got.</summary>
    private static string ServeOnce(byte[] body, NameValueCollection headers, Func<HttpListenerContext, string> serve)
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        string url = "http://127.0.0.1:" + port + "/cb/";
        var listener = new HttpListener();
        listener.Prefixes.Add(url);
        listener.Start();
        try
        {
            string said = "no request";
            IAsyncResult pending = listener.BeginGetContext(null, null);
            var server = new Thread(() =>
            {
                if (pending.AsyncWaitHandle.WaitOne(30000))
                {
                    said = serve(listener.EndGetContext(pending));
                }
            }) { IsBackground = true };
            server.Start();
            var request = (HttpWebRequest)WebRequest.Create(url);
            request.Method = "POST";
            request.Timeout = 30000;
            request.Headers.Add(headers);
            request.ContentLength = body.Length;
            HttpWebResponse response;
            try
            {
                using (Stream output = request.GetRequestStream())
                {
                    output.Write(body, 0, body.Length);
                }
                response = (HttpWebResponse)request.GetResponse();
            }
            catch (WebException e) when (e.Response is HttpWebResponse refused)
            {
                response = refused;
            }
            using (response)
            using (var reader = new StreamReader(response.GetResponseStream(), Encoding.UTF8))
            {
                string got = (int)response.StatusCode + " " + reader.ReadToEnd();
                server.Join(30000);
                return said + "|" + got;
            }
        }
        finally
        {
            listener.Close();
        }
    }

    private static void BodyCap()
    {
        Case("body cap: 1 MiB by default, as the library says", () =>
        {
            Check(CallbackVerifier.DefaultMaxBodyBytes == 1048576, CallbackVerifier.DefaultMaxBodyBytes.ToString());
            var whole = new CountingStream(1048576);
            Check(CallbackVerifier.ReadBody(whole).Length == 1048576 && whole.Pulled == 1048576, "exactly 1 MiB is read whole");
            TooLarge(() => CallbackVerifier.ReadBody(new CountingStream(1048577)), 1048576);
            var declared = new CountingStream(10);
            TooLarge(() => CallbackVerifier.ReadBody(declared, 1048577), 1048576);
            Check(declared.Pulled == 0, "nothing read");
        });

        Case("body cap: a Content-Length over the cap is refused before a byte is read", () =>
        {
            foreach (long declared in new[] { 1001L, long.MaxValue })
            {
                var stream = new CountingStream(5000);
                TooLarge(() => CallbackVerifier.ReadBody(stream, declared, 1000), 1000);
                Check(stream.Pulled == 0, "Content-Length " + declared + ": pulled " + stream.Pulled);
            }
        });

        Case("body cap: a body over the cap without a usable Content-Length is refused once past the cap", () =>
        {
            // Unknown (null, or HttpListenerRequest's -1), or a lie (less than is sent): the read is the bound.
            foreach (long? declared in new long?[] { null, -1, 10 })
            {
                var stream = new CountingStream(10L * 1024 * 1024);
                TooLarge(() => CallbackVerifier.ReadBody(stream, declared, 1000), 1000);
                Check(stream.Pulled > 1000 && stream.Pulled <= 1000 + Chunk, "Content-Length " + declared + ": pulled " + stream.Pulled + " of 10 MiB");
            }
            var one = new CountingStream(2);
            TooLarge(() => CallbackVerifier.ReadBody(one, null, 1), 1);
        });

        Case("body cap: exactly the cap is accepted, byte for byte", () =>
        {
            foreach (long? declared in new long?[] { null, 1000, -1 })
            {
                byte[] body = CallbackVerifier.ReadBody(new CountingStream(1000), declared, 1000);
                Check(body.Length == 1000 && body.All(b => b == (byte)'x'), "Content-Length " + declared + ": " + body.Length + " bytes");
            }
            Check(CallbackVerifier.ReadBody(new CountingStream(0), 0, 1).Length == 0, "an empty body");
        });

        Case("body cap: a cap of 0 or less is refused, naming maxBodyBytes", () =>
        {
            foreach (int cap in new[] { 0, -1, int.MinValue })
            {
                var stream = new CountingStream(10);
                var e = Throws<ArgumentOutOfRangeException>(() => CallbackVerifier.ReadBody(stream, null, cap));
                Check(e.ParamName == "maxBodyBytes" && e.Message.StartsWith("maxBodyBytes must be a positive number of bytes, not " + cap), e.Message);
                Check(stream.Pulled == 0, "nothing read");
            }
            Check(Throws<ArgumentNullException>(() => CallbackVerifier.ReadBody(null)).ParamName == "body", "a null stream");
        });

        Case("body cap: AnswerStatus of the other refusals is 403, or 400 for malformed", () =>
        {
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var verifier = new CallbackVerifier(creds))
            {
                var signed = SignedBody("s-status", 200);
                verifier.Verify(signed.Key, signed.Value);
                var md5 = Throws<CallbackException>(() => verifier.Verify(Bytes("{}"), signed.Value));
                Check(md5.Reason == "md5_mismatch" && md5.AnswerStatus == 403, md5.Reason + " " + md5.AnswerStatus);
                var nothing = Throws<CallbackException>(() => verifier.Verify(signed.Key, new NameValueCollection()));
                Check(nothing.Reason == "missing_header" && nothing.AnswerStatus == 403, nothing.Reason + " " + nothing.AnswerStatus);
                var junk = SignedBody("s-status", 200);
                byte[] notJson = Bytes("not json");
                var headers = new NameValueCollection(junk.Value);
                headers.Set("MD5", Ecp.BodyMd5(notJson));
                using (var sha1 = SHA1.Create())
                {
                    headers.Set("CheckSum", string.Concat(sha1.ComputeHash(Bytes(MockServer.SampleAppSecret + headers["MD5"] + headers["CurTime"])).Select(b => b.ToString("x2"))));
                }
                var malformed = Throws<CallbackException>(() => verifier.VerifyAndParse(notJson, headers));
                Check(malformed.Reason == "malformed" && malformed.AnswerStatus == 400, malformed.Reason + " " + malformed.AnswerStatus);
            }
        });

        Case("body cap: on HttpListener, VerifyAndParse(request) answers 413 over the cap without running the handler; at the cap it runs", () =>
        {
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var verifier = new CallbackVerifier(creds))
            {
                var handled = new List<string>();
                Func<int, Func<HttpListenerRequest, int>> endpoint = cap => request =>
                {
                    try
                    {
                        CallbackEvent e = verifier.VerifyAndParse(request, null, cap);
                        lock (handled)
                        {
                            handled.Add(e.Record.Session);
                        }
                        return 200;
                    }
                    catch (CallbackException e)
                    {
                        return e.AnswerStatus;
                    }
                };
                var atCap = SignedBody("at-cap", 2000);
                Check(PostToListener(atCap.Key, false, atCap.Value, endpoint(2000)) == 200, "exactly the cap: 200");
                Check(PostToListener(atCap.Key, true, atCap.Value, endpoint(2000)) == 200, "exactly the cap, chunked: 200");
                var over = SignedBody("over-cap", 2001);
                Check(PostToListener(over.Key, false, over.Value, endpoint(2000)) == 413, "Content-Length over the cap: 413");
                Check(PostToListener(over.Key, true, over.Value, endpoint(2000)) == 413, "chunked, over the cap: 413");
                Check(PostToListener(over.Key, false, over.Value, endpoint(2001)) == 200, "a custom cap: 200");
                lock (handled)
                {
                    Check(handled.SequenceEqual(new[] { "at-cap", "at-cap", "over-cap" }), "the handler never ran over the cap: " + string.Join(",", handled));
                }
            }
        });
    }

    // ---- exchanges.json: the exchange (yx_exchange_*) step by step, and driven over HttpClient ----

    /// <summary>A string member that may be absent (JsonObject's indexer throws then).</summary>
    private static string Opt(JsonValue v, string key) => v.ContainsKey(key) ? (string)v[key] : null;

    /// <summary>A request of exchanges.json's spelling.</summary>
    private static EcpRequest ExchangeRequest(JsonValue r)
    {
        switch (S(r, "kind"))
        {
            case "start_call":
                return EcpRequest.StartCall(S(r, "caller_acc"), S(r, "caller"), S(r, "callee"), (uint)r["max_dur"]);
            case "start_conf":
                return EcpRequest.StartConf(S(r, "caller_acc"), S(r, "caller"), ((JsonArray)r["callees"]).Select(x => (string)x).ToList(), (uint)r["max_dur"]);
            case "query":
                return EcpRequest.Query(S(r, "session"), S(r, "type") == "call" ? SessionKind.Call : SessionKind.Conference);
            default:
                return EcpRequest.Api(S(r, "path"), Pairs(r["params"]), (bool)r["idempotent"]);
        }
    }

    /// <summary>An error as the vectors summarize it (core/tests/vectors.rs).</summary>
    private static JsonValue ExchangeError(YunxinEcpException e)
    {
        var o = new JsonObject { { "kind", J(e.Kind) }, { "retry", J(e.RetryAdvice) } };
        if (e is ApiException)
        {
            o.Add("code", J(e.ApiCode));
            if (e.ApiMessage != null)
            {
                o.Add("message", J(e.ApiMessage));
            }
        }
        else if (e is ProtocolException)
        {
            o.Add("protocol", J(e.Reason));
        }
        else if (e is TransportException)
        {
            o.Add("transport", J(e.Reason));
            o.Add("maybe_sent", J(e.MaybeSent));
        }
        return new JsonObject { { "error", o } };
    }

    private static JsonValue RecordSummary(CallRecord r)
    {
        return new JsonObject { { "record", new JsonObject { { "session", J(r.Session) }, { "answered", J(r.Answered) }, { "billed_minutes", J((long)r.BilledMinutes) } } } };
    }

    /// <summary>A finished exchange's answer as the vectors summarize it.</summary>
    private static JsonValue ExchangeAnswer(string kind, string answer, Func<CallRecord> record)
    {
        if (kind == "start_call" || kind == "start_conf")
        {
            return new JsonObject { { "started", new JsonObject { { "session", J(answer) } } } };
        }
        if (kind == "query")
        {
            CallRecord r = record();
            Same(JsonValue.Parse(answer), JsonValue.Parse(r.Json));
            return RecordSummary(r);
        }
        return new JsonObject { { "json", JsonValue.Parse(answer) } };
    }

    private static JsonValue Attempt(string url, IEnumerable<KeyValuePair<string, string>> headers)
    {
        Func<string, string> h = name => headers.Where(p => p.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(p => p.Value).Single();
        return new JsonObject { { "url", J(url) }, { "nonce", J(h("Nonce")) }, { "cur_time", J(h("CurTime")) }, { "checksum", J(h("CheckSum")) } };
    }

    private static string ExchangeSettings(JsonValue v, JsonValue c)
    {
        return new JsonObject { { "base_url", v["base_url"] }, { "max_retries", c["settings"]["max_retries"] }, { "backoff_ms", c["settings"]["backoff_ms"] } }.ToString();
    }

    private static string ExchangeEntropy(JsonValue v, JsonValue c)
    {
        var nonces = new JsonArray(((JsonArray)c["expect"]["attempts"]).Select(a => a["nonce"]));
        return new JsonObject { { "nonces", nonces }, { "now_secs", v["now_secs"] }, { "jitter", v["jitter"] } }.ToString();
    }

    /// <summary>An exchange's events: known levels, one line each, no nonce, CheckSum or secret.</summary>
    private static int CheckEvents(List<KeyValuePair<LogLevel, string>> events, JsonValue attempts, string secret)
    {
        foreach (var e in events)
        {
            Check(e.Key == LogLevel.Debug || e.Key == LogLevel.Info || e.Key == LogLevel.Warn, "level " + e.Key);
            Check(e.Value.Length > 0 && e.Value.IndexOf('\n') < 0, "one line: " + e.Value);
            Check(!e.Value.Contains(secret), "no secret: " + e.Value);
            foreach (JsonValue a in (JsonArray)attempts)
            {
                Check(!e.Value.Contains(S(a, "nonce")) && !e.Value.Contains(S(a, "checksum")), "no signature: " + e.Value);
            }
        }
        return events.Count;
    }

    /// <summary>An HttpMessageHandler whose answers a test scripts: attempt i (from 0) gets
    /// Answer(i, request, token); every request is kept (URL, headers, body).</summary>
    private sealed class ScriptedHandler : HttpMessageHandler
    {
        private readonly Func<int, HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer;
        public readonly List<Tuple<string, List<KeyValuePair<string, string>>, string>> Seen = new List<Tuple<string, List<KeyValuePair<string, string>>, string>>();

        public ScriptedHandler(Func<int, HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) => this.answer = answer;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken token)
        {
            var headers = request.Headers.Concat(request.Content.Headers).SelectMany(h => h.Value.Select(v => new KeyValuePair<string, string>(h.Key, v))).ToList();
            string body = await request.Content.ReadAsStringAsync().ConfigureAwait(false);
            Check(request.Method == HttpMethod.Post, "a POST");
            int index;
            lock (Seen)
            {
                index = Seen.Count;
                Seen.Add(Tuple.Create(request.RequestUri.ToString(), headers, body));
            }
            return await answer(index, request, token).ConfigureAwait(false);
        }
    }

    private static HttpResponseMessage Answer(int status, string body, string location = null)
    {
        var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new ByteArrayContent(Bytes(body)) };
        if (location != null)
        {
            response.Headers.TryAddWithoutValidation("Location", location);
        }
        return response;
    }

    /// <summary>What an HTTP stack throws for a scripted failure.</summary>
    private static Exception Failure(string kind)
    {
        switch (kind)
        {
            case "connect": return new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused));
            case "timeout": return new TaskCanceledException("the handler's own timeout");
            case "tls": return new HttpRequestException("The SSL connection could not be established", new System.Security.Authentication.AuthenticationException("bad certificate"));
            default: return new HttpRequestException("Error while copying content", new IOException("Connection reset by peer"));
        }
    }

    private static T Await<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static void Exchanges(string dir)
    {
        JsonValue v = Load(dir, "exchanges.json");
        string secret = S(v, "secret");
        int n = 0;
        using (var creds = new Credentials(S(v, "app_key"), secret))
        {
            foreach (JsonValue c in (JsonArray)v["cases"])
            {
                n++;
                string kind = S(c["request"], "kind");
                JsonValue expect = c["expect"];
                var script = (JsonArray)c["script"];
                Case("exchanges.json step by step: " + S(c, "name"), () =>
                {
                    var attempts = new JsonArray();
                    var waits = new JsonArray();
                    JsonValue result = null;
                    int events = 0;
                    using (EcpRequest request = ExchangeRequest(c["request"]))
                    using (var exchange = new Exchange(creds, request, ExchangeSettings(v, c), ExchangeEntropy(v, c)))
                    {
                        // Bounded: one attempt per scripted step, and one more to notice an unscripted one.
                        for (int step = 0; result == null && step <= script.Count; step++)
                        {
                            ExchangeAttempt attempt = exchange.Send();
                            attempts.Add(Attempt(attempt.Request.Url, attempt.Request.Headers));
                            Check(attempt.Limits.ConnectTimeoutMs == 5000 && attempt.Limits.TimeoutMs == 15000 && attempt.Limits.MaxResponseBytes == 1048576, "the default limits");
                            if (step == script.Count)
                            {
                                result = new JsonObject { { "unexpected", J("an attempt that was not scripted") } };
                                break;
                            }
                            JsonValue s = script[step];
                            ExchangeStep next = null;
                            try
                            {
                                if (s.ContainsKey("answer"))
                                {
                                    byte[] body = Bytes(S(s["answer"], "body"));
                                    next = exchange.Receive((int)s["answer"]["status"], Opt(s["answer"], "location"), body, body.Length, 1);
                                }
                                else if (s.ContainsKey("failure"))
                                {
                                    string fk = S(s["failure"], "kind");
                                    int tk = fk == "connect" ? Exchange.Connect : fk == "timeout" ? Exchange.Timeout : fk == "tls" ? Exchange.Tls : Exchange.Io;
                                    next = exchange.Fail(tk, (bool)s["failure"]["maybe_sent"], "scripted", 1);
                                }
                                else
                                {
                                    next = exchange.TooLarge((int)s["too_large"]["status"], 1);
                                }
                            }
                            catch (YunxinEcpException e)
                            {
                                result = ExchangeError(e);
                            }
                            events += CheckEvents(exchange.Events(), expect["attempts"], secret);
                            if (next != null && next.Done)
                            {
                                Check(next.WaitMs == -1, "done is -1");
                                result = ExchangeAnswer(kind, next.Answer, exchange.Record);
                            }
                            else if (next != null)
                            {
                                Check(next.Answer == null, "a wait writes no answer");
                                waits.Add(J(next.WaitMs));
                            }
                        }
                        if (kind != "query" && result != null && result.ContainsKey("error") == false)
                        {
                            Check(Throws<YunxinEcpException>(() => exchange.Record()).Result == Result.InvalidArgument, "no record but a query's");
                        }
                    }
                    Check(events >= 2 * attempts.Count, "every attempt logged its sending and its outcome: " + events);
                    Same(new JsonObject { { "attempts", attempts }, { "waits_ms", waits }, { "result", result } }, expect);
                });

                Case("exchanges.json over HttpClient: " + S(c, "name"), () =>
                {
                    var handler = new ScriptedHandler((i, request, token) =>
                    {
                        if (i >= script.Count)
                        {
                            return Task.FromResult(Answer(500, "an attempt that was not scripted"));
                        }
                        JsonValue s = script[i];
                        if (s.ContainsKey("answer"))
                        {
                            return Task.FromResult(Answer((int)s["answer"]["status"], S(s["answer"], "body"), Opt(s["answer"], "location")));
                        }
                        if (s.ContainsKey("failure"))
                        {
                            throw Failure(S(s["failure"], "kind"));
                        }
                        // One byte over the default cap, its Content-Length declared: refused unread.
                        return Task.FromResult(Answer((int)s["too_large"]["status"], new string('x', 1048577)));
                    });
                    var settings = JsonValue.Parse(ExchangeSettings(v, c));
                    var options = new ClientOptions { BaseUrl = S(settings, "base_url"), MaxRetries = (uint)settings["max_retries"], BackoffMs = (ulong)settings["backoff_ms"] };
                    var waits = new JsonArray();
                    JsonValue result;
                    using (var client = new AsyncEcpClient(creds, options, handler))
                    {
                        client.Entropy = ExchangeEntropy(v, c);
                        client.Delay = (ms, token) =>
                        {
                            waits.Add(J(ms));
                            return Task.FromResult(0);
                        };
                        try
                        {
                            JsonValue r = c["request"];
                            if (kind == "query")
                            {
                                result = RecordSummary(Await(client.QueryAsync(S(r, "session"), S(r, "type") == "call" ? SessionKind.Call : SessionKind.Conference)));
                            }
                            else if (kind == "api")
                            {
                                result = new JsonObject { { "json", JsonValue.Parse(Await(client.RequestAsync(S(r, "path"), Pairs(r["params"]), (bool)r["idempotent"]))) } };
                            }
                            else
                            {
                                using (EcpRequest request = ExchangeRequest(r))
                                {
                                    result = new JsonObject { { "started", new JsonObject { { "session", J(Await(client.StartAsync(request))) } } } };
                                }
                            }
                        }
                        catch (YunxinEcpException e)
                        {
                            result = ExchangeError(e);
                        }
                    }
                    var attempts = new JsonArray(handler.Seen.Select(a => Attempt(a.Item1, a.Item2)));
                    foreach (var a in handler.Seen)
                    {
                        Check(a.Item2.Single(h => h.Key == "Content-Type").Value.StartsWith("application/x-www-form-urlencoded", StringComparison.Ordinal), "the form's Content-Type");
                        Check(a.Item2.Single(h => h.Key == "AppKey").Value == S(v, "app_key"), "AppKey");
                        Check(!a.Item2.Any(h => h.Key.Equals("Expect", StringComparison.OrdinalIgnoreCase)), "no Expect: 100-continue");
                        Check(a.Item3.Contains("=") || a.Item3 == "", "a form body: " + a.Item3);
                    }
                    Same(new JsonObject { { "attempts", attempts }, { "waits_ms", waits }, { "result", result } }, expect);
                });
            }
        }
        Case("exchanges.json: every case was run", () => Check(n == 28, "28 cases, not " + n));
    }

    // ---- AsyncEcpClient against the mock, and its driver's edges over scripted handlers ----

    private static ulong MockRequests(MockServer mock) => (ulong)JsonValue.Parse(mock.StatsJson())["requests"];

    private static AsyncEcpClient AsyncClient(Credentials creds, MockServer mock, ClientOptions options = null)
    {
        options = options ?? new ClientOptions { BackoffMs = 10 };
        options.BaseUrl = mock.BaseUrl;
        return new AsyncEcpClient(creds, options);
    }

    private static T ThrowsAsync<T>(Func<Task> action) where T : Exception => Throws<T>(() => action().GetAwaiter().GetResult());

    private static void Async()
    {
        Case("async: StartCallAsync, StartConfAsync, QueryAsync and RequestAsync against the mock", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (AsyncEcpClient client = AsyncClient(creds, mock))
            {
                Check(client.BaseUrl == mock.BaseUrl, "base URL: " + client.BaseUrl);
                mock.SetOutcomeAnswered("13777777777", 61);
                string call = Await(client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100, CancellationToken.None));
                string conf = Await(client.StartConfAsync("liuxuanlin", "13777777777", new[] { "13888888888", "13666666666" }, 600));
                Check(call.Length == 36 && call != conf && mock.StartCount == 2, "two starts");
                CallRecord r = Await(client.QueryAsync(call, SessionKind.Call, CancellationToken.None));
                Check(r.Session == call && r.Answered && r.BilledMinutes == 2 && r.Legs.Length == 2, "the call record");
                r = Await(client.QueryAsync(conf, SessionKind.Conference));
                Check(r.IsConference && r.Members.Length == 3, "the conference record");
                Check(ThrowsAsync<ApiException>(() => client.QueryAsync("no-such-session", SessionKind.Call)).ApiCode == 404, "404");
                var e = ThrowsAsync<ProtocolException>(() => client.RequestAsync("/nimserver/user/create.action", UserParams));
                Check(e.Reason == "not_json" && e.HttpStatus == 404 && e.RetryAdvice == "never", "the mock's 404 page: " + e.Message);
                var v = ThrowsAsync<ValidationException>(() => client.StartCallAsync("liuxuanlin", "+8613888888888", "13777777777", 100));
                Check(v.Field == "caller", "refused before sending: " + v.Field);
                Check(MockRequests(mock) == 6, "one request each: " + MockRequests(mock));
            }
        });

        Case("async: a 503 once is retried, a 500 and a reset on a start are outcome unknown, sent once", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (AsyncEcpClient client = AsyncClient(creds, mock))
            {
                mock.InjectFault("busy_503");
                string session = Await(client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100));
                Check(session.Length == 36 && mock.StartCount == 1 && MockRequests(mock) == 2, "sent again after the 503, placed once");
                mock.InjectFault("server_error");
                var api = ThrowsAsync<ApiException>(() => client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100));
                Check(api.ApiCode == 500 && api.RetryAdvice == "outcome_unknown" && MockRequests(mock) == 3, "500: never sent again");
                mock.InjectFault("reset_before_response");
                var t = ThrowsAsync<TransportException>(() => client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100));
                Check(t.Reason == "io" && t.MaybeSent && t.RetryAdvice == "outcome_unknown", "a reset: " + t.Reason + " " + t.RetryAdvice);
                Check(mock.StartCount == 3 && MockRequests(mock) == 4, "the reset start was sent once");
                mock.InjectFault("reset_before_response");
                Check(Await(client.QueryAsync(session, SessionKind.Call)).Session == session && MockRequests(mock) == 6, "a reset query is sent again");
            }
        });

        Case("async: a connect failure is not sent and safe", () =>
        {
            string baseUrl;
            using (MockServer mock = MockServer.Start())
            {
                baseUrl = mock.BaseUrl;
            }
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var client = new AsyncEcpClient(creds, new ClientOptions { BaseUrl = baseUrl, MaxRetries = 0 }))
            {
                var t = ThrowsAsync<TransportException>(() => client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100));
                Check(t.Reason == "connect" && !t.MaybeSent && t.RetryAdvice == "safe", "connect, not sent: " + t.Reason + " " + t.MaybeSent);
            }
        });

        Case("async: a redirect is a ProtocolException (redirect), its target never reached", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (AsyncEcpClient client = AsyncClient(creds, mock))
            {
                mock.InjectFault("redirect");
                var e = ThrowsAsync<ProtocolException>(() => client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100));
                Check(e.Reason == "redirect" && e.HttpStatus == 302 && e.RetryAdvice == "outcome_unknown", e.Reason + " " + e.HttpStatus);
                Check(e.Message.Contains("/_mock/redirect-target/call/ecp/startcall.action"), "the Location named: " + e.Message);
                Check((ulong)JsonValue.Parse(mock.StatsJson())["redirect_target_hits"] == 0 && MockRequests(mock) == 1, "not followed");
            }
        });

        Case("async: an answer over MaxResponseBytes is too_large, 2 KiB fine by default", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (AsyncEcpClient small = AsyncClient(creds, mock, new ClientOptions { MaxRetries = 0, MaxResponseBytes = 1024 }))
            using (AsyncEcpClient usual = AsyncClient(creds, mock, new ClientOptions { MaxRetries = 0 }))
            {
                mock.InjectFault("oversized", bytes: 2048);
                var e = ThrowsAsync<ProtocolException>(() => small.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100));
                Check(e.Reason == "too_large" && e.RetryAdvice == "outcome_unknown", e.Reason + " " + e.RetryAdvice);
                mock.InjectFault("oversized", bytes: 2048);
                Check(Await(usual.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100)).Length == 36, "2 KiB accepted by default");
            }
        });

        Case("async: a body without Content-Length is read no further than one byte past the cap", () =>
        {
            var stream = new CountingStream(4096);
            var handler = new ScriptedHandler((i, request, token) =>
            {
                var content = new StreamContent(stream);
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
            });
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var client = new AsyncEcpClient(creds, new ClientOptions { BaseUrl = "http://127.0.0.1:9", MaxResponseBytes = 1024, MaxRetries = 0 }, handler))
            {
                var e = ThrowsAsync<ProtocolException>(() => client.QueryAsync("4ea1e712", SessionKind.Call));
                Check(e.Reason == "too_large" && handler.Seen.Count == 1, "too_large, not sent again: " + e.Reason + " " + handler.Seen.Count);
                Check(stream.Pulled <= 1025, "stopped past the cap: " + stream.Pulled + " bytes read");
            }
        });

        Case("async: a cancelled token before sending sends nothing and is safe", () =>
        {
            using (MockServer mock = MockServer.Start())
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (AsyncEcpClient client = AsyncClient(creds, mock))
            using (var cts = new CancellationTokenSource())
            {
                cts.Cancel();
                var e = ThrowsAsync<ExchangeCanceledException>(() => client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100, cts.Token));
                Check(e.RetryAdvice == "safe" && !e.MaybeSent && (string)e.Data["RetryAdvice"] == "safe", "safe: " + e.RetryAdvice);
                Check(e is OperationCanceledException && e.CancellationToken == cts.Token, "an OperationCanceledException of the token");
                Check(MockRequests(mock) == 0 && mock.StartCount == 0, "no request reached the mock");
            }
        });

        Case("async: cancelled with a start in flight is outcome unknown, a query safe", () =>
        {
            foreach (bool start in new[] { true, false })
            {
                var cts = new CancellationTokenSource();
                var handler = new ScriptedHandler(async (i, request, token) =>
                {
                    cts.Cancel();
                    await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
                    return Answer(200, "{}");
                });
                using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
                using (var client = new AsyncEcpClient(creds, new ClientOptions { BaseUrl = "http://127.0.0.1:9" }, handler))
                {
                    var e = ThrowsAsync<OperationCanceledException>(() => start
                        ? (Task)client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100, cts.Token)
                        : client.QueryAsync("4ea1e712", SessionKind.Call, cts.Token));
                    var x = e as ExchangeCanceledException;
                    Check(x != null && x.MaybeSent && x.RetryAdvice == (start ? "outcome_unknown" : "safe"), (start ? "start " : "query ") + (x == null ? e.GetType().Name : x.RetryAdvice));
                    Check((string)e.Data["RetryAdvice"] == x.RetryAdvice && (bool)e.Data["MaybeSent"], "in Data too");
                    Check(handler.Seen.Count == 1, "one attempt");
                }
                cts.Dispose();
            }
        });

        Case("async: the attempt's deadline is a timeout: a start is outcome unknown, a query sent again", () =>
        {
            var handler = new ScriptedHandler(async (i, request, token) =>
            {
                // Never answers: only the attempt's deadline ends it.
                await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
                return Answer(200, "{}");
            });
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var client = new AsyncEcpClient(creds, new ClientOptions { BaseUrl = "http://127.0.0.1:9", TimeoutMs = 20, MaxRetries = 1 }, handler))
            {
                var waits = new List<long>();
                client.Delay = (ms, token) =>
                {
                    waits.Add(ms);
                    return Task.FromResult(0);
                };
                var t = ThrowsAsync<TransportException>(() => client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100));
                Check(t.Reason == "timeout" && t.MaybeSent && t.RetryAdvice == "outcome_unknown" && handler.Seen.Count == 1, "start: " + t.Reason + " " + t.RetryAdvice);
                t = ThrowsAsync<TransportException>(() => client.QueryAsync("4ea1e712", SessionKind.Call));
                Check(t.Reason == "timeout" && handler.Seen.Count == 3 && waits.Count == 1, "query: two attempts, one wait: " + handler.Seen.Count);
            }
        });

        Case("async: a handler's TLS failure is tls, maybe sent", () =>
        {
            var handler = new ScriptedHandler((i, request, token) => { throw Failure("tls"); });
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            using (var client = new AsyncEcpClient(creds, new ClientOptions { BaseUrl = "http://127.0.0.1:9", MaxRetries = 0 }, handler))
            {
                var t = ThrowsAsync<TransportException>(() => client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100));
                Check(t.Reason == "tls" && t.MaybeSent && t.RetryAdvice == "outcome_unknown", t.Reason + " " + t.MaybeSent);
            }
        });

        Case("async: options are refused as EcpClient refuses them, by name", () =>
        {
            using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
            {
                var e = Throws<ValidationException>(() => new AsyncEcpClient(creds, new ClientOptions { TimeoutMs = 0 }).Dispose());
                Check(e.Field == "timeout_ms" && e.Rule == "not_positive", e.Field + "/" + e.Rule);
                Check(Throws<ArgumentNullException>(() => new AsyncEcpClient(null, null).Dispose()).ParamName == "credentials", "null credentials");
            }
        });

        LoggingCase("async: the exchange's events reach the log handler, the blocking client's lines", () =>
        {
            var sync = new LogLines();
            var async = new LogLines();
            try
            {
                using (MockServer mock = MockServer.Start())
                using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
                using (var blocking = new EcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl, BackoffMs = 10 }))
                using (AsyncEcpClient client = AsyncClient(creds, mock))
                {
                    string session = blocking.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
                    Ecp.SetLogHandler(sync.Add);
                    mock.InjectFault("busy_503");
                    blocking.Query(session, SessionKind.Call);
                    Check(Throws<ProtocolException>(() => blocking.Request("/nimserver/user/13888888888.action", MobileParams)).HttpStatus == 404, "sync 404");
                    Ecp.SetLogHandler(async.Add);
                    mock.InjectFault("busy_503");
                    Await(client.QueryAsync(session, SessionKind.Call));
                    Check(ThrowsAsync<ProtocolException>(() => client.RequestAsync("/nimserver/user/13888888888.action", MobileParams)).HttpStatus == 404, "async 404");
                    Ecp.SetLogHandler(async.Add, LogLevel.Info);
                    mock.InjectFault("busy_503");
                    Await(client.QueryAsync(session, SessionKind.Call));
                    Ecp.SetLogHandler(null);
                    Await(client.QueryAsync(session, SessionKind.Call));

                    // The same lines but for the id, the times and the jittered delay.
                    Func<Tuple<LogLevel, string, int>, string> shape = l => l.Item1 + " " + string.Join(" ", l.Item2.Split(' ').Where(f =>
                        !f.StartsWith("id=", StringComparison.Ordinal) && !f.StartsWith("elapsed_ms=", StringComparison.Ordinal) && !f.StartsWith("delay_ms=", StringComparison.Ordinal)));
                    var want = sync.All.Select(shape).ToList();
                    var got = async.All.Select(shape).ToList();
                    string dump = "\n  sync\n    " + sync.Dump() + "\n  async\n    " + async.Dump();
                    Check(want.Count == 8 && got.Count == 9, "eight lines each, and the Info retry:" + dump);
                    Check(got.Take(8).SequenceEqual(want), "the same lines:" + dump);
                    Check(got[8].StartsWith("Info retry ", StringComparison.Ordinal), "maxLevel Info: the retry only, and nothing once removed:" + dump);
                    foreach (var line in async.All)
                    {
                        Check(!line.Item2.Contains(MockServer.SampleAppSecret) && !line.Item2.Contains("13888888888"), "nothing secret or unmasked: " + line.Item2);
                        Check(SentSecrets(mock).All(s => !line.Item2.Contains(s)), "no Nonce or CheckSum: " + line.Item2);
                    }
                }
            }
            finally
            {
                Ecp.SetLogHandler(null);
            }
        });
    }

    private static int Main(string[] args)
    {
        string dir = args.Length > 0 ? args[0] : "tests/vectors";
        if (Ecp.LibraryAbiVersion != Ecp.AbiVersion)
        {
            Console.Error.WriteLine("libyunxin_ecp has ABI " + Ecp.LibraryAbiVersion);
            return 2;
        }
        Signing(dir);
        Requests(dir);
        Responses(dir);
        Callbacks(dir);
        Server(dir);
        Wrapper();
        SignedCallbacks();
        Api();
        BaseUrlFromEnvironment();
        Mock();
        Logging();
        Exchanges(dir);
        Async();
        Shapes();
        BodyCap();
        Deliveries();
        Console.WriteLine("csharp: " + passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
