package io.github.yunxinecp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every golden vector of tests/vectors/*.json that concerns the Java surface, one test per case. */
class VectorsTest {
    static final Gson GSON = new Gson();

    static JsonObject load(String name) throws IOException {
        File f = new File(System.getProperty("yunxinecp.repo", ".."), "tests/vectors/" + name);
        return JsonParser.parseString(new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8)).getAsJsonObject();
    }

    static Stream<DynamicTest> cases(String file, String group, Consumer<JsonObject> run) throws IOException {
        JsonArray all = load(file).getAsJsonArray(group);
        List<DynamicTest> tests = new ArrayList<>();
        int i = 0;
        for (JsonElement e : all) {
            JsonObject c = e.getAsJsonObject();
            String name = c.has("name") ? c.get("name").getAsString() : group + " #" + i;
            tests.add(DynamicTest.dynamicTest(name, () -> run.accept(c)));
            i++;
        }
        assertFalse(tests.isEmpty(), file + " " + group);
        return tests.stream();
    }

    static JsonObject validation(ValidationException e) {
        JsonObject err = new JsonObject();
        err.addProperty("field", e.field());
        err.addProperty("rule", e.rule());
        if (e.index() != null) {
            err.addProperty("index", e.index());
        }
        JsonObject o = new JsonObject();
        o.add("error", err);
        return o;
    }

    // signing.json

    @TestFactory
    Stream<DynamicTest> sign() throws IOException {
        return cases("signing.json", "sign", c -> {
            JsonElement got;
            try {
                Credentials creds = new Credentials(c.get("app_key").getAsString(), c.get("secret").getAsString());
                AuthHeaders h = creds.sign(c.get("nonce").getAsString(), c.get("cur_time").getAsLong());
                JsonArray pairs = new JsonArray();
                for (Map.Entry<String, String> e : h.asMap().entrySet()) {
                    JsonArray p = new JsonArray();
                    p.add(e.getKey());
                    p.add(e.getValue());
                    pairs.add(p);
                }
                JsonObject o = new JsonObject();
                o.add("headers", pairs);
                got = o;
                assertFalse(h.toString().contains(h.checkSum()));
                assertFalse(creds.toString().contains(c.get("secret").getAsString()) && !c.get("secret").getAsString().isEmpty()
                        && !creds.appKey().contains(c.get("secret").getAsString()));
            } catch (ValidationException e) {
                got = validation(e);
            }
            assertEquals(c.get("expect"), got);
        });
    }

    @TestFactory
    Stream<DynamicTest> credentials() throws IOException {
        return cases("signing.json", "credentials", c -> {
            JsonElement got;
            try {
                new Credentials(c.get("app_key").getAsString(), c.get("secret").getAsString());
                got = new JsonPrimitive("ok");
            } catch (ValidationException e) {
                got = validation(e);
            }
            assertEquals(c.get("expect"), got);
        });
    }

    @TestFactory
    Stream<DynamicTest> checksum() throws IOException {
        return cases("signing.json", "checksum", c -> {
            String secret = c.get("secret").getAsString(), nonce = c.get("nonce").getAsString(), t = c.get("cur_time").getAsString();
            assertEquals(c.get("checksum").getAsString(), YunxinEcp.checksum(secret, nonce, t));
            if (t.matches("[0-9]+")) {
                assertEquals(c.get("checksum").getAsString(), YunxinEcp.checksum(secret, nonce, Long.parseLong(t)));
            }
        });
    }

    // callbacks.json

    static Map<String, List<String>> headerMap(JsonArray pairs) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (JsonElement p : pairs) {
            JsonArray a = p.getAsJsonArray();
            m.computeIfAbsent(a.get(0).getAsString(), k -> new ArrayList<>()).add(a.get(1).getAsString());
        }
        return m;
    }

    @TestFactory
    Stream<DynamicTest> callbackVerify() throws IOException {
        return cases("callbacks.json", "verify", c -> {
            String secret = c.get("secret").getAsString();
            Credentials creds = new Credentials(c.get("app_key").getAsString(), secret);
            JsonElement tol = c.get("tolerance_ms");
            CallbackVerifier v = tol.isJsonPrimitive() && tol.getAsJsonPrimitive().isNumber()
                    ? new CallbackVerifier(creds).withToleranceMs(tol.getAsLong())
                    : new CallbackVerifier(creds).skipTimeCheckInsecure();
            byte[] body = c.get("body").getAsString().getBytes(StandardCharsets.UTF_8);
            String got;
            try {
                v.verify(body, headerMap(c.getAsJsonArray("headers")), c.get("now_ms").getAsLong());
                got = "ok";
            } catch (CallbackVerificationException e) {
                got = e.reason();
                assertFalse(e.getMessage().contains(secret));
                assertEquals(RetryAdvice.NEVER, e.retryAdvice());
            }
            assertEquals(c.get("expect").getAsString(), got);
            assertFalse(v.toString().contains(secret));
        });
    }

    static JsonElement str(java.util.Optional<String> o) {
        return o.isPresent() ? new JsonPrimitive(o.get()) : JsonNull.INSTANCE;
    }

    static JsonElement num(java.util.OptionalLong o) {
        return o.isPresent() ? new JsonPrimitive(o.getAsLong()) : JsonNull.INSTANCE;
    }

    @TestFactory
    Stream<DynamicTest> callbackParse() throws IOException {
        return cases("callbacks.json", "parse", c -> {
            JsonObject got = new JsonObject();
            try {
                CallbackEvent e = CallbackVerifier.parse(c.get("body").getAsString().getBytes(StandardCharsets.UTF_8));
                if (e.isCallEnd()) {
                    CallRecord r = e.record().get();
                    assertEquals("10", e.eventType().get());
                    got.addProperty("type", "call_end");
                    got.add("session", str(r.session()));
                    got.add("init_account", str(r.initAccount()));
                    got.add("caller", str(r.caller()));
                    got.add("callee", str(r.callee()));
                    got.add("create_time_ms", num(r.createTimeMs()));
                    got.add("start_time", str(r.startTime()));
                    got.add("status", str(r.status()));
                    got.add("duration_sec", num(r.durationSec()));
                    got.addProperty("answered", r.answered());
                    got.addProperty("billed_minutes", r.billedMinutes());
                    got.addProperty("cost_fen", r.costFen());
                    got.add("members", r.members().isPresent() ? GSON.toJsonTree(r.members().get()) : JsonNull.INSTANCE);
                    JsonArray causes = new JsonArray();
                    for (CallRecord.Leg leg : r.legs()) {
                        causes.add(str(leg.hangCause()));
                    }
                    got.add("hang_causes", causes);
                    assertEquals(JsonParser.parseString(r.rawJson()).isJsonObject(), true);
                } else {
                    got.addProperty("type", "other");
                    got.add("event_type", str(e.eventType()));
                    got.add("raw", str(e.raw()));
                }
            } catch (CallbackVerificationException e) {
                got.addProperty("error", e.reason());
            }
            assertEquals(c.get("expect"), got);
        });
    }

    // exchanges.json: scripted conversations with fixed nonces (one per expected attempt), clock and jitter.

    static JsonObject result(Exchange ex) {
        JsonObject o = new JsonObject();
        try {
            Object value = ex.result();
            if (value instanceof Started) {
                JsonObject s = new JsonObject();
                s.addProperty("session", ((Started) value).session());
                o.add("started", s);
            } else if (value instanceof CallRecord) {
                CallRecord r = (CallRecord) value;
                JsonObject s = new JsonObject();
                s.add("session", str(r.session()));
                s.addProperty("answered", r.answered());
                s.addProperty("billed_minutes", r.billedMinutes());
                o.add("record", s);
            } else {
                o.add("json", JsonParser.parseString((String) value));
            }
        } catch (ApiException e) {
            JsonObject err = new JsonObject();
            err.addProperty("kind", "api");
            err.addProperty("code", e.code());
            err.addProperty("retry", e.retryAdvice().code());
            if (e.apiMessage() != null) {
                err.addProperty("message", e.apiMessage());
            }
            o.add("error", err);
        } catch (ProtocolException e) {
            JsonObject err = new JsonObject();
            err.addProperty("kind", "protocol");
            err.addProperty("protocol", e.reason());
            err.addProperty("retry", e.retryAdvice().code());
            o.add("error", err);
        } catch (TransportException e) {
            JsonObject err = new JsonObject();
            err.addProperty("kind", "transport");
            err.addProperty("transport", e.reason());
            err.addProperty("maybe_sent", e.maybeSent());
            err.addProperty("retry", e.retryAdvice().code());
            o.add("error", err);
        }
        return o;
    }

    static Exchange exchangeFor(JsonObject v, JsonObject c, String[] nonces) {
        JsonObject r = c.getAsJsonObject("request");
        JsonObject s = c.getAsJsonObject("settings");
        Client client = Client.builder(new Credentials(v.get("app_key").getAsString(), v.get("secret").getAsString()))
                .baseUrl(v.get("base_url").getAsString())
                .maxRetries(s.get("max_retries").getAsInt())
                .backoff(java.time.Duration.ofMillis(s.get("backoff_ms").getAsLong()))
                .build();
        int kind;
        List<String> strings = new ArrayList<>();
        long number;
        switch (r.get("kind").getAsString()) {
            case "start_call":
                kind = Exchange.START_CALL;
                strings.add(r.get("caller_acc").getAsString());
                strings.add(r.get("caller").getAsString());
                strings.add(r.get("callee").getAsString());
                number = r.get("max_dur").getAsLong();
                break;
            case "start_conf":
                kind = Exchange.START_CONF;
                strings.add(r.get("caller_acc").getAsString());
                strings.add(r.get("caller").getAsString());
                for (JsonElement e : r.getAsJsonArray("callees")) {
                    strings.add(e.getAsString());
                }
                number = r.get("max_dur").getAsLong();
                break;
            case "query":
                kind = Exchange.QUERY;
                strings.add(r.get("session").getAsString());
                number = "conference".equals(r.get("type").getAsString()) ? 2 : 1;
                break;
            default:
                kind = Exchange.API;
                strings.add(r.get("path").getAsString());
                for (JsonElement p : r.getAsJsonArray("params")) {
                    strings.add(p.getAsJsonArray().get(0).getAsString());
                    strings.add(p.getAsJsonArray().get(1).getAsString());
                }
                number = r.get("idempotent").getAsBoolean() ? 1 : 0;
        }
        return client.exchange(kind, strings.toArray(new String[0]), number, nonces, v.get("now_secs").getAsLong(),
                v.get("jitter").getAsLong());
    }

    @TestFactory
    Stream<DynamicTest> exchanges() throws IOException {
        JsonObject v = load("exchanges.json");
        return cases("exchanges.json", "cases", c -> {
            JsonObject expect = c.getAsJsonObject("expect");
            List<String> nonces = new ArrayList<>();
            for (JsonElement a : expect.getAsJsonArray("attempts")) {
                nonces.add(a.getAsJsonObject().get("nonce").getAsString());
            }
            JsonArray script = c.getAsJsonArray("script");
            JsonArray attempts = new JsonArray();
            JsonArray waits = new JsonArray();
            try (Exchange ex = exchangeFor(v, c, nonces.toArray(new String[0]))) {
                long next = -1;
                for (int i = 0; i <= script.size(); i++) { // bounded: one more attempt than scripted fails
                    Exchange.Attempt a = ex.send();
                    assertEquals(attempts.size() + 1, a.number());
                    JsonObject got = new JsonObject();
                    got.addProperty("url", a.url());
                    got.addProperty("nonce", a.headers().get("Nonce"));
                    got.addProperty("cur_time", a.headers().get("CurTime"));
                    got.addProperty("checksum", a.headers().get("CheckSum"));
                    attempts.add(got);
                    assertTrue(attempts.size() <= script.size(), "attempt " + attempts.size() + " was not scripted");
                    assertEquals(5000, a.connectTimeoutMs());
                    assertEquals(15000, a.timeoutMs());
                    assertEquals(1048576, a.maxResponseBytes());
                    JsonObject step = script.get(attempts.size() - 1).getAsJsonObject();
                    if (step.has("answer")) {
                        JsonObject ans = step.getAsJsonObject("answer");
                        byte[] body = ans.get("body").getAsString().getBytes(StandardCharsets.UTF_8);
                        String location = ans.has("location") && !ans.get("location").isJsonNull() ? ans.get("location").getAsString() : null;
                        next = ex.receive(ans.get("status").getAsInt(), location, body, body.length, 1);
                    } else if (step.has("failure")) {
                        JsonObject f = step.getAsJsonObject("failure");
                        Exchange.TransportKind k = Exchange.TransportKind.valueOf(f.get("kind").getAsString().toUpperCase(java.util.Locale.ROOT));
                        next = ex.fail(k, f.get("maybe_sent").getAsBoolean(), "scripted", 1);
                    } else {
                        next = ex.tooLarge(step.getAsJsonObject("too_large").get("status").getAsInt(), 1);
                    }
                    if (next < 0) {
                        break;
                    }
                    waits.add(next);
                }
                assertTrue(next < 0, "not done after the script");
                JsonObject got = new JsonObject();
                got.add("attempts", attempts);
                got.add("waits_ms", waits);
                got.add("result", result(ex));
                assertEquals(expect, got);
                // Done: no further attempt, and the events tell the story with no secret in them.
                ValidationException e = assertThrows(ValidationException.class, ex::send);
                assertEquals("exchange", e.field());
                List<Exchange.Event> events = ex.takeEvents();
                int sent = 0, retries = 0;
                StringBuilder text = new StringBuilder();
                for (Exchange.Event ev : events) {
                    String name = ev.line().split(" id=")[0];
                    sent += name.equals("request sent") ? 1 : 0;
                    retries += name.equals("retry") ? 1 : 0;
                    text.append(ev.line()).append('\n');
                }
                assertEquals(attempts.size(), sent);
                assertEquals(waits.size(), retries);
                String last = events.get(events.size() - 1).line().split(" id=")[0];
                assertEquals(expect.getAsJsonObject("result").has("error") ? "gave up" : "response", last);
                assertFalse(text.toString().contains(v.get("secret").getAsString()));
                for (JsonElement a : attempts) {
                    assertFalse(text.toString().contains(a.getAsJsonObject().get("nonce").getAsString()));
                    assertFalse(text.toString().contains(a.getAsJsonObject().get("checksum").getAsString()));
                }
            }
        });
    }

    @Test
    void everyVectorGroupThisSuiteRunsExists() throws IOException {
        String[][] run = {{"signing.json", "sign"}, {"signing.json", "credentials"}, {"signing.json", "checksum"},
            {"callbacks.json", "verify"}, {"callbacks.json", "parse"}, {"exchanges.json", "cases"}};
        for (String[] r : run) {
            if (!load(r[0]).has(r[1])) {
                fail(r[0] + " has no group " + r[1]);
            }
        }
    }
}
