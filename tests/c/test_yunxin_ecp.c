/*
 * The C suite of libyunxin_ecp: every case of the JSON files in tests/vectors through the C API (the same
 * way core/tests/vectors.rs runs them), then NULL arguments, error paths, out-parameters left
 * untouched on error, client and verifier settings, generic API requests, the exchange misused
 * (NULLs, receive before send, send after done, cancel), the log callback,
 * threads, and round trips against the in-process mock server.
 *
 * Plain C11 that also compiles as C++17 (the run script builds both, with -Wall -Wextra
 * -Werror). JSON is read with jansson: what the ABI has no accessor for (an error's field and
 * rule, a record's legs, the mock's answers) is checked in the JSON the library writes.
 * Usage: test_yunxin_ecp VECTOR_DIR [--no-mock]
 * Prints one line per failure and closes with "c: N passed, M failed".
 */
/* setenv and unsetenv (POSIX), which strict C11 does not declare. */
#define _POSIX_C_SOURCE 200809L
#include <yunxin_ecp.h>

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- a tiny test harness: cases made of checks ---- */

static int cases_passed;
static int cases_failed;
static int case_ok;
static char case_name[512];

static void begin(const char *group, const char *name) {
  snprintf(case_name, sizeof case_name, "%s: %s", group, name ? name : "?");
  case_ok = 1;
}

static void end_case(void) {
  if (case_ok) {
    cases_passed++;
  } else {
    cases_failed++;
  }
}

static void check_(int ok, const char *what, const char *file, int line) {
  if (!ok) {
    case_ok = 0;
    fprintf(stderr, "FAIL [%s] %s:%d: %s\n", case_name, file, line, what);
  }
}

#define CHECK(cond) check_((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

static int streq(const char *a, const char *b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int contains(const char *haystack, const char *needle) {
  return haystack != NULL && needle != NULL && strstr(haystack, needle) != NULL;
}

/* A distinct address to preset out-parameters with: they must still hold it after an error. */
static char sentinel_byte;
#define SENTINEL(T) ((T *)(void *)&sentinel_byte)

/* ---- JSON helpers ---- */

static json_t *jstr(const char *s) { return s != NULL ? json_string(s) : json_null(); }

static const char *sget(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static json_int_t iget(const json_t *o, const char *key) {
  return json_integer_value(json_object_get(o, key));
}

/* A new reference to o[key], or JSON null when it is absent (for json_pack's "o"). */
static json_t *copy_of(const json_t *o, const char *key) {
  json_t *value = json_object_get(o, key);
  return value != NULL ? json_incref(value) : json_null();
}

/* Parses a JSON string the library returned, and frees it. */
static json_t *from_lib(char *text) {
  json_error_t error;
  json_t *value;
  if (text == NULL) {
    return json_null();
  }
  value = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
  if (value == NULL) {
    fprintf(stderr, "FAIL [%s] the library wrote invalid JSON: %s\n", case_name, error.text);
    case_ok = 0;
    value = json_null();
  }
  yx_string_free(text);
  return value;
}

/* Compares and releases `got`. */
static void expect_json(json_t *got, const json_t *want) {
  if (!json_equal(got, want)) {
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    fprintf(stderr, "FAIL [%s]\n  got  %s\n  want %s\n", case_name, g ? g : "?", w ? w : "?");
    free(g);
    free(w);
    case_ok = 0;
  }
  json_decref(got);
}

/* Compares, and releases both. */
static void expect_json_owned(json_t *got, json_t *want) {
  expect_json(got, want);
  json_decref(want);
}

static json_t *load(const char *dir, const char *name) {
  char path[4096];
  json_error_t error;
  json_t *value;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  value = json_load_file(path, JSON_ALLOW_NUL, &error);
  if (value == NULL) {
    fprintf(stderr, "cannot read %s: %s (line %d)\n", path, error.text, error.line);
    exit(2);
  }
  return value;
}

/* [[name, value], ...] as yx_pairs pointing into the JSON (valid while it lives). */
static yx_pair *pairs_of(const json_t *pairs, size_t *count) {
  size_t i;
  json_t *pair;
  yx_pair *out = (yx_pair *)calloc(json_array_size(pairs) + 1, sizeof *out);
  json_array_foreach(pairs, i, pair) {
    out[i].name = json_string_value(json_array_get(pair, 0));
    out[i].value = json_string_value(json_array_get(pair, 1));
  }
  *count = json_array_size(pairs);
  return out;
}

/* A header list as [[name, value], ...]; also checks that reading past its end gives NULL. */
static json_t *headers_json(const yx_headers *headers) {
  json_t *list = json_array();
  size_t i, count = yx_headers_count(headers);
  for (i = 0; i < count; i++) {
    json_array_append_new(list, json_pack("[o,o]", jstr(yx_headers_name(headers, i)),
                                          jstr(yx_headers_value(headers, i))));
  }
  CHECK(yx_headers_name(headers, count) == NULL);
  CHECK(yx_headers_value(headers, count) == NULL);
  CHECK(yx_headers_name(headers, SIZE_MAX) == NULL);
  return list;
}

/* The value of the header called `name` (borrowed from the list); NULL when there is none. */
static const char *header_value(const yx_headers *headers, const char *name) {
  size_t i;
  for (i = 0; i < yx_headers_count(headers); i++) {
    if (streq(yx_headers_name(headers, i), name)) {
      return yx_headers_value(headers, i);
    }
  }
  return NULL;
}

/* ---- reading error objects ---- */

/* The error JSON's "kind" for each result code. */
static const char *kind_name(yx_result kind) {
  switch (kind) {
  case YX_OK: return "ok";
  case YX_VALIDATION: return "validation";
  case YX_API: return "api";
  case YX_PROTOCOL: return "protocol";
  case YX_CALLBACK: return "callback";
  case YX_AUTH: return "auth";
  case YX_TRANSPORT: return "transport";
  case YX_ENTROPY: return "entropy";
  case YX_NULL_ARGUMENT: return "null_argument";
  case YX_INVALID_UTF8: return "invalid_utf8";
  case YX_INVALID_ARGUMENT: return "invalid_argument";
  case YX_IO: return "io";
  case YX_PANIC: return "panic";
  case YX_OTHER: return "other";
  }
  return NULL;
}

/* The error JSON's "retry" for each advice (also the code table's spelling). */
static const char *advice_name(yx_retry_advice advice) {
  switch (advice) {
  case YX_RETRY_NEVER: return "never";
  case YX_RETRY_SAFE: return "safe";
  case YX_RETRY_BACKOFF: return "backoff";
  case YX_RETRY_ONCE_AFTER_DELAY: return "once_after_delay";
  case YX_RETRY_OUTCOME_UNKNOWN: return "outcome_unknown";
  }
  return NULL;
}

/* The whole error as JSON (a new reference; JSON null for a NULL error), after checking that
 * each accessor says what the JSON says: every error read here is checked that way. */
static json_t *error_json(const yx_error *err) {
  char *text = NULL;
  json_t *j, *code;
  if (err == NULL) {
    return json_null();
  }
  CHECK(yx_error_to_json(err, &text, NULL) == YX_OK);
  j = from_lib(text);
  code = json_object_get(j, "code");
  CHECK(streq(sget(j, "kind"), kind_name(yx_error_kind(err))));
  CHECK(streq(sget(j, "message"), yx_error_message(err)));
  CHECK(streq(sget(j, "retry"), advice_name(yx_error_retry_advice(err))));
  CHECK((json_is_true(json_object_get(j, "maybe_sent")) ? 1 : 0) == yx_error_maybe_sent(err));
  CHECK(json_is_integer(code) ? json_integer_value(code) == yx_error_api_code(err)
                              : yx_error_api_code(err) == -1);
  return j;
}

/* Whether the error JSON's `key` is the string `want` (JSON null when `want` is NULL). */
static int err_is(const yx_error *err, const char *key, const char *want) {
  json_t *j = error_json(err);
  const json_t *value = json_object_get(j, key);
  int same = want == NULL ? json_is_null(value) : streq(json_string_value(value), want);
  if (!same) {
    char *got = value != NULL ? json_dumps(value, JSON_ENCODE_ANY) : NULL;
    fprintf(stderr, "  [%s] error %s is %s, want %s\n", case_name, key, got ? got : "absent",
            want ? want : "null");
    free(got);
  }
  json_decref(j);
  return same;
}

/* The error JSON's integer `key`, or -1 when it is null or absent. */
static json_int_t err_int(const yx_error *err, const char *key) {
  json_t *j = error_json(err);
  const json_t *value = json_object_get(j, key);
  json_int_t n = json_is_integer(value) ? json_integer_value(value) : -1;
  json_decref(j);
  return n;
}

/* A validation error as the vectors spell it: {"error": {"field", "rule", "index"?}}. */
static json_t *validation_json(const yx_error *err) {
  json_t *j = error_json(err);
  json_t *detail = json_pack("{s:o,s:o}", "field", copy_of(j, "field"), "rule", copy_of(j, "rule"));
  if (json_is_integer(json_object_get(j, "index"))) {
    json_object_set_new(detail, "index", copy_of(j, "index"));
  }
  json_decref(j);
  return json_pack("{s:o}", "error", detail);
}

/* No error message or JSON may quote a secret. */
static void check_no_secret(const yx_error *err, const char *secret) {
  char *json = NULL;
  if (secret == NULL || strlen(secret) < 4) {
    return;
  }
  CHECK(!contains(yx_error_message(err), secret));
  if (yx_error_to_json(err, &json, NULL) == YX_OK) {
    CHECK(!contains(json, secret));
    yx_string_free(json);
  }
}

/* A validation error naming `field` and `rule`, freed. */
static void expect_refusal(yx_result r, yx_error *err, const char *field, const char *rule) {
  CHECK(r == YX_VALIDATION);
  CHECK(yx_error_kind(err) == YX_VALIDATION);
  CHECK(err_is(err, "field", field));
  CHECK(err_is(err, "rule", rule));
  yx_error_free(err);
}

/* As expect_refusal, for a call that writes err (read only after the call). */
#define EXPECT_REFUSAL(call, field, rule)      \
  do {                                         \
    yx_result r_;                              \
    err = NULL;                                \
    r_ = (call);                               \
    expect_refusal(r_, err, field, rule);      \
  } while (0)

/* ---- call records ---- */

/* Whether JSON `value` is the string `s`, or null when `s` is NULL. */
static int json_is_text(const json_t *value, const char *s) {
  return s == NULL ? json_is_null(value) : streq(json_string_value(value), s);
}

/* The record's JSON (a new reference), after checking that its accessors say the same. */
static json_t *record_json(const yx_call_record *r) {
  char *text = NULL;
  json_t *j;
  uint64_t billed = yx_call_record_billed_minutes(r);
  CHECK(yx_call_record_to_json(r, &text, NULL) == YX_OK);
  j = from_lib(text);
  CHECK(json_is_text(json_object_get(j, "session"), yx_call_record_session(r)));
  CHECK((json_is_true(json_object_get(j, "answered")) ? 1 : 0) == yx_call_record_answered(r));
  CHECK(iget(j, "billed_minutes") == (json_int_t)billed);
  /* The JSON prices at the published 12 fen a minute; the accessor at any rate. */
  CHECK(iget(j, "cost_fen") == (json_int_t)yx_call_record_cost_fen(r, 12));
  CHECK(yx_call_record_cost_fen(r, 7) == billed * 7);
  CHECK(yx_call_record_cost_fen(r, UINT64_MAX) == (billed > 1 ? UINT64_MAX : billed * UINT64_MAX));
  CHECK(json_is_boolean(json_object_get(j, "is_conference")));
  CHECK(json_is_true(json_object_get(j, "is_conference")) ==
        json_is_array(json_object_get(j, "members")));
  CHECK(json_is_array(json_object_get(j, "legs")));
  CHECK(json_is_object(json_object_get(j, "raw")));
  return j;
}

/* The record as core/tests/vectors.rs summarizes a query answer. */
static json_t *query_record_json(const yx_call_record *r) {
  json_t *j = record_json(r);
  json_t *summary = json_pack(
      "{s:o,s:o,s:b,s:I,s:I,s:I,s:o}", "session", jstr(yx_call_record_session(r)), "duration_sec",
      copy_of(j, "duration_sec"), "answered", yx_call_record_answered(r), "billed_minutes",
      (json_int_t)yx_call_record_billed_minutes(r), "cost_fen",
      (json_int_t)yx_call_record_cost_fen(r, 12), "legs",
      (json_int_t)json_array_size(json_object_get(j, "legs")), "members", copy_of(j, "members"));
  json_decref(j);
  return summary;
}

/* The hang cause of each leg, in order. */
static json_t *hang_causes_json(const json_t *record) {
  json_t *causes = json_array();
  size_t i;
  json_t *leg;
  json_array_foreach(json_object_get(record, "legs"), i, leg) {
    json_array_append_new(causes, copy_of(leg, "hang_cause"));
  }
  return causes;
}

/* ---- signing.json ---- */

/* The vector's expected headers, checked for a signature asked for at time 0: what the library
 * signed at the clock's time, and the vector's own CheckSum from yx_checksum() at "0". */
static json_t *expected_at_time_zero(const json_t *c, const yx_headers *headers) {
  const json_t *want = json_object_get(json_object_get(c, "expect"), "headers");
  char *sum = NULL;
  CHECK(strtoull(header_value(headers, "CurTime"), NULL, 10) + 2 >= (unsigned long long)time(NULL));
  CHECK(streq(header_value(headers, "Nonce"), sget(c, "nonce")));
  CHECK(streq(json_string_value(json_array_get(json_array_get(want, 2), 1)), "0"));
  CHECK(yx_checksum(sget(c, "secret"), sget(c, "nonce"), "0", &sum, NULL) == YX_OK);
  CHECK(streq(sum, json_string_value(json_array_get(json_array_get(want, 3), 1))));
  yx_string_free(sum);
  return json_deep_copy(json_object_get(c, "expect"));
}

static void vectors_signing(const char *dir) {
  json_t *v = load(dir, "signing.json");
  size_t i;
  json_t *c;

  json_array_foreach(json_object_get(v, "sign"), i, c) {
    yx_credentials *creds = NULL;
    yx_headers *headers = SENTINEL(yx_headers);
    yx_error *err = NULL;
    json_t *got = NULL;
    yx_result r;
    begin("signing.json sign", sget(c, "name"));
    r = yx_credentials_new(sget(c, "app_key"), sget(c, "secret"), &creds, &err);
    CHECK(r == YX_OK);
    if (r != YX_OK) {
      yx_error_free(err);
      end_case();
      continue;
    }
    r = yx_credentials_sign(creds, sget(c, "nonce"), (uint64_t)iget(c, "cur_time"), &headers, &err);
    if (r == YX_OK && iget(c, "cur_time") == 0) {
      /* Time 0 means "read the clock" in this ABI, so a signature at CurTime 0 is out of its
         reach: check that the clock was read, and the vector's digest with the bare function. */
      got = expected_at_time_zero(c, headers);
      yx_headers_free(headers);
    } else if (r == YX_OK) {
      char *sum = NULL;
      CHECK(yx_headers_count(headers) == 4);
      got = json_pack("{s:o}", "headers", headers_json(headers));
      /* The digest alone, from the bare function, agrees. */
      CHECK(yx_checksum(sget(c, "secret"), header_value(headers, "Nonce"),
                        header_value(headers, "CurTime"), &sum, NULL) == YX_OK);
      CHECK(streq(sum, header_value(headers, "CheckSum")));
      yx_string_free(sum);
      yx_headers_free(headers);
    } else {
      CHECK(r == YX_VALIDATION);
      CHECK(yx_error_kind(err) == r);
      CHECK(headers == SENTINEL(yx_headers));
      check_no_secret(err, sget(c, "secret"));
      got = validation_json(err);
      yx_error_free(err);
    }
    expect_json(got, json_object_get(c, "expect"));
    yx_credentials_free(creds);
    end_case();
  }

  json_array_foreach(json_object_get(v, "credentials"), i, c) {
    yx_credentials *creds = SENTINEL(yx_credentials);
    yx_error *err = NULL;
    json_t *got;
    begin("signing.json credentials", sget(c, "name"));
    if (yx_credentials_new(sget(c, "app_key"), sget(c, "secret"), &creds, &err) == YX_OK) {
      /* The key is kept as given: it is what a signature sends. */
      yx_headers *headers = NULL;
      CHECK(streq(yx_credentials_app_key(creds), sget(c, "app_key")));
      CHECK(yx_credentials_sign(creds, "abc", 1700000000, &headers, NULL) == YX_OK);
      CHECK(streq(header_value(headers, "AppKey"), sget(c, "app_key")));
      yx_headers_free(headers);
      yx_credentials_free(creds);
      got = json_string("ok");
    } else {
      CHECK(creds == SENTINEL(yx_credentials));
      check_no_secret(err, sget(c, "secret"));
      got = validation_json(err);
      yx_error_free(err);
    }
    expect_json(got, json_object_get(c, "expect"));
    end_case();
  }

  json_array_foreach(json_object_get(v, "checksum"), i, c) {
    char *sum = NULL;
    begin("signing.json checksum", sget(c, "checksum"));
    CHECK(yx_checksum(sget(c, "secret"), sget(c, "nonce"), sget(c, "cur_time"), &sum, NULL) ==
          YX_OK);
    CHECK(streq(sum, sget(c, "checksum")));
    yx_string_free(sum);
    end_case();
  }
  json_decref(v);
}

/* ---- requests.json ---- */

static yx_result build_request(const json_t *c, yx_request **out, yx_error **err) {
  const json_t *p = json_object_get(c, "params");
  const char *kind = sget(c, "request");
  if (streq(kind, "start_call")) {
    return yx_start_call_new(sget(p, "caller_acc"), sget(p, "caller"), sget(p, "callee"),
                             (uint32_t)iget(p, "max_dur"), out, err);
  }
  if (streq(kind, "start_conf")) {
    const json_t *list = json_object_get(p, "callees");
    size_t n = json_array_size(list), i;
    json_t *item;
    yx_result r;
    const char **callees = (const char **)calloc(n + 1, sizeof *callees);
    json_array_foreach(list, i, item) { callees[i] = json_string_value(item); }
    r = yx_start_conf_new(sget(p, "caller_acc"), sget(p, "caller"), callees, n,
                          (uint32_t)iget(p, "max_dur"), out, err);
    free(callees);
    return r;
  }
  return yx_query_new(sget(p, "session"),
                      streq(sget(p, "kind"), "call") ? YX_SESSION_CALL : YX_SESSION_CONFERENCE,
                      out, err);
}

/* The request as yx_request_to_json() gives it. */
static json_t *request_json(const yx_request *request) {
  char *text = NULL;
  CHECK(yx_request_to_json(request, &text, NULL) == YX_OK);
  return from_lib(text);
}

static void vectors_requests(const char *dir) {
  json_t *v = load(dir, "requests.json");
  yx_credentials *creds = NULL;
  size_t i;
  json_t *c;

  if (yx_credentials_new(sget(v, "app_key"), sget(v, "secret"), &creds, NULL) != YX_OK) {
    fprintf(stderr, "requests.json: bad credentials\n");
    exit(2);
  }
  json_array_foreach(json_object_get(v, "cases"), i, c) {
    yx_request *request = SENTINEL(yx_request);
    yx_prepared_request *prepared = SENTINEL(yx_prepared_request);
    yx_error *err = NULL;
    json_t *got = NULL;
    yx_result r;
    begin("requests.json", sget(c, "name"));
    r = build_request(c, &request, &err);
    if (r == YX_OK) {
      /* The request keeps what it was given, and says what it is. */
      expect_json_owned(request_json(request),
                  json_pack("{s:O,s:O}", "request", json_object_get(c, "request"), "params",
                            json_object_get(c, "params")));
      r = yx_request_prepare(request, creds, sget(c, "base_url"), sget(v, "nonce"),
                             (uint64_t)iget(v, "cur_time"), &prepared, &err);
    } else {
      CHECK(request == SENTINEL(yx_request));
      request = NULL;
    }
    if (r == YX_OK) {
      const yx_headers *headers = yx_prepared_request_headers(prepared);
      CHECK(yx_headers_count(headers) == 5);
      /* Every prepared request is a POST: the ABI has no method to read. */
      got = json_pack("{s:s,s:o,s:o,s:o}", "method", "POST", "url",
                      jstr(yx_prepared_request_url(prepared)), "headers", headers_json(headers),
                      "body", jstr(yx_prepared_request_body(prepared)));
      yx_prepared_request_free(prepared);
    } else if (r == YX_VALIDATION) {
      CHECK(prepared == SENTINEL(yx_prepared_request));
      got = validation_json(err);
    } else {
      CHECK(!"unexpected result");
      got = json_null();
    }
    yx_error_free(err);
    expect_json(got, json_object_get(c, "expect"));
    yx_request_free(request);
    end_case();
  }
  yx_credentials_free(creds);
  json_decref(v);
}

/* ---- responses.json ---- */

static void vectors_responses(const char *dir) {
  json_t *v = load(dir, "responses.json");
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(v, "cases"), i, c) {
    const char *endpoint_code = sget(c, "endpoint");
    const char *body = sget(c, "body");
    size_t body_len = json_string_length(json_object_get(c, "body"));
    uint16_t status = (uint16_t)iget(c, "http_status");
    int32_t endpoint = streq(endpoint_code, "start_call")   ? YX_ENDPOINT_START_CALL
                       : streq(endpoint_code, "start_conf") ? YX_ENDPOINT_START_CONF
                                                            : YX_ENDPOINT_QUERY_BY_SESSION;
    yx_error *err = NULL;
    json_t *got = NULL;
    yx_result r;
    begin("responses.json", sget(c, "name"));
    CHECK(endpoint != YX_ENDPOINT_QUERY_BY_SESSION || streq(endpoint_code, "query_by_session"));
    if (endpoint == YX_ENDPOINT_QUERY_BY_SESSION) {
      yx_call_record *record = SENTINEL(yx_call_record);
      r = yx_parse_query_response(status, body, body_len, &record, &err);
      if (r == YX_OK) {
        got = json_pack("{s:o}", "ok", query_record_json(record));
        yx_call_record_free(record);
      } else {
        CHECK(record == SENTINEL(yx_call_record));
      }
    } else {
      char *session = SENTINEL(char);
      r = yx_parse_start_response(endpoint, status, body, body_len, &session, &err);
      if (r == YX_OK) {
        got = json_pack("{s:{s:s}}", "ok", "session", session);
        yx_string_free(session);
      } else {
        CHECK(session == SENTINEL(char));
      }
    }
    if (r != YX_OK) {
      json_t *e = error_json(err);
      CHECK(yx_error_kind(err) == r);
      /* Whatever failed, the message must say which endpoint answered. */
      CHECK(contains(yx_error_message(err), "/call/ecp/"));
      CHECK(streq(sget(e, "endpoint"), endpoint_code));
      CHECK(iget(e, "http_status") == status);
      CHECK(yx_error_maybe_sent(err) == 1);
      CHECK(json_is_string(json_object_get(e, "raw_body")));
      if (r == YX_API) {
        got = json_pack("{s:{s:s,s:I,s:o,s:o}}", "error", "kind", "api", "code",
                        (json_int_t)yx_error_api_code(err), "message", copy_of(e, "api_message"),
                        "retry", jstr(advice_name(yx_error_retry_advice(err))));
      } else if (r == YX_PROTOCOL) {
        got = json_pack("{s:{s:s,s:o,s:o}}", "error", "kind", "protocol", "protocol",
                        copy_of(e, "reason"), "retry", copy_of(e, "retry"));
      } else {
        CHECK(!"unexpected result");
        got = json_null();
      }
      json_decref(e);
      yx_error_free(err);
    }
    expect_json(got, json_object_get(c, "expect"));
    end_case();
  }
  json_decref(v);
}

/* ---- callbacks.json ---- */

/* A verifier with the vector's tolerance: a number of milliseconds, or "skip" for no time check. */
static yx_result verifier_for(const yx_credentials *creds, const json_t *tolerance,
                              yx_callback_verifier **out) {
  char options[64];
  if (json_is_integer(tolerance)) {
    snprintf(options, sizeof options, "{\"tolerance_ms\":%" JSON_INTEGER_FORMAT "}",
             json_integer_value(tolerance));
  } else {
    snprintf(options, sizeof options, "{\"check_time\":false}");
  }
  return yx_callback_verifier_new(creds, options, out, NULL);
}

/* A parsed call end as the vectors spell it: accessors where the ABI has them, the record's
 * JSON for the rest; and the event's JSON must be the record's plus its type. */
static json_t *call_end_json(const yx_callback_event *event, const json_t *event_json) {
  const yx_call_record *r = yx_callback_event_record(event);
  json_t *j = record_json(r);
  const char *key;
  json_t *value;
  json_t *got = json_pack(
      "{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:I,s:I,s:o,s:o}", "type", "call_end", "session",
      jstr(yx_call_record_session(r)), "init_account", copy_of(j, "init_account"), "caller",
      copy_of(j, "caller"), "callee", copy_of(j, "callee"), "create_time_ms",
      copy_of(j, "create_time_ms"), "start_time", copy_of(j, "start_time"), "status",
      copy_of(j, "status"), "duration_sec", copy_of(j, "duration_sec"), "answered",
      yx_call_record_answered(r), "billed_minutes", (json_int_t)yx_call_record_billed_minutes(r),
      "cost_fen", (json_int_t)yx_call_record_cost_fen(r, 12), "members", copy_of(j, "members"),
      "hang_causes", hang_causes_json(j));
  CHECK(streq(sget(event_json, "type"), "call_end"));
  CHECK(json_object_size(event_json) == json_object_size(j) + 1);
  json_object_foreach(j, key, value) {
    if (!json_equal(json_object_get(event_json, key), value)) {
      fprintf(stderr, "FAIL [%s] event JSON field %s differs from the record's\n", case_name, key);
      case_ok = 0;
    }
  }
  json_decref(j);
  return got;
}

static void vectors_callbacks(const char *dir) {
  json_t *v = load(dir, "callbacks.json");
  size_t i;
  json_t *c;

  json_array_foreach(json_object_get(v, "verify"), i, c) {
    yx_credentials *creds = NULL;
    yx_callback_verifier *verifier = NULL;
    yx_error *err = NULL;
    size_t count = 0;
    yx_pair *headers = pairs_of(json_object_get(c, "headers"), &count);
    const char *body = sget(c, "body");
    size_t body_len = json_string_length(json_object_get(c, "body"));
    json_t *got;
    yx_result r;
    begin("callbacks.json verify", sget(c, "name"));
    CHECK(yx_credentials_new(sget(c, "app_key"), sget(c, "secret"), &creds, NULL) == YX_OK);
    CHECK(verifier_for(creds, json_object_get(c, "tolerance_ms"), &verifier) == YX_OK);
    /* The verifier keeps its own copy of the credentials. */
    yx_credentials_free(creds);
    r = yx_callback_verifier_verify(verifier, body, body_len, headers, count,
                                    (uint64_t)iget(c, "now_ms"), &err);
    if (r == YX_OK) {
      got = json_string("ok");
    } else {
      json_t *e = error_json(err);
      CHECK(r == YX_CALLBACK);
      check_no_secret(err, sget(c, "secret"));
      got = copy_of(e, "reason");
      json_decref(e);
      yx_error_free(err);
    }
    expect_json(got, json_object_get(c, "expect"));
    yx_callback_verifier_free(verifier);
    free(headers);
    end_case();
  }

  json_array_foreach(json_object_get(v, "parse"), i, c) {
    yx_callback_event *event = SENTINEL(yx_callback_event);
    yx_error *err = NULL;
    json_t *got;
    const char *body = sget(c, "body");
    size_t body_len = json_string_length(json_object_get(c, "body"));
    begin("callbacks.json parse", sget(c, "name"));
    if (yx_callback_parse(body, body_len, &event, &err) == YX_OK) {
      char *text = NULL;
      json_t *as_json;
      CHECK(yx_callback_event_to_json(event, &text, NULL) == YX_OK);
      as_json = from_lib(text);
      if (yx_callback_event_kind(event) == YX_EVENT_CALL_END) {
        CHECK(yx_callback_event_record(event) != NULL);
        got = call_end_json(event, as_json);
      } else {
        CHECK(yx_callback_event_kind(event) == YX_EVENT_OTHER);
        CHECK(yx_callback_event_record(event) == NULL);
        CHECK(streq(sget(as_json, "type"), "other"));
        got = json_pack("{s:s,s:o,s:o}", "type", "other", "event_type",
                        copy_of(as_json, "event_type"), "raw", copy_of(as_json, "raw"));
        /* Passed through untouched: the raw text is the body itself. */
        CHECK(streq(sget(as_json, "raw"), body));
      }
      json_decref(as_json);
      yx_callback_event_free(event);
    } else {
      json_t *e = error_json(err);
      CHECK(event == SENTINEL(yx_callback_event));
      CHECK(yx_error_kind(err) == YX_CALLBACK);
      got = json_pack("{s:o}", "error", copy_of(e, "reason"));
      json_decref(e);
      yx_error_free(err);
    }
    expect_json(got, json_object_get(c, "expect"));
    end_case();
  }
  json_decref(v);
}

/* ---- server.json ---- */

/* The service's answer to a refused request, from the refusal. */
static json_t *refusal_reply(const yx_error *refusal) {
  char *reply = SENTINEL(char);
  json_t *got;
  CHECK(yx_server_reply_refusal(refusal, &reply, NULL) == YX_OK);
  CHECK(reply != SENTINEL(char));
  got = jstr(reply != SENTINEL(char) ? reply : NULL);
  if (reply != SENTINEL(char)) {
    yx_string_free(reply);
  }
  return got;
}

static void vectors_server(const char *dir) {
  json_t *v = load(dir, "server.json");
  yx_credentials *app = NULL;
  uint64_t window = (uint64_t)iget(v, "window_secs");
  size_t i;
  json_t *c;
  if (yx_credentials_new(sget(v, "app_key"), sget(v, "secret"), &app, NULL) != YX_OK) {
    fprintf(stderr, "server.json: bad credentials\n");
    exit(2);
  }
  json_array_foreach(json_object_get(v, "cases"), i, c) {
    size_t count = 0;
    yx_pair *headers = pairs_of(json_object_get(c, "headers"), &count);
    yx_error *err = NULL;
    yx_request *request = SENTINEL(yx_request);
    json_t *got;
    yx_result r;
    begin("server.json", sget(c, "name"));
    r = yx_server_verify_request(app, headers, count, (uint64_t)iget(c, "now_secs"), window, &err);
    if (r != YX_OK) {
      json_t *e = error_json(err);
      CHECK(r == YX_AUTH);
      got = json_pack("{s:o,s:o}", "reply", refusal_reply(err), "refusal", copy_of(e, "reason"));
      json_decref(e);
      yx_error_free(err);
    } else {
      const char *body = sget(c, "body");
      size_t body_len = json_string_length(json_object_get(c, "body"));
      r = yx_server_parse_request(sget(c, "path"), sget(c, "query"), body, body_len, &request,
                                  &err);
      if (r == YX_OK) {
        got = request_json(request);
        yx_request_free(request);
      } else {
        json_t *e = error_json(err);
        CHECK(r == YX_VALIDATION);
        CHECK(request == SENTINEL(yx_request));
        got = json_pack("{s:o,s:o}", "reply", refusal_reply(err), "field", copy_of(e, "field"));
        json_decref(e);
        yx_error_free(err);
      }
    }
    expect_json(got, json_object_get(c, "expect"));
    free(headers);
    end_case();
  }
  yx_credentials_free(app);
  json_decref(v);
}

/* ---- the API beyond the vectors ---- */

static const char *KEY = "fd460d34e786e7754e505bc4fab0f027";
static const char *SECRET = "xxxxxxxx";

static yx_credentials *sample_credentials(void) {
  yx_credentials *creds = NULL;
  if (yx_credentials_new(KEY, SECRET, &creds, NULL) != YX_OK) {
    fprintf(stderr, "cannot build the sample credentials\n");
    exit(2);
  }
  return creds;
}

static void test_versions(void) {
  const char *v = yx_version();
  begin("api", "version and ABI version");
  CHECK(yx_abi_version() == YX_ABI_VERSION);
  CHECK(YX_ABI_VERSION == 2);
  CHECK(v != NULL && strlen(v) >= 5 && strchr(v, '.') != NULL);
  end_case();
}

/* A failing call: the expected code, the argument named, no retry advised. Frees the error. */
static void expect_null_argument(yx_result r, yx_error *err, const char *argument) {
  CHECK(r == YX_NULL_ARGUMENT);
  CHECK(yx_error_kind(err) == YX_NULL_ARGUMENT);
  CHECK(err_is(err, "field", argument));
  CHECK(yx_error_retry_advice(err) == YX_RETRY_NEVER);
  yx_error_free(err);
}

/* A NULL entry of an array argument: the array named, the entry's position as the error JSON's
 * index and in the message. Frees the error. */
static void expect_null_entry(yx_error *err, const char *array, json_int_t index) {
  char entry[32];
  snprintf(entry, sizeof entry, "(entry %d)", (int)index);
  CHECK(err_int(err, "index") == index);
  CHECK(contains(yx_error_message(err), entry));
  expect_null_argument(YX_NULL_ARGUMENT, err, array);
}

/* The call writes err; reading it must come after the call, not among its arguments. */
#define EXPECT_NULL_ARG(call, argument)      \
  do {                                       \
    yx_result r_;                            \
    err = NULL;                              \
    r_ = (call);                             \
    expect_null_argument(r_, err, argument); \
  } while (0)

/* Credentials from the environment: the variable to fix is named, whether it is missing or
   empty, the key before the secret. Run before any thread starts (setenv is not thread-safe). */
static void test_credentials_from_env(void) {
  yx_credentials *creds = SENTINEL(yx_credentials);
  yx_error *err = NULL;
  begin("api", "credentials from the environment name the variable and what is wrong with it");
  unsetenv("YUNXIN_APP_KEY");
  unsetenv("YUNXIN_APP_SECRET");
  CHECK(yx_credentials_from_env(&creds, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "YUNXIN_APP_KEY") && err_is(err, "rule", "not_set"));
  yx_error_free(err);
  err = NULL;
  setenv("YUNXIN_APP_KEY", "", 1);
  CHECK(yx_credentials_from_env(&creds, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "YUNXIN_APP_KEY") && err_is(err, "rule", "empty"));
  yx_error_free(err);
  err = NULL;
  setenv("YUNXIN_APP_KEY", KEY, 1);
  CHECK(yx_credentials_from_env(&creds, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "YUNXIN_APP_SECRET") && err_is(err, "rule", "not_set"));
  yx_error_free(err);
  err = NULL;
  CHECK(creds == SENTINEL(yx_credentials));
  setenv("YUNXIN_APP_SECRET", SECRET, 1);
  CHECK(yx_credentials_from_env(&creds, &err) == YX_OK && streq(yx_credentials_app_key(creds), KEY));
  yx_credentials_free(creds);
  unsetenv("YUNXIN_APP_KEY");
  unsetenv("YUNXIN_APP_SECRET");
  end_case();
}

static void test_null_arguments(void) {
  yx_credentials *creds = sample_credentials();
  yx_credentials *c_out = SENTINEL(yx_credentials);
  yx_headers *h_out = SENTINEL(yx_headers);
  yx_request *r_out = SENTINEL(yx_request);
  yx_prepared_request *p_out = SENTINEL(yx_prepared_request);
  yx_call_record *rec_out = SENTINEL(yx_call_record);
  yx_callback_event *ev_out = SENTINEL(yx_callback_event);
  yx_callback_verifier *v_out = SENTINEL(yx_callback_verifier);
  yx_client *cl_out = SENTINEL(yx_client);
  yx_mock_server *m_out = SENTINEL(yx_mock_server);
  char *s_out = SENTINEL(char);
  yx_error *err = NULL;
  yx_request *query = NULL;
  const char *callees[] = {"13888888888", NULL};

  begin("api", "NULL arguments are refused and name the argument");
  CHECK(yx_query_new("s-1", YX_SESSION_CALL, &query, NULL) == YX_OK);
  EXPECT_NULL_ARG(yx_credentials_new(NULL, SECRET, &c_out, &err), "app_key");
  EXPECT_NULL_ARG(yx_credentials_new(KEY, NULL, &c_out, &err), "app_secret");
  EXPECT_NULL_ARG(yx_credentials_new(KEY, SECRET, NULL, &err), "credentials_out");
  EXPECT_NULL_ARG(yx_credentials_from_env(NULL, &err), "credentials_out");
  CHECK(c_out == SENTINEL(yx_credentials));
  EXPECT_NULL_ARG(yx_credentials_sign(NULL, "abc", 1, &h_out, &err), "credentials");
  EXPECT_NULL_ARG(yx_credentials_sign(creds, NULL, 0, NULL, &err), "headers_out");
  CHECK(h_out == SENTINEL(yx_headers));
  EXPECT_NULL_ARG(yx_checksum(NULL, "n", "1", &s_out, &err), "secret");
  EXPECT_NULL_ARG(yx_checksum(SECRET, "n", NULL, &s_out, &err), "cur_time");
  EXPECT_NULL_ARG(yx_body_md5(NULL, 3, &s_out, &err), "body");
  EXPECT_NULL_ARG(yx_generate_nonce(32, NULL, &err), "nonce_out");
  CHECK(s_out == SENTINEL(char));
  EXPECT_NULL_ARG(yx_start_call_new("acc", NULL, "13777777777", 60, &r_out, &err), "caller");
  EXPECT_NULL_ARG(yx_start_conf_new("acc", "13777777777", NULL, 2, 60, &r_out, &err), "callees");
  /* A NULL entry names the array, and its position. */
  err = NULL;
  CHECK(yx_start_conf_new("acc", "13777777777", callees, 2, 60, &r_out, &err) == YX_NULL_ARGUMENT);
  expect_null_entry(err, "callees", 1);
  EXPECT_NULL_ARG(yx_query_new(NULL, YX_SESSION_CALL, &r_out, &err), "session");
  EXPECT_NULL_ARG(yx_api_request_new(NULL, NULL, 0, 0, &r_out, &err), "path");
  EXPECT_NULL_ARG(yx_api_request_new("/a/b.action", NULL, 1, 0, &r_out, &err), "params");
  {
    const yx_pair unnamed[] = {{"accid", "abc"}, {NULL, "x"}};
    err = NULL;
    CHECK(yx_api_request_new("/a/b.action", unnamed, 2, 0, &r_out, &err) == YX_NULL_ARGUMENT);
    expect_null_entry(err, "params", 1);
  }
  CHECK(r_out == SENTINEL(yx_request));
  EXPECT_NULL_ARG(yx_request_to_json(NULL, &s_out, &err), "request");
  EXPECT_NULL_ARG(yx_request_prepare(NULL, creds, NULL, NULL, 0, &p_out, &err), "request");
  EXPECT_NULL_ARG(yx_request_prepare(query, NULL, NULL, NULL, 0, &p_out, &err), "credentials");
  EXPECT_NULL_ARG(yx_request_prepare(query, creds, NULL, NULL, 0, NULL, &err), "prepared_out");
  CHECK(p_out == SENTINEL(yx_prepared_request));
  EXPECT_NULL_ARG(yx_parse_query_response(200, NULL, 5, &rec_out, &err), "body");
  CHECK(rec_out == SENTINEL(yx_call_record));
  EXPECT_NULL_ARG(yx_parse_start_response(YX_ENDPOINT_START_CALL, 200, "{}", 2, NULL, &err),
                  "session_out");
  EXPECT_NULL_ARG(yx_parse_api_response(NULL, 200, "{}", 2, &s_out, &err), "request");
  EXPECT_NULL_ARG(yx_call_record_to_json(NULL, &s_out, &err), "record");
  EXPECT_NULL_ARG(yx_callback_verifier_new(NULL, NULL, &v_out, &err), "credentials");
  EXPECT_NULL_ARG(yx_callback_verifier_new(creds, NULL, NULL, &err), "verifier_out");
  CHECK(v_out == SENTINEL(yx_callback_verifier));
  EXPECT_NULL_ARG(yx_callback_parse(NULL, 1, &ev_out, &err), "body");
  EXPECT_NULL_ARG(yx_callback_event_to_json(NULL, &s_out, &err), "event");
  CHECK(ev_out == SENTINEL(yx_callback_event));
  {
    yx_callback_verifier *verifier = NULL;
    yx_pair bad[] = {{"MD5", NULL}};
    CHECK(yx_callback_verifier_new(creds, NULL, &verifier, NULL) == YX_OK);
    EXPECT_NULL_ARG(yx_callback_verifier_verify(NULL, "{}", 2, NULL, 0, 0, &err), "verifier");
    err = NULL;
    CHECK(yx_callback_verifier_verify(verifier, "{}", 2, bad, 1, 0, &err) == YX_NULL_ARGUMENT);
    expect_null_entry(err, "headers", 0);
    EXPECT_NULL_ARG(yx_callback_verifier_verify(verifier, "{}", 2, NULL, 1, 0, &err), "headers");
    EXPECT_NULL_ARG(
        yx_callback_verifier_verify_and_parse(verifier, "{}", 2, NULL, 0, 0, NULL, &err),
        "event_out");
    yx_callback_verifier_free(verifier);
  }
  EXPECT_NULL_ARG(yx_server_verify_request(NULL, NULL, 0, 0, 300, &err), "credentials");
  EXPECT_NULL_ARG(yx_server_parse_request("/call/ecp/startcall.action", NULL, "", 0, &r_out, &err),
                  "query");
  EXPECT_NULL_ARG(yx_server_reply_refusal(NULL, &s_out, &err), "refusal");
  EXPECT_NULL_ARG(yx_client_new(NULL, NULL, &cl_out, &err), "credentials");
  EXPECT_NULL_ARG(yx_client_new(creds, NULL, NULL, &err), "client_out");
  CHECK(cl_out == SENTINEL(yx_client));
  EXPECT_NULL_ARG(yx_client_start(NULL, query, &s_out, &err), "client");
  EXPECT_NULL_ARG(yx_client_query(NULL, query, &rec_out, &err), "client");
  EXPECT_NULL_ARG(yx_client_request(NULL, query, &s_out, &err), "client");
  EXPECT_NULL_ARG(yx_mock_server_start(NULL, &err), "server_out");
  CHECK(m_out == SENTINEL(yx_mock_server));
  EXPECT_NULL_ARG(yx_mock_server_control(NULL, "GET", "/_mock/stats", NULL, &s_out, &err),
                  "server");
  EXPECT_NULL_ARG(yx_mock_server_wait_for_inbox(NULL, 1, 0, &s_out, &err), "server");
  EXPECT_NULL_ARG(yx_error_to_json(NULL, &s_out, &err), "err");
  CHECK(s_out == SENTINEL(char));
  CHECK(rec_out == SENTINEL(yx_call_record));
  /* Without err_out the code alone comes back. */
  CHECK(yx_credentials_new(NULL, NULL, NULL, NULL) == YX_NULL_ARGUMENT);
  /* An empty body may be NULL. */
  {
    char *md5 = NULL;
    CHECK(yx_body_md5(NULL, 0, &md5, NULL) == YX_OK);
    CHECK(streq(md5, "d41d8cd98f00b204e9800998ecf8427e"));
    yx_string_free(md5);
  }
  yx_request_free(query);
  yx_credentials_free(creds);
  end_case();
}

static void test_invalid_utf8(void) {
  yx_credentials *c_out = SENTINEL(yx_credentials);
  yx_error *err = NULL;
  yx_result r;
  begin("api", "invalid UTF-8 is refused without quoting the value");
  r = yx_credentials_new(KEY, "s\xff\xfe-secret", &c_out, &err);
  CHECK(r == YX_INVALID_UTF8);
  CHECK(c_out == SENTINEL(yx_credentials));
  CHECK(err_is(err, "field", "app_secret"));
  CHECK(!contains(yx_error_message(err), "-secret"));
  check_no_secret(err, "-secret");
  yx_error_free(err);
  err = NULL;
  CHECK(yx_start_call_new("acc", "13888888888", "1377777\xc0", 60, NULL, &err) ==
        YX_INVALID_UTF8);
  CHECK(err_is(err, "field", "callee"));
  yx_error_free(err);
  end_case();
}

static void test_free_null_and_accessors(void) {
  begin("api", "free(NULL) is a no-op and accessors answer NULL, 0 or -1 to NULL");
  yx_error_free(NULL);
  yx_string_free(NULL);
  yx_credentials_free(NULL);
  yx_headers_free(NULL);
  yx_request_free(NULL);
  yx_prepared_request_free(NULL);
  yx_call_record_free(NULL);
  yx_callback_verifier_free(NULL);
  yx_callback_event_free(NULL);
  yx_client_free(NULL);
  yx_mock_server_free(NULL);
  CHECK(yx_credentials_app_key(NULL) == NULL);
  CHECK(yx_error_kind(NULL) == YX_OK);
  CHECK(yx_error_message(NULL) == NULL);
  CHECK(yx_error_api_code(NULL) == -1);
  CHECK(yx_error_retry_advice(NULL) == YX_RETRY_NEVER);
  CHECK(yx_error_maybe_sent(NULL) == 0);
  CHECK(yx_headers_count(NULL) == 0);
  CHECK(yx_headers_name(NULL, 0) == NULL);
  CHECK(yx_headers_value(NULL, 0) == NULL);
  CHECK(yx_prepared_request_url(NULL) == NULL);
  CHECK(yx_prepared_request_body(NULL) == NULL);
  CHECK(yx_prepared_request_headers(NULL) == NULL);
  CHECK(yx_call_record_session(NULL) == NULL);
  CHECK(yx_call_record_answered(NULL) == 0);
  CHECK(yx_call_record_billed_minutes(NULL) == 0);
  CHECK(yx_call_record_cost_fen(NULL, 12) == 0);
  CHECK(yx_callback_event_kind(NULL) == 0);
  CHECK(yx_callback_event_record(NULL) == NULL);
  CHECK(yx_mock_server_base_url(NULL) == NULL);
  end_case();
}

static void test_err_out_untouched_on_success(void) {
  yx_credentials *creds = NULL;
  yx_error *err = SENTINEL(yx_error);
  begin("api", "err_out is written only on failure");
  CHECK(yx_credentials_new(KEY, SECRET, &creds, &err) == YX_OK);
  CHECK(err == SENTINEL(yx_error));
  yx_credentials_free(creds);
  end_case();
}

static void test_error_details(void) {
  yx_error *err = NULL;
  char *session = SENTINEL(char);
  json_t *j;
  const char *body = "{\"code\":500,\"msg\":\"server internal error\"}";
  begin("api", "error objects: API code, message, retry advice, JSON");
  CHECK(yx_parse_start_response(YX_ENDPOINT_START_CALL, 200, body, strlen(body), &session, &err) ==
        YX_API);
  CHECK(session == SENTINEL(char));
  CHECK(yx_error_api_code(err) == 500);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN);
  CHECK(yx_error_maybe_sent(err) == 1);
  CHECK(contains(yx_error_message(err), "query before trying again"));
  j = error_json(err);
  CHECK(streq(sget(j, "kind"), "api"));
  CHECK(iget(j, "code") == 500);
  CHECK(streq(sget(j, "api_message"), "server internal error"));
  CHECK(streq(sget(j, "meaning"), "server internal error"));
  CHECK(streq(sget(j, "retry"), "outcome_unknown"));
  CHECK(streq(sget(j, "endpoint"), "start_call"));
  CHECK(iget(j, "http_status") == 200);
  CHECK(streq(sget(j, "raw_body"), body));
  CHECK(json_is_true(json_object_get(j, "maybe_sent")));
  /* What does not apply is null, not absent. */
  CHECK(json_is_null(json_object_get(j, "field")));
  CHECK(json_is_null(json_object_get(j, "rule")));
  CHECK(json_is_null(json_object_get(j, "index")));
  CHECK(json_is_null(json_object_get(j, "reason")));
  json_decref(j);
  yx_error_free(err);

  /* The same code for a query is safe to retry. */
  err = NULL;
  {
    yx_call_record *record = SENTINEL(yx_call_record);
    CHECK(yx_parse_query_response(200, body, strlen(body), &record, &err) == YX_API);
    CHECK(yx_error_retry_advice(err) == YX_RETRY_SAFE);
    CHECK(err_is(err, "endpoint", "query_by_session"));
    CHECK(record == SENTINEL(yx_call_record));
    yx_error_free(err);
  }
  /* A proxy's HTML page. */
  err = NULL;
  body = "<html><body>502 Bad Gateway</body></html>";
  CHECK(yx_parse_start_response(YX_ENDPOINT_START_CONF, 502, body, strlen(body), &session, &err) ==
        YX_PROTOCOL);
  CHECK(err_is(err, "reason", "html"));
  CHECK(err_int(err, "http_status") == 502);
  CHECK(yx_error_api_code(err) == -1);
  yx_error_free(err);
  /* Neither a query nor a generic API request is a start. */
  err = NULL;
  CHECK(yx_parse_start_response(YX_ENDPOINT_QUERY_BY_SESSION, 200, "{}", 2, &session, &err) ==
        YX_INVALID_ARGUMENT);
  CHECK(err_is(err, "field", "endpoint"));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_parse_start_response(YX_ENDPOINT_API, 200, "{}", 2, &session, &err) ==
        YX_INVALID_ARGUMENT);
  CHECK(err_is(err, "field", "endpoint"));
  yx_error_free(err);
  CHECK(session == SENTINEL(char));
  /* A validation error with an index. */
  err = NULL;
  {
    const char *callees[] = {"13888888888", "+8613666666666"};
    yx_request *r = SENTINEL(yx_request);
    CHECK(yx_start_conf_new("liuxuanlin", "13777777777", callees, 2, 60, &r, &err) ==
          YX_VALIDATION);
    CHECK(r == SENTINEL(yx_request));
    CHECK(err_is(err, "field", "callee"));
    CHECK(err_is(err, "rule", "country_code"));
    CHECK(err_int(err, "index") == 1);
    yx_error_free(err);
  }
  /* Body bytes with a NUL inside: refused as not JSON, and the raw body keeps going past it. */
  err = NULL;
  {
    const char nul_body[] = "{\"code\":414,\"msg\":\"a\0b\"}";
    CHECK(yx_parse_start_response(YX_ENDPOINT_START_CALL, 200, nul_body, sizeof nul_body - 1,
                                  &session, &err) == YX_PROTOCOL);
    j = error_json(err);
    CHECK(streq(sget(j, "reason"), "not_json"));
    CHECK(json_string_length(json_object_get(j, "raw_body")) == sizeof nul_body - 1);
    json_decref(j);
    yx_error_free(err);
  }
  end_case();
}

static void test_code_table(void) {
  char *json = NULL;
  json_t *table;
  size_t i;
  json_t *row;
  int saw_500 = 0;
  begin("api", "code table: meaning and retry advice");
  CHECK(streq(yx_code_meaning(200), "success"));
  CHECK(streq(yx_code_meaning(416), "rate limited"));
  CHECK(streq(yx_code_meaning(12345), "unknown code"));
  CHECK(yx_code_retry_advice(500, YX_ENDPOINT_START_CALL) == YX_RETRY_OUTCOME_UNKNOWN);
  CHECK(yx_code_retry_advice(500, YX_ENDPOINT_QUERY_BY_SESSION) == YX_RETRY_SAFE);
  CHECK(yx_code_retry_advice(416, YX_ENDPOINT_START_CONF) == YX_RETRY_BACKOFF);
  CHECK(yx_code_retry_advice(503, YX_ENDPOINT_START_CALL) == YX_RETRY_ONCE_AFTER_DELAY);
  CHECK(yx_code_retry_advice(500, 42) == YX_RETRY_NEVER);
  /* A generic API request is read as one not marked idempotent: it may have taken effect. */
  CHECK(yx_code_retry_advice(503, YX_ENDPOINT_API) == YX_RETRY_OUTCOME_UNKNOWN);
  CHECK(yx_code_table_json(&json, NULL) == YX_OK);
  table = from_lib(json);
  CHECK(json_array_size(table) >= 23);
  json_array_foreach(table, i, row) {
    CHECK(streq(sget(row, "meaning"), yx_code_meaning(iget(row, "code"))));
    /* The table agrees with the function, for a start and for a query. */
    CHECK(streq(sget(row, "retry_start"),
                advice_name(yx_code_retry_advice(iget(row, "code"), YX_ENDPOINT_START_CALL))));
    CHECK(streq(sget(row, "retry_query"), advice_name(yx_code_retry_advice(
                                              iget(row, "code"), YX_ENDPOINT_QUERY_BY_SESSION))));
    if (iget(row, "code") == 500) {
      saw_500 = 1;
      CHECK(streq(sget(row, "retry_start"), "outcome_unknown"));
      CHECK(streq(sget(row, "retry_query"), "safe"));
    }
  }
  CHECK(saw_500);
  json_decref(table);
  end_case();
}

static void test_billing(void) {
  begin("api", "billing");
  CHECK(yx_billed_minutes(0) == 0 && yx_billed_minutes(60) == 1 && yx_billed_minutes(61) == 2);
  CHECK(yx_cost_fen(61, 12) == 24);
  CHECK(yx_cost_fen(UINT64_MAX, 12) == yx_billed_minutes(UINT64_MAX) * 12);
  CHECK(yx_cost_fen(61, UINT64_MAX) == UINT64_MAX); /* saturates instead of overflowing */
  end_case();
}

static void test_nonces_and_fresh_signatures(void) {
  yx_credentials *creds = sample_credentials();
  yx_headers *a = NULL, *b = NULL;
  char *nonce = SENTINEL(char), *sum = NULL;
  yx_error *err = NULL;
  size_t i;
  begin("api", "fresh nonces; a signature with a NULL nonce and time 0 agrees with the checksum");
  for (i = 1; i <= 128; i += 127) {
    char *n = NULL;
    CHECK(yx_generate_nonce(i, &n, NULL) == YX_OK);
    CHECK(n != NULL && strlen(n) == i && strspn(n, "0123456789abcdef") == i);
    yx_string_free(n);
  }
  CHECK(yx_generate_nonce(0, &nonce, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "nonce") && err_is(err, "rule", "length"));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_generate_nonce(129, &nonce, &err) == YX_VALIDATION);
  yx_error_free(err);
  CHECK(nonce == SENTINEL(char));

  CHECK(yx_credentials_sign(creds, NULL, 0, &a, NULL) == YX_OK);
  CHECK(yx_credentials_sign(creds, NULL, 0, &b, NULL) == YX_OK);
  CHECK(yx_headers_count(a) == 4);
  CHECK(streq(yx_headers_name(a, 0), "AppKey") && streq(yx_headers_value(a, 0), KEY));
  CHECK(streq(yx_headers_name(a, 1), "Nonce") && streq(yx_headers_name(a, 2), "CurTime") &&
        streq(yx_headers_name(a, 3), "CheckSum"));
  CHECK(!streq(header_value(a, "Nonce"), header_value(b, "Nonce")));
  CHECK(strlen(header_value(a, "Nonce")) == 32);
  CHECK(strtoull(header_value(a, "CurTime"), NULL, 10) + 2 >= (unsigned long long)time(NULL));
  CHECK(yx_checksum(SECRET, header_value(a, "Nonce"), header_value(a, "CurTime"), &sum, NULL) ==
        YX_OK);
  CHECK(streq(sum, header_value(a, "CheckSum")));
  yx_string_free(sum);
  /* A fresh signature passes the server-side check against the clock (now_secs 0). */
  {
    yx_pair fresh[4];
    for (i = 0; i < 4; i++) {
      fresh[i].name = yx_headers_name(a, i);
      fresh[i].value = yx_headers_value(a, i);
    }
    CHECK(yx_server_verify_request(creds, fresh, 4, 0, 300, NULL) == YX_OK);
    /* The same headers a day later: outside the window. */
    err = NULL;
    CHECK(yx_server_verify_request(creds, fresh, 4, (uint64_t)time(NULL) + 86400, 300, &err) ==
          YX_AUTH);
    CHECK(err_is(err, "reason", "outside_window"));
    yx_error_free(err);
    err = NULL;
  }
  yx_headers_free(a);
  yx_headers_free(b);

  /* CurTime in milliseconds is the classic mistake. */
  err = NULL;
  a = SENTINEL(yx_headers);
  CHECK(yx_credentials_sign(creds, "abc", 1440570500855ULL, &a, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "CurTime") && err_is(err, "rule", "milliseconds"));
  CHECK(a == SENTINEL(yx_headers));
  yx_error_free(err);
  yx_credentials_free(creds);
  end_case();
}

static void test_prepare(void) {
  yx_credentials *creds = sample_credentials();
  yx_request *query = NULL;
  yx_prepared_request *prepared = NULL, *again = NULL;
  const yx_headers *headers;
  yx_error *err = NULL;
  json_t *j;
  begin("api", "prepare: a fresh signature per prepared request, base URL checked");
  CHECK(yx_query_new("7c4b7673-4f70-4164-82a0-decb84d77914", YX_SESSION_CONFERENCE, &query, NULL) ==
        YX_OK);
  j = request_json(query);
  CHECK(streq(sget(j, "request"), "query"));
  CHECK(streq(sget(json_object_get(j, "params"), "kind"), "conference"));
  json_decref(j);
  CHECK(yx_request_prepare(query, creds, "http://127.0.0.1:9/", NULL, 0, &prepared, NULL) == YX_OK);
  CHECK(yx_request_prepare(query, creds, "http://127.0.0.1:9/", NULL, 0, &again, NULL) == YX_OK);
  CHECK(streq(yx_prepared_request_url(prepared),
              "http://127.0.0.1:9/call/ecp/queryBySession.action"));
  CHECK(streq(yx_prepared_request_body(prepared),
              "session=7c4b7673-4f70-4164-82a0-decb84d77914&type=2"));
  headers = yx_prepared_request_headers(prepared);
  CHECK(yx_headers_count(headers) == 5);
  CHECK(streq(yx_headers_name(headers, 0), "AppKey"));
  CHECK(streq(yx_headers_name(headers, 4), "Content-Type"));
  CHECK(yx_headers_name(headers, 5) == NULL && yx_headers_value(headers, 5) == NULL);
  /* A NULL nonce and time 0: a fresh 32-character nonce each time, and the clock. */
  CHECK(strlen(header_value(headers, "Nonce")) == 32);
  CHECK(!streq(header_value(headers, "Nonce"),
               header_value(yx_prepared_request_headers(again), "Nonce")));
  CHECK(strtoull(header_value(headers, "CurTime"), NULL, 10) + 2 >= (unsigned long long)time(NULL));
  yx_prepared_request_free(again);
  yx_prepared_request_free(prepared);
  /* A NULL base URL is the production gateway. */
  CHECK(yx_request_prepare(query, creds, NULL, "abc", 1700000000, &prepared, NULL) == YX_OK);
  CHECK(streq(yx_prepared_request_url(prepared),
              "https://api.netease.im/call/ecp/queryBySession.action"));
  CHECK(streq(header_value(yx_prepared_request_headers(prepared), "Nonce"), "abc"));
  CHECK(streq(header_value(yx_prepared_request_headers(prepared), "CurTime"), "1700000000"));
  yx_prepared_request_free(prepared);
  prepared = SENTINEL(yx_prepared_request);
  CHECK(yx_request_prepare(query, creds, "ftp://x", NULL, 0, &prepared, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "baseUrl") && err_is(err, "rule", "url"));
  CHECK(prepared == SENTINEL(yx_prepared_request));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_request_prepare(query, creds, NULL, "abc", 1440570500855ULL, &prepared, &err) ==
        YX_VALIDATION);
  CHECK(err_is(err, "field", "CurTime") && err_is(err, "rule", "milliseconds"));
  CHECK(prepared == SENTINEL(yx_prepared_request));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_query_new("s", 3, &query, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "type") && err_is(err, "rule", "one_of"));
  yx_error_free(err);
  yx_request_free(query);
  yx_credentials_free(creds);
  end_case();
}

/* Signs a callback the way YunXin does: MD5 of the raw bytes, then SHA1(secret + MD5 + ms). */
static void sign_callback(const char *body, const char *cur_time_ms, char **md5, char **sum) {
  CHECK(yx_body_md5(body, strlen(body), md5, NULL) == YX_OK);
  CHECK(yx_checksum(SECRET, *md5, cur_time_ms, sum, NULL) == YX_OK);
}

static const char *CALLBACK_BODY =
    "{\"callback\":\"{\\\"durationSec\\\":61,\\\"session\\\":\\\"s-1\\\"}\",\"eventType\":\"10\"}";

static void test_callback_round_trip(void) {
  const char *body = CALLBACK_BODY;
  yx_credentials *creds = sample_credentials();
  yx_callback_verifier *verifier = NULL;
  yx_callback_event *event = SENTINEL(yx_callback_event);
  const yx_call_record *record;
  yx_error *err = NULL;
  char *md5 = NULL, *sum = NULL, now[32];
  begin("api", "callbacks: verify_and_parse against the clock on a freshly signed body");
  snprintf(now, sizeof now, "%llu", (unsigned long long)time(NULL) * 1000ULL);
  sign_callback(body, now, &md5, &sum);
  CHECK(strlen(md5) == 32); /* hex-encoded once, not twice */
  {
    yx_pair headers[] = {{"Content-Type", "application/json"},
                         {"AppKey", KEY},
                         {"CurTime", now},
                         {"MD5", md5},
                         {"CheckSum", sum}};
    CHECK(yx_callback_verifier_new(creds, NULL, &verifier, NULL) == YX_OK);
    CHECK(yx_callback_verifier_verify_and_parse(verifier, body, strlen(body), headers, 5, 0,
                                                &event, &err) == YX_OK);
    CHECK(yx_callback_event_kind(event) == YX_EVENT_CALL_END);
    /* Borrowed from the event: read it, never free it. */
    record = yx_callback_event_record(event);
    CHECK(streq(yx_call_record_session(record), "s-1"));
    CHECK(yx_call_record_answered(record) == 1);
    CHECK(yx_call_record_billed_minutes(record) == 2);
    CHECK(yx_call_record_cost_fen(record, 12) == 24);
    yx_callback_event_free(event);
    /* One byte less in the body: refused, and nothing written. */
    event = SENTINEL(yx_callback_event);
    CHECK(yx_callback_verifier_verify_and_parse(verifier, body, strlen(body) - 1, headers, 5, 0,
                                                &event, &err) == YX_CALLBACK);
    CHECK(err_is(err, "reason", "md5_mismatch"));
    CHECK(event == SENTINEL(yx_callback_event));
    yx_error_free(err);
    /* Headers missing entirely. */
    err = NULL;
    CHECK(yx_callback_verifier_verify(verifier, body, strlen(body), NULL, 0, 0, &err) ==
          YX_CALLBACK);
    CHECK(err_is(err, "reason", "missing_header") && err_is(err, "field", "MD5"));
    yx_error_free(err);
  }
  yx_string_free(md5);
  yx_string_free(sum);
  yx_callback_verifier_free(verifier);
  yx_credentials_free(creds);
  end_case();
}

/* yx_callback_sign against the headers of the vectors' genuine callbacks: every "ok" case that
 * carries the five headers in the order a delivery sends them, with CurTime in milliseconds. */
static void vectors_callback_sign(const char *dir) {
  json_t *v = load(dir, "callbacks.json");
  static const char *const names[] = {"Content-Type", "AppKey", "CurTime", "MD5", "CheckSum"};
  size_t i, n, signed_cases = 0;
  json_t *c;
  json_array_foreach(json_object_get(v, "verify"), i, c) {
    json_t *headers = json_object_get(c, "headers");
    const char *cur_time = json_string_value(json_array_get(json_array_get(headers, 2), 1));
    int canonical = json_array_size(headers) == 5 && json_is_text(json_object_get(c, "expect"), "ok") &&
                    cur_time != NULL && strlen(cur_time) == 13;
    yx_credentials *creds = NULL;
    yx_headers *got = NULL;
    yx_error *err = NULL;
    for (n = 0; canonical && n < 5; n++) {
      canonical = streq(json_string_value(json_array_get(json_array_get(headers, n), 0)), names[n]);
    }
    if (!canonical) {
      continue;
    }
    signed_cases++;
    begin("callbacks.json sign", sget(c, "name"));
    CHECK(yx_credentials_new(sget(c, "app_key"), sget(c, "secret"), &creds, NULL) == YX_OK);
    if (yx_callback_sign(creds, sget(c, "body"), json_string_length(json_object_get(c, "body")),
                         strtoull(cur_time, NULL, 10), &got, &err) == YX_OK) {
      expect_json(headers_json(got), headers);
      yx_headers_free(got);
    } else {
      fprintf(stderr, "FAIL [%s] %s\n", case_name, yx_error_message(err));
      case_ok = 0;
      yx_error_free(err);
    }
    yx_credentials_free(creds);
    end_case();
  }
  begin("callbacks.json sign", "the vectors hold genuine callbacks to sign");
  CHECK(signed_cases >= 5);
  end_case();
  json_decref(v);
}

/* yx_callback_sign: digests computed outside the library (Python's hashlib: md5 of the body,
 * sha1 of secret + md5 + CurTime), a round trip through the verifier on the clock, and refusals
 * naming the argument. */
static void test_callback_sign(void) {
  yx_credentials *creds = sample_credentials();
  yx_callback_verifier *verifier = NULL;
  yx_headers *headers = SENTINEL(yx_headers);
  yx_error *err = NULL;
  begin("api", "yx_callback_sign: the headers a delivery carries, digests as computed elsewhere");
  CHECK(yx_callback_sign(creds, CALLBACK_BODY, strlen(CALLBACK_BODY), 1700000000123ULL, &headers,
                         &err) == YX_OK);
  {
    json_t *want = json_pack("[[s,s],[s,s],[s,s],[s,s],[s,s]]", "Content-Type", "application/json",
                             "AppKey", KEY, "CurTime", "1700000000123", "MD5",
                             "f960f70b1196c98023a55251d8ff9642", "CheckSum",
                             "34ecd0080e4856471928049bd323938dadbc7130");
    expect_json_owned(headers_json(headers), want);
  }
  yx_headers_free(headers);
  /* A secret beyond ASCII is hashed as UTF-8; an empty body may be NULL (MD5 of nothing). */
  {
    yx_credentials *chinese = NULL;
    headers = NULL;
    CHECK(yx_credentials_new(KEY, "云信secret", &chinese, NULL) == YX_OK);
    CHECK(yx_callback_sign(chinese, NULL, 0, 1700000000000ULL, &headers, NULL) == YX_OK);
    CHECK(streq(header_value(headers, "MD5"), "d41d8cd98f00b204e9800998ecf8427e"));
    CHECK(streq(header_value(headers, "CheckSum"), "03fd1762feecd2f1e929fb8679c380f915f157cb"));
    yx_headers_free(headers);
    yx_credentials_free(chinese);
  }
  end_case();

  begin("api", "yx_callback_sign: 0 reads the clock, and the verifier accepts what it signs");
  headers = NULL;
  CHECK(yx_callback_sign(creds, CALLBACK_BODY, strlen(CALLBACK_BODY), 0, &headers, NULL) == YX_OK);
  CHECK(yx_callback_verifier_new(creds, NULL, &verifier, NULL) == YX_OK);
  {
    yx_pair pairs[5];
    size_t i, count = yx_headers_count(headers);
    const char *cur_time = header_value(headers, "CurTime");
    uint64_t signed_ms = cur_time != NULL ? strtoull(cur_time, NULL, 10) : 0;
    uint64_t now_ms = (uint64_t)time(NULL) * 1000ULL;
    CHECK(count == 5);
    for (i = 0; i < count && i < 5; i++) {
      pairs[i].name = yx_headers_name(headers, i);
      pairs[i].value = yx_headers_value(headers, i);
    }
    /* Milliseconds of this very minute: the clock, not a fixed time nor seconds. */
    CHECK(cur_time != NULL && strlen(cur_time) == 13);
    CHECK(signed_ms + 60000 > now_ms && signed_ms < now_ms + 60000);
    err = NULL;
    CHECK(yx_callback_verifier_verify(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs, count,
                                      0, &err) == YX_OK);
    yx_error_free(err);
    /* The signature covers the bytes: one byte less is refused. */
    err = NULL;
    CHECK(yx_callback_verifier_verify(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY) - 1, pairs,
                                      count, 0, &err) == YX_CALLBACK);
    CHECK(err_is(err, "reason", "md5_mismatch"));
    yx_error_free(err);
  }
  yx_headers_free(headers);
  yx_callback_verifier_free(verifier);
  end_case();

  begin("api", "yx_callback_sign: NULL and seconds are refused by name, nothing written");
  headers = SENTINEL(yx_headers);
  EXPECT_NULL_ARG(yx_callback_sign(NULL, "{}", 2, 0, &headers, &err), "credentials");
  EXPECT_NULL_ARG(yx_callback_sign(creds, NULL, 2, 0, &headers, &err), "body");
  EXPECT_NULL_ARG(yx_callback_sign(creds, "{}", 2, 0, NULL, &err), "headers_out");
  err = NULL;
  CHECK(yx_callback_sign(creds, "{}", 2, 1700000000ULL, &headers, &err) == YX_VALIDATION);
  check_no_secret(err, SECRET);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_NEVER);
  expect_refusal(YX_VALIDATION, err, "cur_time_ms", "seconds");
  CHECK(headers == SENTINEL(yx_headers));
  /* Without err_out the code alone comes back. */
  CHECK(yx_callback_sign(NULL, NULL, 0, 0, NULL, NULL) == YX_NULL_ARGUMENT);
  end_case();
  yx_credentials_free(creds);
}

/* Verifies CALLBACK_BODY signed at `signed_ms` as if received at `now_ms` (0: the clock). */
static yx_result verify_signed_at(const yx_callback_verifier *verifier, uint64_t signed_ms,
                                  uint64_t now_ms, yx_error **err) {
  char *md5 = NULL, *sum = NULL, cur_time[32];
  yx_result r;
  snprintf(cur_time, sizeof cur_time, "%llu", (unsigned long long)signed_ms);
  sign_callback(CALLBACK_BODY, cur_time, &md5, &sum);
  {
    yx_pair headers[] = {{"CurTime", cur_time}, {"MD5", md5}, {"CheckSum", sum}};
    r = yx_callback_verifier_verify(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), headers, 3,
                                    now_ms, err);
  }
  yx_string_free(md5);
  yx_string_free(sum);
  return r;
}

/* A verifier built with `options`, which must be accepted. */
static yx_callback_verifier *verifier_with(const yx_credentials *creds, const char *options) {
  yx_callback_verifier *verifier = NULL;
  yx_error *err = NULL;
  if (yx_callback_verifier_new(creds, options, &verifier, &err) != YX_OK) {
    fprintf(stderr, "FAIL [%s] verifier %s: %s\n", case_name, options ? options : "NULL",
            yx_error_message(err));
    case_ok = 0;
    yx_error_free(err);
  }
  return verifier;
}

/* A callback signed at `signed_ms`, verified at `now_ms`, is refused as stale. */
static void expect_stale(const yx_callback_verifier *verifier, uint64_t signed_ms,
                         uint64_t now_ms) {
  yx_error *err = NULL;
  CHECK(verify_signed_at(verifier, signed_ms, now_ms, &err) == YX_CALLBACK);
  CHECK(err_is(err, "reason", "stale"));
  yx_error_free(err);
}

/* Verifier options refused naming `field` and `rule`, and no verifier written. */
static void expect_options_refused(const yx_credentials *creds, const char *options,
                                   const char *field, const char *rule) {
  yx_callback_verifier *verifier = SENTINEL(yx_callback_verifier);
  yx_error *err = NULL;
  yx_result r = yx_callback_verifier_new(creds, options, &verifier, &err);
  CHECK(verifier == SENTINEL(yx_callback_verifier));
  expect_refusal(r, err, field, rule);
}

static void test_verifier_options(void) {
  yx_credentials *creds = sample_credentials();
  yx_callback_verifier *verifier;
  yx_error *err = NULL;
  /* The documentation's callback time, long past. */
  const uint64_t old = 1440570500855ULL;
  const uint64_t now = (uint64_t)time(NULL) * 1000ULL;
  begin("api", "callback verifier options: defaults, tolerance_ms, check_time, refusals");

  /* The defaults (NULL or {}): five minutes either way, against now_ms or the clock. */
  verifier = verifier_with(creds, NULL);
  CHECK(verify_signed_at(verifier, now, 0, NULL) == YX_OK);
  CHECK(verify_signed_at(verifier, old, old + 300000, NULL) == YX_OK);
  CHECK(verify_signed_at(verifier, old + 300000, old, NULL) == YX_OK);
  expect_stale(verifier, old, old + 300001);
  expect_stale(verifier, old, 0);
  yx_callback_verifier_free(verifier);
  verifier = verifier_with(creds, "{}");
  expect_stale(verifier, old, old + 300001);
  yx_callback_verifier_free(verifier);

  /* A tolerance of one second; 0 accepts only the same millisecond. */
  verifier = verifier_with(creds, "{\"tolerance_ms\":1000}");
  CHECK(verify_signed_at(verifier, old, old + 1000, NULL) == YX_OK);
  expect_stale(verifier, old, old + 1001);
  yx_callback_verifier_free(verifier);
  verifier = verifier_with(creds, "{\"tolerance_ms\":0}");
  CHECK(verify_signed_at(verifier, old, old, NULL) == YX_OK);
  expect_stale(verifier, old, old + 1);
  yx_callback_verifier_free(verifier);

  /* No time check at all: an old callback passes, against the clock too; a forged one does not. */
  verifier = verifier_with(creds, "{\"check_time\":false}");
  CHECK(verify_signed_at(verifier, old, 0, NULL) == YX_OK);
  CHECK(verify_signed_at(verifier, old, old + 86400000ULL * 365, NULL) == YX_OK);
  {
    yx_pair forged[] = {{"CurTime", "1"}, {"MD5", "5556767e4727e5582025ab1fff82753b"},
                        {"CheckSum", "6949a942f8477bb839a74ac5726ec4c28a762686"}};
    CHECK(yx_callback_verifier_verify(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), forged, 3, 0,
                                      &err) == YX_CALLBACK);
    CHECK(err_is(err, "reason", "md5_mismatch"));
    yx_error_free(err);
    err = NULL;
  }
  yx_callback_verifier_free(verifier);
  verifier = verifier_with(creds, "{\"check_time\":true}");
  expect_stale(verifier, old, 0);
  yx_callback_verifier_free(verifier);

  /* Refusals name what was wrong. */
  expect_options_refused(creds, "{\"tolerance\":5}", "options", "unknown_setting");
  /* A now_ms in seconds (time(NULL) for time(NULL) * 1000) is refused as such, not as "future". */
  verifier = verifier_with(creds, NULL);
  CHECK(verify_signed_at(verifier, old, old / 1000, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "now_ms") && err_is(err, "rule", "seconds"));
  yx_error_free(err);
  err = NULL;
  yx_callback_verifier_free(verifier);
  /* A tolerance that would switch the check off in all but name: an hour at most. */
  expect_options_refused(creds, "{\"tolerance_ms\":1000000000000}", "tolerance_ms", "at_most");
  expect_options_refused(creds, "{\"tolerance_ms\":18446744073709551615}", "tolerance_ms",
                         "at_most");
  verifier = verifier_with(creds, "{\"tolerance_ms\":3600000}");
  CHECK(verify_signed_at(verifier, old, old + 3600000, NULL) == YX_OK);
  expect_stale(verifier, old, old + 3600001);
  yx_callback_verifier_free(verifier);
  expect_options_refused(creds, "{\"check_time\":0}", "check_time", "one_of");
  expect_options_refused(creds, "{\"tolerance_ms\":-1}", "tolerance_ms", "not_integer");
  expect_options_refused(creds, "[]", "options", "json_object");
  expect_options_refused(creds, "{\"tolerance_ms\":", "options", "json_object");
  /* A repeated key is refused, not resolved to its last value (which switched the check off). */
  expect_options_refused(creds, "{\"check_time\":true,\"check_time\":false}", "options", "duplicate");
  /* Every option is checked, and a tolerance with the check off is a contradiction. */
  expect_options_refused(creds, "{\"check_time\":false,\"tolerance_ms\":\"abc\"}", "tolerance_ms",
                         "not_integer");
  expect_options_refused(creds, "{\"check_time\":false,\"tolerance_ms\":5}", "tolerance_ms", "conflict");
  yx_credentials_free(creds);
  end_case();
}

/* Client settings refused naming `field` and `rule`, and no client written. */
static void expect_settings_refused(const yx_credentials *creds, const char *settings,
                                    const char *field, const char *rule) {
  yx_client *client = SENTINEL(yx_client);
  yx_error *err = NULL;
  yx_result r = yx_client_new(creds, settings, &client, &err);
  CHECK(client == SENTINEL(yx_client));
  expect_refusal(r, err, field, rule);
}

static void test_client_base_url_from_env(void) {
  yx_credentials *creds = sample_credentials();
  yx_client *client = NULL;
  yx_error *err = NULL;
  begin("api", "a client with no base_url uses YUNXIN_BASE_URL, checked and named");
  unsetenv("YUNXIN_BASE_URL");
  CHECK(yx_client_base_url(NULL) == NULL);
  CHECK(yx_client_new(creds, NULL, &client, NULL) == YX_OK);
  CHECK(streq(yx_client_base_url(client), "https://api.netease.im"));
  yx_client_free(client);
  setenv("YUNXIN_BASE_URL", "http://127.0.0.1:9", 1);
  CHECK(yx_client_new(creds, NULL, &client, NULL) == YX_OK);
  CHECK(streq(yx_client_base_url(client), "http://127.0.0.1:9"));
  yx_client_free(client);
  CHECK(yx_client_new(creds, "{\"timeout_ms\":1000}", &client, NULL) == YX_OK);
  CHECK(streq(yx_client_base_url(client), "http://127.0.0.1:9"));
  yx_client_free(client);
  /* The caller's choice wins. */
  CHECK(yx_client_new(creds, "{\"base_url\":\"http://127.0.0.1:7\"}", &client, NULL) == YX_OK);
  CHECK(streq(yx_client_base_url(client), "http://127.0.0.1:7"));
  yx_client_free(client);
  setenv("YUNXIN_BASE_URL", "ftp://nope", 1);
  client = SENTINEL(yx_client);
  CHECK(yx_client_new(creds, NULL, &client, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "YUNXIN_BASE_URL") && err_is(err, "rule", "url"));
  CHECK(client == SENTINEL(yx_client));
  yx_error_free(err);
  unsetenv("YUNXIN_BASE_URL");
  yx_credentials_free(creds);
  end_case();
}

static void test_client_settings(void) {
  yx_credentials *creds = sample_credentials();
  yx_client *client = SENTINEL(yx_client);
  yx_error *err = NULL;
  size_t i;
  begin("api", "client settings: defaults, and every refusal names the setting");
  /* NULL and {} are the defaults; every setting may be given, and 0 retries or backoff is fine. */
  CHECK(yx_client_new(creds, NULL, &client, NULL) == YX_OK);
  yx_client_free(client);
  client = SENTINEL(yx_client);
  CHECK(yx_client_new(creds, "{}", &client, NULL) == YX_OK);
  yx_client_free(client);
  client = SENTINEL(yx_client);
  CHECK(yx_client_new(creds,
                      "{\"base_url\":\"http://127.0.0.1:9\",\"connect_timeout_ms\":1,"
                      "\"timeout_ms\":600000,\"max_retries\":0,\"backoff_ms\":0,"
                      "\"max_response_bytes\":1}",
                      &client, NULL) == YX_OK);
  yx_client_free(client);
  client = SENTINEL(yx_client);

  expect_settings_refused(creds, "{\"timeout\":5000}", "settings", "unknown_setting");
  expect_settings_refused(creds, "{\"timeout_ms\":0,\"timeout_ms\":1000}", "settings", "duplicate");
  expect_settings_refused(creds, "[1]", "settings", "json_object");
  expect_settings_refused(creds, "not json", "settings", "json_object");
  expect_settings_refused(creds, "{\"base_url\":\"not a url\"}", "base_url", "url");
  expect_settings_refused(creds, "{\"base_url\":\"ftp://x\"}", "base_url", "url");
  expect_settings_refused(creds, "{\"base_url\":8080}", "base_url", "url");
  expect_settings_refused(creds, "{\"max_response_bytes\":0}", "max_response_bytes",
                          "not_positive");
  expect_settings_refused(creds, "{\"max_retries\":-1}", "max_retries", "not_integer");
  expect_settings_refused(creds, "{\"timeout_ms\":\"5000\"}", "timeout_ms", "not_integer");
  /* Each wait: 0 is refused, over 600 s is refused (absurd waits used to build, then make every
     request overflow the clock arithmetic), 600 s is accepted. */
  {
    static const char *const waits[] = {"connect_timeout_ms", "timeout_ms", "backoff_ms"};
    for (i = 0; i < sizeof waits / sizeof waits[0]; i++) {
      char settings[128];
      if (strcmp(waits[i], "backoff_ms") != 0) {
        snprintf(settings, sizeof settings, "{\"%s\":0}", waits[i]);
        expect_settings_refused(creds, settings, waits[i], "not_positive");
      }
      snprintf(settings, sizeof settings, "{\"%s\":600001}", waits[i]);
      err = NULL;
      CHECK(yx_client_new(creds, settings, &client, &err) == YX_VALIDATION);
      /* The message names the key, and the bound in the key's unit. */
      CHECK(contains(yx_error_message(err), waits[i]));
      CHECK(contains(yx_error_message(err), "at most 600000 milliseconds"));
      yx_error_free(err);
      expect_settings_refused(creds, settings, waits[i], "at_most");
      snprintf(settings, sizeof settings, "{\"%s\":18446744073709551615}", waits[i]);
      expect_settings_refused(creds, settings, waits[i], "at_most");
      snprintf(settings, sizeof settings, "{\"%s\":600000}", waits[i]);
      CHECK(yx_client_new(creds, settings, &client, NULL) == YX_OK);
      yx_client_free(client);
      client = SENTINEL(yx_client);
    }
  }
  CHECK(client == SENTINEL(yx_client));
  yx_credentials_free(creds);
  end_case();
}

static void test_api_requests(void) {
  yx_credentials *creds = sample_credentials();
  yx_request *create = NULL, *r_out = SENTINEL(yx_request), *call = NULL;
  yx_prepared_request *prepared = NULL;
  yx_error *err = NULL;
  char *json = SENTINEL(char), *sum = NULL;
  const char *body;
  const yx_pair params[] = {{"accid", "abc"}, {"name", "云信 & co"}};
  begin("api", "generic API requests: built, prepared, answers parsed");
  CHECK(yx_api_request_new("/nimserver/user/create.action", params, 2, 1, &create, NULL) == YX_OK);
  expect_json_owned(request_json(create),
              json_pack("{s:s,s:{s:s,s:[[s,s],[s,s]],s:b}}", "request", "api", "params", "path",
                        "/nimserver/user/create.action", "params", "accid", "abc", "name",
                        "云信 & co", "idempotent", 1));
  /* Signed like every request; the parameters in their order, form-encoded. */
  CHECK(yx_request_prepare(create, creds, "http://127.0.0.1:9", "abc", 1700000000, &prepared,
                           NULL) == YX_OK);
  CHECK(streq(yx_prepared_request_url(prepared),
              "http://127.0.0.1:9/nimserver/user/create.action"));
  CHECK(streq(yx_prepared_request_body(prepared), "accid=abc&name=%E4%BA%91%E4%BF%A1+%26+co"));
  CHECK(yx_checksum(SECRET, "abc", "1700000000", &sum, NULL) == YX_OK);
  CHECK(streq(header_value(yx_prepared_request_headers(prepared), "CheckSum"), sum));
  yx_string_free(sum);
  yx_prepared_request_free(prepared);

  /* A 200 answer comes back whole. */
  body = "{\"code\":200,\"info\":{\"token\":\"t\",\"accid\":\"abc\"}}";
  CHECK(yx_parse_api_response(create, 200, body, strlen(body), &json, NULL) == YX_OK);
  expect_json_owned(from_lib(json),
              json_pack("{s:i,s:{s:s,s:s}}", "code", 200, "info", "token", "t", "accid", "abc"));
  /* Another code is an API error with the service's message and the code's meaning. */
  json = SENTINEL(char);
  body = "{\"code\":414,\"desc\":\"already register\"}";
  CHECK(yx_parse_api_response(create, 200, body, strlen(body), &json, &err) == YX_API);
  CHECK(yx_error_api_code(err) == 414);
  CHECK(err_is(err, "api_message", "already register"));
  CHECK(err_is(err, "endpoint", "api"));
  CHECK(err_is(err, "path", "/nimserver/user/create.action"));
  CHECK(contains(yx_error_message(err), "/nimserver/user/create.action"));
  CHECK(json == SENTINEL(char));
  yx_error_free(err);
  err = NULL;
  body = "<html>502</html>";
  CHECK(yx_parse_api_response(create, 502, body, strlen(body), &json, &err) == YX_PROTOCOL);
  CHECK(err_is(err, "reason", "html"));
  yx_error_free(err);
  err = NULL;
  body = "[200]";
  CHECK(yx_parse_api_response(create, 200, body, strlen(body), &json, &err) == YX_PROTOCOL);
  yx_error_free(err);
  CHECK(json == SENTINEL(char));

  /* An ECP request has its own functions. */
  CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, NULL) == YX_OK);
  err = NULL;
  CHECK(yx_parse_api_response(call, 200, "{\"code\":200}", 12, &json, &err) == YX_INVALID_ARGUMENT);
  CHECK(err_is(err, "field", "request"));
  yx_error_free(err);
  CHECK(json == SENTINEL(char));

  /* Paths: plain absolute paths only, and parameters need a name. */
  {
    static const char *const bad[] = {"/a?b=1", "http://x/a", "a/b", "/a/../b", "//a", "/a#f"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      EXPECT_REFUSAL(yx_api_request_new(bad[i], NULL, 0, 0, &r_out, &err), "path", "api_path");
    }
    EXPECT_REFUSAL(yx_api_request_new("", NULL, 0, 0, &r_out, &err), "path", "empty");
  }
  {
    const yx_pair unnamed[] = {{"accid", "abc"}, {"", "x"}};
    err = NULL;
    CHECK(yx_api_request_new("/a/b.action", unnamed, 2, 0, &r_out, &err) == YX_VALIDATION);
    CHECK(err_int(err, "index") == 1);
    expect_refusal(YX_VALIDATION, err, "params", "empty");
  }
  CHECK(r_out == SENTINEL(yx_request));
  yx_request_free(call);
  yx_request_free(create);
  yx_credentials_free(creds);
  end_case();
}

static void test_server_refusals(void) {
  yx_credentials *creds = sample_credentials();
  yx_request *request = NULL;
  yx_error *refusal = NULL, *err = NULL;
  char *body = SENTINEL(char);
  const char *form = "callerAcc=liuxuanlin&caller=13888888888&callee=1377&maxDur=100";
  begin("server", "refusals are answered with the service's exact bodies");
  /* A request without its signature headers. */
  CHECK(yx_server_verify_request(creds, NULL, 0, 0, 300, &refusal) == YX_AUTH);
  CHECK(yx_server_reply_refusal(refusal, &body, NULL) == YX_OK);
  CHECK(streq(body, "{\"desc\":\"bad http header\",\"code\":414}"));
  yx_string_free(body);
  yx_error_free(refusal);
  /* A bad parameter names the field as the service does. */
  refusal = NULL;
  CHECK(yx_server_parse_request("/call/ecp/startcall.action", "", form, strlen(form), &request,
                                &refusal) == YX_VALIDATION);
  CHECK(yx_server_reply_refusal(refusal, &body, NULL) == YX_OK);
  CHECK(streq(body, "{\"code\":414,\"msg\":\"bad param 'callee'\"}"));
  yx_string_free(body);
  yx_error_free(refusal);
  /* An error the service has no answer for. */
  refusal = NULL;
  body = SENTINEL(char);
  CHECK(yx_server_parse_request("/nope", "", "", 0, &request, &refusal) == YX_INVALID_ARGUMENT);
  CHECK(err_is(refusal, "field", "path"));
  CHECK(yx_server_reply_refusal(refusal, &body, &err) == YX_INVALID_ARGUMENT);
  CHECK(err_is(err, "field", "refusal"));
  CHECK(body == SENTINEL(char));
  CHECK(request == NULL);
  yx_error_free(err);
  yx_error_free(refusal);
  yx_credentials_free(creds);
  end_case();
}

/* ---- several credentials, deliveries and the duplicate guard ---- */

/* Signs CALLBACK_BODY with `creds` at `cur_time_ms` into `pairs` (5 headers borrowed from the
   returned list, which the caller frees). */
static yx_headers *signed_pairs(const yx_credentials *creds, uint64_t cur_time_ms, yx_pair *pairs) {
  yx_headers *headers = NULL;
  size_t i;
  CHECK(yx_callback_sign(creds, CALLBACK_BODY, strlen(CALLBACK_BODY), cur_time_ms, &headers, NULL) ==
        YX_OK);
  for (i = 0; i < 5; i++) {
    pairs[i].name = headers != NULL ? yx_headers_name(headers, i) : "x";
    pairs[i].value = headers != NULL ? yx_headers_value(headers, i) : "x";
  }
  return headers;
}

static yx_callback_verifier *multi_verifier(const yx_credentials *const *creds, size_t count) {
  yx_callback_verifier *verifier = NULL;
  yx_error *err = NULL;
  if (yx_callback_verifier_new_multi(creds, count, NULL, &verifier, &err) != YX_OK) {
    fprintf(stderr, "FAIL [%s] verifier: %s\n", case_name, yx_error_message(err));
    case_ok = 0;
    yx_error_free(err);
  }
  return verifier;
}

static void test_rotation(void) {
  const uint64_t at = 1700000000123ULL;
  yx_credentials *old_creds = sample_credentials(), *new_creds = NULL, *stranger = NULL;
  yx_callback_verifier *verifier;
  yx_delivery delivery, untouched;
  yx_callback_event *event = NULL;
  yx_headers *headers;
  yx_pair pairs[5];
  yx_error *err = NULL;
  CHECK(yx_credentials_new(KEY, "new-secret", &new_creds, NULL) == YX_OK);
  CHECK(yx_credentials_new(KEY, "stranger", &stranger, NULL) == YX_OK);
  {
    const yx_credentials *both[] = {old_creds, new_creds};
    verifier = multi_verifier(both, 2);
  }

  begin("deliveries", "a rotation: the old secret matches as credential 0, with its delivery");
  headers = signed_pairs(old_creds, at, pairs);
  memset(&delivery, 0xab, sizeof delivery);
  CHECK(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs,
                                             5, at + 377, &delivery, &event, &err) == YX_OK);
  CHECK(delivery.credential == 0);
  CHECK(delivery.cur_time_ms == at);
  CHECK(delivery.expires_at_ms == at + 300000);
  /* hashlib.sha1 over each of AppKey, CheckSum, CurTime and MD5 with its length (8 bytes, big
     endian) first, computed outside the library. */
  CHECK(streq(delivery.key, "117b8e8eb10fd9fcfffe7b3edb4c233860319d03"));
  CHECK(yx_callback_event_kind(event) == YX_EVENT_CALL_END);
  CHECK(streq(yx_call_record_session(yx_callback_event_record(event)), "s-1"));
  yx_callback_event_free(event);
  yx_headers_free(headers);
  end_case();

  begin("deliveries", "a rotation: the new secret matches as credential 1, another key");
  headers = signed_pairs(new_creds, at, pairs);
  /* sha1("new-secret" + MD5 + CurTime), by hashlib. */
  CHECK(streq(header_value(headers, "CheckSum"), "fd96d97932778c67c90067b813a4e8cdf3d9bdbb"));
  CHECK(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs,
                                             5, at, &delivery, NULL, NULL) == YX_OK);
  CHECK(delivery.credential == 1);
  CHECK(streq(delivery.key, "4da4f8446bb30dfee344fbcc758fff73a297a799"));
  yx_headers_free(headers);
  end_case();

  begin("deliveries", "a secret of neither is refused, nothing written");
  headers = signed_pairs(stranger, at, pairs);
  memset(&delivery, 0xab, sizeof delivery);
  memcpy(&untouched, &delivery, sizeof delivery);
  event = SENTINEL(yx_callback_event);
  err = NULL;
  CHECK(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs,
                                             5, at, &delivery, &event, &err) == YX_CALLBACK);
  CHECK(err_is(err, "reason", "checksum_mismatch"));
  check_no_secret(err, "new-secret");
  yx_error_free(err);
  CHECK(memcmp(&delivery, &untouched, sizeof delivery) == 0);
  CHECK(event == SENTINEL(yx_callback_event));
  /* Stale, at the edge of the tolerance plus one. */
  yx_headers_free(headers);
  headers = signed_pairs(old_creds, at, pairs);
  err = NULL;
  CHECK(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs,
                                             5, at + 300001, &delivery, NULL, &err) == YX_CALLBACK);
  CHECK(err_is(err, "reason", "stale"));
  yx_error_free(err);
  CHECK(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs,
                                             5, at + 300000, &delivery, NULL, NULL) == YX_OK);
  yx_headers_free(headers);
  end_case();
  yx_callback_verifier_free(verifier);

  begin("deliveries", "several apps: each matches by its AppKey; a relabelled one is refused");
  {
    yx_credentials *a = NULL, *b = NULL;
    const yx_credentials *apps[2];
    CHECK(yx_credentials_new("app-a", "secret-a", &a, NULL) == YX_OK);
    CHECK(yx_credentials_new("app-b", "secret-b", &b, NULL) == YX_OK);
    apps[0] = a;
    apps[1] = b;
    verifier = multi_verifier(apps, 2);
    headers = signed_pairs(b, at, pairs);
    CHECK(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs,
                                               5, at, &delivery, NULL, NULL) == YX_OK);
    CHECK(delivery.credential == 1);
    CHECK(streq(pairs[1].name, "AppKey"));
    pairs[1].value = "app-a";
    err = NULL;
    CHECK(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs,
                                               5, at, &delivery, NULL, &err) == YX_CALLBACK);
    CHECK(err_is(err, "reason", "app_key_mismatch"));
    yx_error_free(err);
    yx_headers_free(headers);
    yx_callback_verifier_free(verifier);
    yx_credentials_free(a);
    yx_credentials_free(b);
  }
  end_case();

  begin("deliveries", "without a time check a delivery never expires; unparsed unless asked");
  {
    const yx_credentials *one[] = {old_creds};
    const char *not_json = "not json";
    yx_headers *signed_headers = NULL;
    yx_pair raw[5];
    size_t i;
    verifier = NULL;
    CHECK(yx_callback_verifier_new_multi(one, 1, "{\"check_time\":false}", &verifier, NULL) == YX_OK);
    CHECK(yx_callback_sign(old_creds, not_json, strlen(not_json), at, &signed_headers, NULL) == YX_OK);
    for (i = 0; i < 5; i++) {
      raw[i].name = yx_headers_name(signed_headers, i);
      raw[i].value = yx_headers_value(signed_headers, i);
    }
    CHECK(yx_callback_verifier_verify_delivery(verifier, not_json, strlen(not_json), raw, 5,
                                               1440570500855ULL, &delivery, NULL, NULL) == YX_OK);
    CHECK(delivery.expires_at_ms == UINT64_MAX);
    err = NULL;
    event = SENTINEL(yx_callback_event);
    CHECK(yx_callback_verifier_verify_delivery(verifier, not_json, strlen(not_json), raw, 5, 0,
                                               &delivery, &event, &err) == YX_CALLBACK);
    CHECK(err_is(err, "reason", "malformed"));
    CHECK(event == SENTINEL(yx_callback_event));
    yx_error_free(err);
    yx_headers_free(signed_headers);
    yx_callback_verifier_free(verifier);
  }
  end_case();

  begin("deliveries", "1 to 8 credentials, each entry checked, named by field and rule");
  {
    const yx_credentials *nine[20];
    const yx_credentials *with_null[] = {old_creds, NULL};
    size_t i;
    char *json = NULL;
    for (i = 0; i < 20; i++) {
      nine[i] = old_creds;
    }
    verifier = SENTINEL(yx_callback_verifier);
    EXPECT_REFUSAL(yx_callback_verifier_new_multi(nine, 0, NULL, &verifier, &err), "credentials",
                   "count");
    err = NULL;
    CHECK(yx_callback_verifier_new_multi(nine, 9, NULL, &verifier, &err) == YX_VALIDATION);
    CHECK(contains(yx_error_message(err), "must hold 1 to 8 entries, got 9"));
    yx_error_free(err);
    err = NULL;
    CHECK(yx_callback_verifier_new_multi(nine, 20, NULL, &verifier, &err) == YX_VALIDATION);
    CHECK(contains(yx_error_message(err), "got 20"));
    CHECK(yx_error_to_json(err, &json, NULL) == YX_OK);
    {
      json_t *j = from_lib(json);
      CHECK(streq(sget(j, "field"), "credentials") && streq(sget(j, "rule"), "count"));
      json_decref(j);
    }
    yx_error_free(err);
    EXPECT_NULL_ARG(yx_callback_verifier_new_multi(NULL, 2, NULL, &verifier, &err), "credentials");
    err = NULL;
    CHECK(yx_callback_verifier_new_multi(with_null, 2, NULL, &verifier, &err) == YX_NULL_ARGUMENT);
    CHECK(err_is(err, "field", "credentials"));
    CHECK(err_int(err, "index") == 1);
    yx_error_free(err);
    EXPECT_NULL_ARG(yx_callback_verifier_new_multi(nine, 2, NULL, NULL, &err), "verifier_out");
    EXPECT_REFUSAL(yx_callback_verifier_new_multi(nine, 2, "{\"tolerance_ms\":3600001}", &verifier,
                                                  &err),
                   "tolerance_ms", "at_most");
    CHECK(verifier == SENTINEL(yx_callback_verifier));
    verifier = multi_verifier(nine, 8);
    headers = signed_pairs(old_creds, at, pairs);
    EXPECT_NULL_ARG(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY,
                                                         strlen(CALLBACK_BODY), pairs, 5, at, NULL,
                                                         NULL, &err),
                    "delivery_out");
    EXPECT_NULL_ARG(yx_callback_verifier_verify_delivery(NULL, CALLBACK_BODY, strlen(CALLBACK_BODY),
                                                         pairs, 5, at, &delivery, NULL, &err),
                    "verifier");
    /* The first of equal credentials wins. */
    CHECK(yx_callback_verifier_verify_delivery(verifier, CALLBACK_BODY, strlen(CALLBACK_BODY), pairs,
                                               5, at, &delivery, NULL, NULL) == YX_OK);
    CHECK(delivery.credential == 0);
    yx_headers_free(headers);
    yx_callback_verifier_free(verifier);
  }
  end_case();
  yx_credentials_free(old_creds);
  yx_credentials_free(new_creds);
  yx_credentials_free(stranger);
}

/* A key of 40 hex characters, distinct per n. */
static void key_of(unsigned n, char key[41]) {
  snprintf(key, 41, "%040x", n);
}

static yx_delivery_guard *new_guard(const char *options) {
  yx_delivery_guard *guard = NULL;
  yx_error *err = NULL;
  if (yx_delivery_guard_new(options, &guard, &err) != YX_OK) {
    fprintf(stderr, "FAIL [%s] guard: %s\n", case_name, yx_error_message(err));
    case_ok = 0;
    yx_error_free(err);
  }
  return guard;
}

static int32_t claim_of(const yx_delivery_guard *guard, const char *key, uint64_t expires,
                        uint64_t now) {
  int32_t claim = -1;
  yx_error *err = NULL;
  if (yx_delivery_guard_claim(guard, key, expires, now, &claim, &err) != YX_OK) {
    fprintf(stderr, "FAIL [%s] claim: %s\n", case_name, yx_error_message(err));
    case_ok = 0;
    yx_error_free(err);
  }
  return claim;
}

struct claim_race {
  const yx_delivery_guard *guard;
  const char *key;
  pthread_barrier_t *start;
  int32_t claim;
};

static void *race_claim(void *arg) {
  struct claim_race *race = (struct claim_race *)arg;
  pthread_barrier_wait(race->start);
  race->claim = -1;
  yx_delivery_guard_claim(race->guard, race->key, 1700000300000ULL, 1700000000000ULL, &race->claim,
                          NULL);
  return NULL;
}

static void test_delivery_guard(void) {
  const uint64_t now = 1700000000000ULL, expires = now + 300000;
  yx_delivery_guard *guard;
  yx_error *err = NULL;
  char a[41], b[41];
  key_of(1, a);
  key_of(2, b);

  begin("deliveries", "a delivery is first, then in progress, then a duplicate once completed");
  guard = new_guard(NULL);
  CHECK(claim_of(guard, a, expires, now) == YX_CLAIM_FIRST);
  CHECK(claim_of(guard, a, expires, now) == YX_CLAIM_IN_PROGRESS);
  CHECK(yx_delivery_guard_complete(guard, a, expires, NULL) == YX_OK);
  CHECK(claim_of(guard, a, expires, now + 1) == YX_CLAIM_DUPLICATE);
  CHECK(yx_delivery_guard_held(guard) == 1 && yx_delivery_guard_evicted(guard) == 0);
  /* A released delivery (its handler failed) is handled again. */
  CHECK(claim_of(guard, b, expires, now) == YX_CLAIM_FIRST);
  CHECK(yx_delivery_guard_release(guard, b, NULL) == YX_OK);
  CHECK(yx_delivery_guard_held(guard) == 1);
  CHECK(claim_of(guard, b, expires, now) == YX_CLAIM_FIRST);
  /* Upper-case hex names the same key. */
  {
    char upper[41];
    key_of(0xabc, upper);
    CHECK(claim_of(guard, upper, expires, now) == YX_CLAIM_FIRST);
    upper[37] = 'A';
    upper[38] = 'B';
    upper[39] = 'C';
    CHECK(claim_of(guard, upper, expires, now) == YX_CLAIM_IN_PROGRESS);
  }
  /* Past their window (to the end of its second) every entry is forgotten. */
  CHECK(claim_of(guard, a, expires + 1000, expires + 1000) == YX_CLAIM_FIRST);
  CHECK(yx_delivery_guard_held(guard) == 1);
  yx_delivery_guard_free(guard);
  end_case();

  begin("deliveries", "the capacity holds, and what it drops is counted");
  guard = new_guard("{\"capacity\":3}");
  {
    unsigned n;
    char key[41];
    for (n = 0; n < 10; n++) {
      key_of(100 + n, key);
      CHECK(claim_of(guard, key, expires + n, now) == YX_CLAIM_FIRST);
      CHECK(yx_delivery_guard_held(guard) <= 3);
    }
    CHECK(yx_delivery_guard_held(guard) == 3 && yx_delivery_guard_evicted(guard) == 7);
  }
  yx_delivery_guard_free(guard);
  end_case();

  begin("deliveries", "guard options, keys and NULLs refused by name");
  {
    yx_delivery_guard *out = SENTINEL(yx_delivery_guard);
    int32_t claim = 77;
    EXPECT_REFUSAL(yx_delivery_guard_new("{\"capacity\":0}", &out, &err), "capacity", "not_positive");
    EXPECT_REFUSAL(yx_delivery_guard_new("{\"capacity\":-1}", &out, &err), "capacity", "not_integer");
    EXPECT_REFUSAL(yx_delivery_guard_new("{\"size\":1}", &out, &err), "options", "unknown_setting");
    EXPECT_NULL_ARG(yx_delivery_guard_new(NULL, NULL, &err), "guard_out");
    CHECK(out == SENTINEL(yx_delivery_guard));
    guard = new_guard("{}");
    EXPECT_NULL_ARG(yx_delivery_guard_claim(NULL, a, expires, now, &claim, &err), "guard");
    EXPECT_NULL_ARG(yx_delivery_guard_claim(guard, NULL, expires, now, &claim, &err), "key");
    EXPECT_NULL_ARG(yx_delivery_guard_claim(guard, a, expires, now, NULL, &err), "claim_out");
    EXPECT_NULL_ARG(yx_delivery_guard_complete(guard, NULL, expires, &err), "key");
    EXPECT_NULL_ARG(yx_delivery_guard_release(NULL, a, &err), "guard");
    err = NULL;
    CHECK(yx_delivery_guard_claim(guard, "not a key", expires, now, &claim, &err) ==
          YX_INVALID_ARGUMENT);
    CHECK(err_is(err, "field", "key"));
    yx_error_free(err);
    err = NULL;
    CHECK(yx_delivery_guard_claim(guard, a, expires, 1700000000ULL, &claim, &err) == YX_VALIDATION);
    CHECK(err_is(err, "field", "now_ms"));
    yx_error_free(err);
    CHECK(claim == 77);
    /* 0 reads the clock: a delivery expiring in the past is forgotten at once, so claimed again. */
    CHECK(claim_of(guard, a, now, 0) == YX_CLAIM_FIRST);
    CHECK(claim_of(guard, a, now, 0) == YX_CLAIM_FIRST);
    CHECK(yx_delivery_guard_held(NULL) == 0 && yx_delivery_guard_evicted(NULL) == 0);
    yx_delivery_guard_free(NULL);
    yx_delivery_guard_free(guard);
  }
  end_case();

  begin("deliveries", "two threads claiming one delivery at once: exactly one first");
  guard = new_guard(NULL);
  {
    int round, firsts_ok = 1;
    char key[41];
    for (round = 0; round < 50; round++) {
      pthread_barrier_t start;
      struct claim_race races[2];
      pthread_t threads[2];
      int i, firsts = 0, in_progress = 0;
      key_of(1000 + (unsigned)round, key);
      pthread_barrier_init(&start, NULL, 2);
      for (i = 0; i < 2; i++) {
        races[i].guard = guard;
        races[i].key = key;
        races[i].start = &start;
        CHECK(pthread_create(&threads[i], NULL, race_claim, &races[i]) == 0);
      }
      for (i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        firsts += races[i].claim == YX_CLAIM_FIRST;
        in_progress += races[i].claim == YX_CLAIM_IN_PROGRESS;
      }
      pthread_barrier_destroy(&start);
      if (firsts != 1 || in_progress != 1) {
        firsts_ok = 0;
      }
    }
    CHECK(firsts_ok);
    CHECK(yx_delivery_guard_held(guard) == 50);
  }
  yx_delivery_guard_free(guard);
  end_case();
}

/* The core's answer for `reason`: its status and body. */
static void expect_answer(const char *reason, uint16_t status, const char *body) {
  uint16_t got_status = 0;
  char *got_body = NULL;
  CHECK(yx_callback_answer(reason, &got_status, &got_body, NULL) == YX_OK);
  if (got_status != status || !streq(got_body, body)) {
    fprintf(stderr, "FAIL [%s] %s: %u %s\n", case_name, reason, got_status,
            got_body ? got_body : "NULL");
    case_ok = 0;
  }
  yx_string_free(got_body);
}

static void test_callback_answers(void) {
  yx_error *err = NULL;
  begin("deliveries", "yx_callback_answer: the status and body of every reason");
  expect_answer("malformed", 400, "{\"error\":\"callback refused\",\"reason\":\"malformed\"}");
  expect_answer("checksum_mismatch", 403,
                "{\"error\":\"callback refused\",\"reason\":\"checksum_mismatch\"}");
  expect_answer("stale", 403, "{\"error\":\"callback refused\",\"reason\":\"stale\"}");
  expect_answer("too_large", 413, "{\"error\":\"callback refused\",\"reason\":\"too_large\"}");
  expect_answer("in_progress", 409, "{\"error\":\"callback refused\",\"reason\":\"in_progress\"}");
  expect_answer("store_unavailable", 503,
                "{\"error\":\"callback refused\",\"reason\":\"store_unavailable\"}");
  expect_answer("duplicate", 200, "{\"result\":\"duplicate\"}");
  /* A reason this version does not know is never echoed. */
  expect_answer("<script>", 403, "{\"error\":\"callback refused\",\"reason\":\"refused\"}");
  {
    uint16_t status = 7;
    char *body = SENTINEL(char);
    EXPECT_NULL_ARG(yx_callback_answer(NULL, &status, &body, &err), "reason");
    EXPECT_NULL_ARG(yx_callback_answer("stale", NULL, &body, &err), "status_out");
    EXPECT_NULL_ARG(yx_callback_answer("stale", &status, NULL, &err), "body_out");
    CHECK(status == 7 && body == SENTINEL(char));
  }
  CHECK(yx_callback_default_max_body_bytes() == 1048576ULL);
  end_case();
}

/* ---- threads: one handle shared by many threads ---- */

struct shared_handles {
  yx_credentials *creds;
  yx_request *request;
  int failures;
  pthread_mutex_t lock;
};

static void *sign_many(void *arg) {
  struct shared_handles *shared = (struct shared_handles *)arg;
  int i, bad = 0;
  for (i = 0; i < 50; i++) {
    yx_prepared_request *p = NULL;
    const char *sum;
    if (yx_request_prepare(shared->request, shared->creds, NULL, NULL, 0, &p, NULL) != YX_OK) {
      bad++;
      continue;
    }
    sum = yx_headers_value(yx_prepared_request_headers(p), 3);
    if (sum == NULL || strlen(sum) != 40) {
      bad++;
    }
    yx_prepared_request_free(p);
  }
  pthread_mutex_lock(&shared->lock);
  shared->failures += bad;
  pthread_mutex_unlock(&shared->lock);
  return NULL;
}

static void test_threads(void) {
  struct shared_handles shared;
  pthread_t threads[8];
  int i;
  begin("api", "credentials and requests shared by 8 threads");
  shared.creds = sample_credentials();
  shared.request = NULL;
  shared.failures = 0;
  pthread_mutex_init(&shared.lock, NULL);
  CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &shared.request, NULL) ==
        YX_OK);
  for (i = 0; i < 8; i++) {
    CHECK(pthread_create(&threads[i], NULL, sign_many, &shared) == 0);
  }
  for (i = 0; i < 8; i++) {
    pthread_join(threads[i], NULL);
  }
  CHECK(shared.failures == 0);
  pthread_mutex_destroy(&shared.lock);
  yx_request_free(shared.request);
  yx_credentials_free(shared.creds);
  end_case();
}

/* ---- the blocking client against the in-process mock ---- */

/* A control request the mock must accept: its JSON answer (JSON null after a failure). */
static json_t *mock_control(const yx_mock_server *mock, const char *method, const char *path,
                            const char *form) {
  char *text = NULL;
  yx_error *err = NULL;
  if (yx_mock_server_control(mock, method, path, form, &text, &err) != YX_OK) {
    fprintf(stderr, "FAIL [%s] %s %s: %s\n", case_name, method, path, yx_error_message(err));
    case_ok = 0;
    yx_error_free(err);
    return json_null();
  }
  return from_lib(text);
}

static void mock_post(const yx_mock_server *mock, const char *path, const char *form) {
  json_t *answer = mock_control(mock, "POST", path, form);
  CHECK(json_is_true(json_object_get(answer, "ok")));
  json_decref(answer);
}

/* One count of GET /_mock/stats. */
static json_int_t mock_stat(const yx_mock_server *mock, const char *name) {
  json_t *stats = mock_control(mock, "GET", "/_mock/stats", NULL);
  json_int_t value = json_is_integer(json_object_get(stats, name)) ? iget(stats, name) : -1;
  json_decref(stats);
  return value;
}

/* The next `times` requests meet the fault `kind`. */
static void mock_fault(const yx_mock_server *mock, const char *kind, int times) {
  char form[128];
  snprintf(form, sizeof form, "kind=%s&times=%d", kind, times);
  mock_post(mock, "/_mock/fault", form);
}

/* Call-end callbacks go to the mock's own inbox. */
static void mock_callbacks_to_inbox(const yx_mock_server *mock) {
  char form[256];
  snprintf(form, sizeof form, "url=%s/_mock/inbox", yx_mock_server_base_url(mock));
  mock_post(mock, "/_mock/callback_url", form);
}

static yx_client *client_for(const yx_credentials *creds, const char *base_url, unsigned retries) {
  char settings[512];
  yx_client *client = NULL;
  yx_error *err = NULL;
  snprintf(settings, sizeof settings,
           "{\"base_url\":\"%s\",\"connect_timeout_ms\":5000,\"timeout_ms\":20000,"
           "\"max_retries\":%u,\"backoff_ms\":10}",
           base_url, retries);
  if (yx_client_new(creds, settings, &client, &err) != YX_OK) {
    fprintf(stderr, "FAIL [%s] client: %s\n", case_name, yx_error_message(err));
    case_ok = 0;
    yx_error_free(err);
  }
  return client;
}

/* Verifies one POST of the mock's inbox on its body and headers as received: the session of the
 * call it reports ended (a copy, to free()), or NULL after reporting why. */
static char *verified_session(const yx_callback_verifier *verifier, const json_t *received) {
  size_t count = 0;
  yx_pair *headers = pairs_of(json_object_get(received, "headers"), &count);
  const json_t *body = json_object_get(received, "body");
  yx_callback_event *event = NULL;
  yx_error *err = NULL;
  char *session = NULL;
  if (yx_callback_verifier_verify_and_parse(verifier, json_string_value(body),
                                            json_string_length(body), headers, count, 0, &event,
                                            &err) != YX_OK) {
    fprintf(stderr, "FAIL [%s] callback: %s\n", case_name, yx_error_message(err));
    case_ok = 0;
    yx_error_free(err);
  } else if (yx_call_record_session(yx_callback_event_record(event)) != NULL) {
    const char *s = yx_call_record_session(yx_callback_event_record(event));
    session = (char *)malloc(strlen(s) + 1);
    memcpy(session, s, strlen(s) + 1);
  }
  yx_callback_event_free(event);
  free(headers);
  return session;
}

/* A query for `session` through `client`: the record's JSON (JSON null after a failure). */
static json_t *queried(const yx_client *client, const char *session, int32_t kind) {
  yx_request *query = NULL;
  yx_call_record *record = NULL;
  yx_error *err = NULL;
  json_t *j = json_null();
  CHECK(yx_query_new(session, kind, &query, NULL) == YX_OK);
  if (yx_client_query(client, query, &record, &err) == YX_OK) {
    json_decref(j);
    j = record_json(record);
  } else {
    fprintf(stderr, "FAIL [%s] query: %s\n", case_name, yx_error_message(err));
    case_ok = 0;
    yx_error_free(err);
  }
  yx_call_record_free(record);
  yx_request_free(query);
  return j;
}

static void test_mock_round_trip(void) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL, *conf = NULL;
  yx_callback_verifier *verifier = NULL;
  yx_error *err = NULL;
  char *session = NULL, *conf_session = NULL, *json = NULL;
  const char *callees[] = {"13888888888", "13666666666"};
  json_t *j, *inbox, *received;
  size_t i;

  begin("mock", "start a call and a conference, query both, verify both callbacks");
  CHECK(yx_mock_server_start(&mock, &err) == YX_OK);
  if (mock == NULL) {
    fprintf(stderr, "mock: %s\n", yx_error_message(err));
    yx_error_free(err);
    end_case();
    return;
  }
  CHECK(strncmp(yx_mock_server_base_url(mock), "http://127.0.0.1:", 17) == 0);
  CHECK(yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, NULL) ==
        YX_OK);
  client = client_for(creds, yx_mock_server_base_url(mock), 2);
  mock_callbacks_to_inbox(mock);
  mock_post(mock, "/_mock/outcome", "number=13777777777&duration_sec=61");
  mock_post(mock, "/_mock/outcome", "number=13888888888&hang_cause=USER_BUSY");

  CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, NULL) == YX_OK);
  if (yx_client_start(client, call, &session, &err) != YX_OK) {
    fprintf(stderr, "start call: %s\n", yx_error_message(err));
    yx_error_free(err);
    err = NULL;
  }
  CHECK(session != NULL && strlen(session) == 36);
  CHECK(yx_start_conf_new("liuxuanlin", "13777777777", callees, 2, 600, &conf, NULL) == YX_OK);
  CHECK(yx_client_start(client, conf, &conf_session, NULL) == YX_OK);
  CHECK(mock_stat(mock, "start_count") == 2);
  CHECK(mock_stat(mock, "sessions") == 2);

  if (session != NULL) {
    j = queried(client, session, YX_SESSION_CALL);
    CHECK(streq(sget(j, "session"), session));
    CHECK(streq(sget(j, "init_account"), "liuxuanlin"));
    CHECK(streq(sget(j, "caller"), "13888888888"));
    CHECK(iget(j, "duration_sec") == 61);
    CHECK(json_is_true(json_object_get(j, "answered")));
    CHECK(iget(j, "billed_minutes") == 2);
    CHECK(json_array_size(json_object_get(j, "legs")) == 2);
    CHECK(streq(sget(json_array_get(json_object_get(j, "legs"), 0), "hang_cause"),
                "NORMAL_CLEARING"));
    json_decref(j);
  }
  if (conf_session != NULL) {
    j = queried(client, conf_session, YX_SESSION_CONFERENCE);
    CHECK(json_is_true(json_object_get(j, "is_conference")));
    CHECK(json_array_size(json_object_get(j, "members")) == 3);
    CHECK(json_is_false(json_object_get(j, "answered")));
    json_decref(j);
  }
  /* A start is not a query, a query not a start, and neither a generic request. */
  {
    char *s = SENTINEL(char);
    yx_request *query = NULL;
    yx_call_record *record = SENTINEL(yx_call_record);
    CHECK(yx_client_query(client, call, &record, &err) == YX_INVALID_ARGUMENT);
    CHECK(err_is(err, "field", "request"));
    yx_error_free(err);
    err = NULL;
    CHECK(yx_query_new("x", YX_SESSION_CALL, &query, NULL) == YX_OK);
    CHECK(yx_client_start(client, query, &s, &err) == YX_INVALID_ARGUMENT);
    yx_error_free(err);
    err = NULL;
    CHECK(yx_client_request(client, query, &s, &err) == YX_INVALID_ARGUMENT);
    CHECK(s == SENTINEL(char));
    yx_error_free(err);
    err = NULL;
    /* An unknown session: the service's 404. */
    CHECK(yx_client_query(client, query, &record, &err) == YX_API);
    CHECK(yx_error_api_code(err) == 404);
    CHECK(record == SENTINEL(yx_call_record));
    yx_error_free(err);
    err = NULL;
    yx_request_free(query);
  }

  /* Both callbacks arrive at the inbox, signed: verify them on the bytes and headers received. */
  CHECK(yx_mock_server_wait_for_inbox(mock, 2, 10000, &json, NULL) == YX_OK);
  inbox = from_lib(json);
  CHECK(json_array_size(inbox) == 2);
  CHECK(yx_callback_verifier_new(creds, NULL, &verifier, NULL) == YX_OK);
  json_array_foreach(inbox, i, received) {
    char *ended = verified_session(verifier, received);
    CHECK(streq(ended, session) || streq(ended, conf_session));
    CHECK(iget(received, "received_at_ms") > 0);
    free(ended);
  }
  json_decref(inbox);
  /* Asking for more than arrived waits, then gives what there is. */
  json = SENTINEL(char);
  CHECK(yx_mock_server_wait_for_inbox(mock, 3, 50, &json, NULL) == YX_OK);
  CHECK(json != SENTINEL(char));
  inbox = from_lib(json != SENTINEL(char) ? json : NULL);
  CHECK(json_array_size(inbox) == 2);
  json_decref(inbox);
  {
    json_t *stats = mock_control(mock, "GET", "/_mock/sessions", NULL);
    CHECK(json_array_size(stats) == 2);
    json_decref(stats);
    /* The mock records a delivery once the receiver has answered, which can trail the inbox:
       poll, bounded (up to 5 s). */
    {
      int tries;
      size_t delivered = 0;
      for (tries = 0; tries < 500; tries++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        stats = mock_control(mock, "GET", "/_mock/callbacks", NULL);
        delivered = json_array_size(stats);
        json_decref(stats);
        if (delivered >= 2) break;
        nanosleep(&pause, NULL);
      }
      CHECK(delivered == 2);
      CHECK(mock_stat(mock, "callbacks") == 2);
    }
    stats = mock_control(mock, "GET", "/_mock/requests", NULL);
    CHECK(json_array_size(stats) >= 5);
    json_decref(stats);
    stats = mock_control(mock, "GET", "/_mock/inbox", NULL);
    CHECK(json_array_size(stats) == 2);
    json_decref(stats);
  }
  yx_string_free(session);
  yx_string_free(conf_session);
  yx_callback_verifier_free(verifier);
  yx_request_free(call);
  yx_request_free(conf);
  yx_client_free(client);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  end_case();
}

/* A control request the mock must refuse with YX_INVALID_ARGUMENT, writing nothing. */
static void expect_control_refused(const yx_mock_server *mock, const char *method, const char *path,
                                   const char *form, const char *field) {
  char *json = SENTINEL(char);
  yx_error *err = NULL;
  CHECK(yx_mock_server_control(mock, method, path, form, &json, &err) == YX_INVALID_ARGUMENT);
  CHECK(json == SENTINEL(char));
  CHECK(err_is(err, "field", field));
  yx_error_free(err);
}

static void test_mock_control(void) {
  yx_mock_server *mock = NULL;
  json_t *j;
  begin("mock", "control API: routes, refusals, paths outside /_mock");
  CHECK(yx_mock_server_start(&mock, NULL) == YX_OK);
  if (mock == NULL) {
    end_case();
    return;
  }
  j = mock_control(mock, "GET", "/_mock", NULL);
  CHECK(json_array_size(json_object_get(j, "routes")) >= 14);
  CHECK(json_array_size(json_object_get(j, "faults")) == 11);
  json_decref(j);
  j = mock_control(mock, "GET", "/_mock/stats", NULL);
  CHECK(iget(j, "requests") == 0 && iget(j, "faults_pending") == 0);
  json_decref(j);
  mock_fault(mock, "server_error", 2);
  CHECK(mock_stat(mock, "faults_pending") >= 1);
  mock_post(mock, "/_mock/faults/clear", NULL);
  CHECK(mock_stat(mock, "faults_pending") == 0);
  mock_post(mock, "/_mock/latency", "ms=0");
  /* Refused by the mock (its HTTP 4xx): an unknown route or fault, a bad number, a wrong method. */
  expect_control_refused(mock, "GET", "/_mock/nope", NULL, NULL);
  expect_control_refused(mock, "POST", "/_mock/fault", "kind=gremlins&times=1", NULL);
  expect_control_refused(mock, "POST", "/_mock/fault", "kind=server_error&times=x", NULL);
  expect_control_refused(mock, "POST", "/_mock/outcome", "number=13777777777", NULL);
  expect_control_refused(mock, "POST", "/_mock/callback_url", "url=ftp://x", NULL);
  expect_control_refused(mock, "POST", "/_mock/stats", NULL, NULL);
  /* Refused before anything is sent: this steers the mock, it is no HTTP client. */
  expect_control_refused(mock, "GET", "/call/ecp/startcall.action", NULL, "path");
  expect_control_refused(mock, "GET", "/_mockery", NULL, "path");
  expect_control_refused(mock, "GET", "/_mock/../call/ecp/queryBySession.action", NULL, "path");
  expect_control_refused(mock, "GET", "/_mock/stats#x", NULL, "path");
  expect_control_refused(mock, "GET", "/_mock/stats HTTP/1.1\r\nX: y", NULL, "path");
  expect_control_refused(mock, "PUT", "/_mock/stats", NULL, "method");
  CHECK(mock_stat(mock, "faults_pending") == 0);
  yx_mock_server_free(mock);
  end_case();
}

static void test_mock_faults(void) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL, *wrong = NULL;
  yx_client *client = NULL, *no_retry = NULL, *intruder = NULL;
  yx_request *call = NULL;
  yx_error *err = NULL;
  char *session = SENTINEL(char);

  begin("mock", "faults: a start is never resent once it may have arrived");
  CHECK(yx_mock_server_start(&mock, NULL) == YX_OK);
  if (mock == NULL) {
    end_case();
    return;
  }
  CHECK(yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, NULL) ==
        YX_OK);
  client = client_for(creds, yx_mock_server_base_url(mock), 2);
  no_retry = client_for(creds, yx_mock_server_base_url(mock), 0);
  CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, NULL) == YX_OK);

  /* 500: the call may exist; one attempt only. */
  mock_fault(mock, "server_error", 1);
  CHECK(yx_client_start(client, call, &session, &err) == YX_API);
  CHECK(yx_error_api_code(err) == 500);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN);
  CHECK(session == SENTINEL(char));
  CHECK(mock_stat(mock, "start_count") == 1);
  yx_error_free(err);
  err = NULL;

  /* A reset after the request was handled: transport error, maybe sent, not resent. */
  mock_fault(mock, "reset_before_response", 1);
  CHECK(yx_client_start(client, call, &session, &err) == YX_TRANSPORT);
  CHECK(yx_error_maybe_sent(err) == 1);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN);
  CHECK(mock_stat(mock, "start_count") == 2);
  yx_error_free(err);
  err = NULL;

  /* 416: rejected before anything happened, so the client retries and succeeds. */
  mock_fault(mock, "rate_limited", 1);
  CHECK(yx_client_start(client, call, &session, &err) == YX_OK);
  CHECK(session != SENTINEL(char));
  if (session != SENTINEL(char)) {
    yx_string_free(session);
  }
  session = SENTINEL(char);
  CHECK(mock_stat(mock, "start_count") == 3);

  /* A proxy's HTML 502 page: a protocol error. */
  mock_fault(mock, "html_502", 1);
  CHECK(yx_client_start(no_retry, call, &session, &err) == YX_PROTOCOL);
  CHECK(err_is(err, "reason", "html"));
  CHECK(err_int(err, "http_status") == 502);
  yx_error_free(err);
  err = NULL;

  /* ECP switched off: 403, never retried. */
  mock_post(mock, "/_mock/ecp_enabled", "enabled=false");
  CHECK(yx_client_start(client, call, &session, &err) == YX_API);
  CHECK(yx_error_api_code(err) == 403);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_NEVER);
  yx_error_free(err);
  err = NULL;
  mock_post(mock, "/_mock/reset", NULL);
  CHECK(mock_stat(mock, "start_count") == 0);
  CHECK(mock_stat(mock, "sessions") == 0);

  /* A wrong secret: the service's 414, and the secret in no message. */
  CHECK(yx_credentials_new(yx_mock_sample_app_key(), "wrong-secret-value", &wrong, NULL) == YX_OK);
  intruder = client_for(wrong, yx_mock_server_base_url(mock), 2);
  CHECK(yx_client_start(intruder, call, &session, &err) == YX_API);
  CHECK(yx_error_api_code(err) == 414);
  CHECK(err_is(err, "api_message", "bad http header"));
  check_no_secret(err, "wrong-secret-value");
  yx_error_free(err);
  err = NULL;
  CHECK(session == SENTINEL(char));

  /* A generic request to a path the mock does not serve: it answers HTTP 404 with the text
     "not found", which no YunXin API would, so it is a protocol error (not JSON). An HTTP layer
     refused it before any service saw it: nothing took effect, and sending it again would be
     refused the same way, whether or not it was built idempotent. */
  {
    yx_request *api = NULL;
    char *json = SENTINEL(char);
    json_int_t before = mock_stat(mock, "requests");
    CHECK(yx_api_request_new("/nimserver/user/create.action", NULL, 0, 0, &api, NULL) == YX_OK);
    CHECK(yx_client_request(client, api, &json, &err) == YX_PROTOCOL);
    CHECK(err_is(err, "reason", "not_json"));
    CHECK(err_int(err, "http_status") == 404);
    CHECK(err_is(err, "raw_body", "not found"));
    CHECK(err_is(err, "path", "/nimserver/user/create.action"));
    CHECK(yx_error_retry_advice(err) == YX_RETRY_NEVER);
    CHECK(json == SENTINEL(char));
    yx_error_free(err);
    err = NULL;
    CHECK(mock_stat(mock, "requests") == before + 1);
    yx_request_free(api);
    /* Built idempotent, it is still sent once: a retry could not change the answer. */
    CHECK(yx_api_request_new("/nimserver/user/create.action", NULL, 0, 1, &api, NULL) == YX_OK);
    CHECK(yx_client_request(client, api, &json, &err) == YX_PROTOCOL);
    CHECK(yx_error_retry_advice(err) == YX_RETRY_NEVER);
    CHECK(mock_stat(mock, "requests") == before + 2);
    yx_error_free(err);
    err = NULL;
    yx_request_free(api);
  }

  yx_client_free(intruder);
  yx_credentials_free(wrong);
  yx_request_free(call);
  yx_client_free(no_retry);
  yx_client_free(client);

  /* Nothing listens any more: a connect failure, provably not sent. */
  {
    char base[128];
    snprintf(base, sizeof base, "%s", yx_mock_server_base_url(mock));
    yx_mock_server_free(mock);
    client = client_for(creds, base, 0);
    CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, NULL) ==
          YX_OK);
    CHECK(yx_client_start(client, call, &session, &err) == YX_TRANSPORT);
    CHECK(err_is(err, "reason", "connect"));
    CHECK(err_int(err, "attempts") == 1);
    CHECK(yx_error_maybe_sent(err) == 0);
    CHECK(yx_error_retry_advice(err) == YX_RETRY_SAFE);
    CHECK(session == SENTINEL(char));
    yx_error_free(err);
    yx_request_free(call);
    yx_client_free(client);
  }
  yx_credentials_free(creds);
  end_case();
}

static void test_client_default_retries(void) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL, *query = NULL;
  yx_call_record *record = NULL;
  yx_error *err = NULL;
  char *session = NULL, settings[256];
  json_int_t before;
  begin("mock", "client defaults: a query is retried twice");
  CHECK(yx_mock_server_start(&mock, NULL) == YX_OK);
  if (mock == NULL) {
    end_case();
    return;
  }
  CHECK(yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, NULL) ==
        YX_OK);
  /* Only the base URL: every other setting is the default. */
  snprintf(settings, sizeof settings, "{\"base_url\":\"%s\"}", yx_mock_server_base_url(mock));
  CHECK(yx_client_new(creds, settings, &client, NULL) == YX_OK);
  CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, NULL) == YX_OK);
  CHECK(yx_client_start(client, call, &session, NULL) == YX_OK);
  CHECK(yx_query_new(session != NULL ? session : "x", YX_SESSION_CALL, &query, NULL) == YX_OK);
  before = mock_stat(mock, "requests");
  mock_fault(mock, "server_error", 2);
  CHECK(yx_client_query(client, query, &record, &err) == YX_OK);
  CHECK(mock_stat(mock, "requests") == before + 3);
  yx_call_record_free(record);
  record = SENTINEL(yx_call_record);
  mock_fault(mock, "server_error", 3);
  CHECK(yx_client_query(client, query, &record, &err) == YX_API);
  CHECK(yx_error_api_code(err) == 500);
  CHECK(record == SENTINEL(yx_call_record));
  CHECK(mock_stat(mock, "requests") == before + 6);
  yx_error_free(err);
  yx_request_free(query);
  yx_request_free(call);
  yx_string_free(session);
  yx_client_free(client);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  end_case();
}

/* ---- the log callback ---- */

#define MAX_LOG_LINES 2048

/* What the log callback received. Static: the library may call back from any thread until the
 * callback is removed. */
static struct {
  pthread_mutex_t lock;
  size_t total;
  size_t count;
  size_t wrong_userdata;
  int32_t levels[MAX_LOG_LINES];
  char *lines[MAX_LOG_LINES];
} logged;

static void on_log(int32_t level, const char *target, const char *message, void *userdata) {
  size_t size = strlen(target) + strlen(message) + 3;
  char *line = (char *)malloc(size);
  snprintf(line, size, "%s: %s", target, message);
  pthread_mutex_lock(&logged.lock);
  if (userdata != (void *)&logged) {
    logged.wrong_userdata++;
  }
  logged.total++;
  if (logged.count < MAX_LOG_LINES) {
    logged.levels[logged.count] = level;
    logged.lines[logged.count++] = line;
    line = NULL;
  }
  pthread_mutex_unlock(&logged.lock);
  free(line);
}

static size_t logged_total(void) {
  size_t total;
  pthread_mutex_lock(&logged.lock);
  total = logged.total;
  pthread_mutex_unlock(&logged.lock);
  return total;
}

/* How many lines at `level` begin with `prefix` (after the target) and contain `part`. */
static size_t count_logged(int32_t level, const char *prefix, const char *part) {
  size_t i, n = 0, len = strlen(prefix);
  pthread_mutex_lock(&logged.lock);
  for (i = 0; i < logged.count; i++) {
    const char *text = logged.lines[i];
    if (logged.levels[i] == level && strncmp(text, "yunxin_ecp: ", 12) == 0 &&
        strncmp(text + 12, prefix, len) == 0 && contains(text, part)) {
      n++;
    }
  }
  pthread_mutex_unlock(&logged.lock);
  return n;
}

/* Whether any line contains `secret`. */
static int logged_anywhere(const char *secret) {
  size_t i;
  int found = 0;
  pthread_mutex_lock(&logged.lock);
  for (i = 0; i < logged.count; i++) {
    if (contains(logged.lines[i], secret)) {
      fprintf(stderr, "  [%s] logged: %s\n", case_name, logged.lines[i]);
      found = 1;
    }
  }
  pthread_mutex_unlock(&logged.lock);
  return found;
}

static void forget_logged(void) {
  size_t i;
  pthread_mutex_lock(&logged.lock);
  for (i = 0; i < logged.count; i++) {
    free(logged.lines[i]);
  }
  logged.count = 0;
  logged.total = 0;
  pthread_mutex_unlock(&logged.lock);
}

/* No line may hold the signature of any request the mock received: its CheckSum (which, with
 * its Nonce and CurTime, is a five-minute key), nor its nonce. */
static void check_no_signature_logged(const yx_mock_server *mock) {
  json_t *requests = mock_control(mock, "GET", "/_mock/requests", NULL);
  size_t i, h;
  json_t *request, *pair;
  json_array_foreach(requests, i, request) {
    const char *nonce = NULL, *cur_time = NULL;
    char *sum = NULL;
    json_array_foreach(json_object_get(request, "headers"), h, pair) {
      const char *name = json_string_value(json_array_get(pair, 0));
      if (streq(name, "nonce")) nonce = json_string_value(json_array_get(pair, 1));
      if (streq(name, "curtime")) cur_time = json_string_value(json_array_get(pair, 1));
    }
    if (nonce == NULL || cur_time == NULL) {
      continue;
    }
    CHECK(yx_checksum(SECRET, nonce, cur_time, &sum, NULL) == YX_OK);
    CHECK(!logged_anywhere(sum));
    CHECK(!logged_anywhere(nonce));
    yx_string_free(sum);
  }
  json_decref(requests);
}

static void test_log_callback(void) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL, *query = NULL;
  yx_call_record *record = NULL;
  yx_error *err = NULL;
  char *session = NULL;
  size_t before;
  begin("api", "log callback: attempts, retries and give-ups, never a secret, and it stops");
  CHECK(yx_set_log_callback(on_log, &logged, 9, &err) == YX_INVALID_ARGUMENT);
  CHECK(err_is(err, "field", "max_level"));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_set_log_callback(on_log, &logged, -1, NULL) == YX_INVALID_ARGUMENT);
  CHECK(yx_mock_server_start(&mock, NULL) == YX_OK);
  if (mock == NULL) {
    end_case();
    return;
  }
  CHECK(yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, NULL) ==
        YX_OK);
  client = client_for(creds, yx_mock_server_base_url(mock), 2);
  CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, NULL) == YX_OK);
  CHECK(yx_client_start(client, call, &session, NULL) == YX_OK);
  CHECK(yx_query_new(session != NULL ? session : "x", YX_SESSION_CALL, &query, NULL) == YX_OK);

  /* Up to INFO: a retry (the mock busy once), nothing of each attempt. */
  CHECK(yx_set_log_callback(on_log, &logged, YX_LOG_INFO, NULL) == YX_OK);
  mock_fault(mock, "busy_503", 1);
  CHECK(yx_client_query(client, query, &record, NULL) == YX_OK);
  yx_call_record_free(record);
  record = NULL;
  CHECK(count_logged(YX_LOG_INFO, "retry ", "reason=api_503") == 1);
  CHECK(count_logged(YX_LOG_DEBUG, "", "") == 0);
  /* Every retry refused: the client gives up, at WARN. */
  mock_fault(mock, "busy_503", 3);
  CHECK(yx_client_query(client, query, &record, &err) == YX_API);
  yx_error_free(err);
  err = NULL;
  CHECK(count_logged(YX_LOG_INFO, "retry ", "reason=api_503") == 3);
  CHECK(count_logged(YX_LOG_WARN, "gave up ", "attempts=3") == 1);

  /* Up to DEBUG: every attempt too, with the numbers masked and no signature or secret. */
  CHECK(yx_set_log_callback(on_log, &logged, YX_LOG_DEBUG, NULL) == YX_OK);
  {
    char *second = NULL;
    CHECK(yx_client_start(client, call, &second, NULL) == YX_OK);
    yx_string_free(second);
  }
  mock_fault(mock, "busy_503", 1);
  CHECK(yx_client_query(client, query, &record, NULL) == YX_OK);
  yx_call_record_free(record);
  record = NULL;
  CHECK(count_logged(YX_LOG_DEBUG, "request sent ", "endpoint=start_call") >= 1);
  CHECK(count_logged(YX_LOG_DEBUG, "request sent ", "attempt=2") >= 1);
  CHECK(count_logged(YX_LOG_DEBUG, "response ", "code=503") >= 1);
  CHECK(count_logged(YX_LOG_INFO, "retry ", "") == 4);
  CHECK(logged.wrong_userdata == 0);
  CHECK(!logged_anywhere(SECRET));
  CHECK(!logged_anywhere("13888888888"));
  CHECK(!logged_anywhere("13777777777"));
  check_no_signature_logged(mock);

  /* NULL stops it: nothing more arrives. */
  CHECK(yx_set_log_callback(NULL, NULL, YX_LOG_DEBUG, NULL) == YX_OK);
  before = logged_total();
  mock_fault(mock, "busy_503", 1);
  CHECK(yx_client_query(client, query, &record, NULL) == YX_OK);
  yx_call_record_free(record);
  record = NULL;
  CHECK(logged_total() == before);
  /* So does YX_LOG_OFF with a callback. */
  CHECK(yx_set_log_callback(on_log, &logged, YX_LOG_OFF, NULL) == YX_OK);
  mock_fault(mock, "busy_503", 1);
  CHECK(yx_client_query(client, query, &record, NULL) == YX_OK);
  yx_call_record_free(record);
  CHECK(logged_total() == before);
  CHECK(yx_set_log_callback(NULL, NULL, YX_LOG_OFF, NULL) == YX_OK);

  forget_logged();
  yx_string_free(session);
  yx_request_free(query);
  yx_request_free(call);
  yx_client_free(client);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  end_case();
}

/* ---- exchanges.json: the core's exchange driven through yx_exchange_* ---- */

/* A request of exchanges.json's spelling. */
static yx_result exchange_request(const json_t *r, yx_request **out, yx_error **err) {
  const char *kind = sget(r, "kind");
  if (streq(kind, "start_call")) {
    return yx_start_call_new(sget(r, "caller_acc"), sget(r, "caller"), sget(r, "callee"),
                             (uint32_t)iget(r, "max_dur"), out, err);
  }
  if (streq(kind, "start_conf")) {
    const json_t *list = json_object_get(r, "callees");
    size_t n = json_array_size(list), i;
    json_t *item;
    yx_result res;
    const char **callees = (const char **)calloc(n + 1, sizeof *callees);
    json_array_foreach(list, i, item) { callees[i] = json_string_value(item); }
    res = yx_start_conf_new(sget(r, "caller_acc"), sget(r, "caller"), callees, n,
                            (uint32_t)iget(r, "max_dur"), out, err);
    free(callees);
    return res;
  }
  if (streq(kind, "query")) {
    return yx_query_new(sget(r, "session"),
                        streq(sget(r, "type"), "call") ? YX_SESSION_CALL : YX_SESSION_CONFERENCE,
                        out, err);
  }
  {
    size_t count = 0;
    yx_pair *params = pairs_of(json_object_get(r, "params"), &count);
    yx_result res = yx_api_request_new(sget(r, "path"), params, count,
                                       json_is_true(json_object_get(r, "idempotent")), out, err);
    free(params);
    return res;
  }
}

/* A JSON text the library is given, from a jansson value (released). Free with free(). */
static char *json_text(json_t *value) {
  char *text = json_dumps(value, JSON_COMPACT);
  json_decref(value);
  return text;
}

/* The outcome as core/tests/vectors.rs writes it, from the error object. */
static json_t *exchange_error_json(const yx_error *err) {
  json_t *j = error_json(err);
  json_t *e = json_pack("{s:o,s:o}", "kind", copy_of(j, "kind"), "retry", copy_of(j, "retry"));
  if (yx_error_kind(err) == YX_API) {
    json_object_set_new(e, "code", json_integer(yx_error_api_code(err)));
    if (json_is_string(json_object_get(j, "api_message"))) {
      json_object_set_new(e, "message", copy_of(j, "api_message"));
    }
  } else if (yx_error_kind(err) == YX_PROTOCOL) {
    json_object_set_new(e, "protocol", copy_of(j, "reason"));
  } else if (yx_error_kind(err) == YX_TRANSPORT) {
    json_object_set_new(e, "transport", copy_of(j, "reason"));
    json_object_set_new(e, "maybe_sent", json_boolean(yx_error_maybe_sent(err)));
  }
  json_decref(j);
  return json_pack("{s:o}", "error", e);
}

/* The answer of a finished exchange as the vectors summarize it; frees `answer`. */
static json_t *exchange_answer_json(yx_exchange *ex, const char *kind, char *answer) {
  yx_call_record *record = NULL;
  json_t *summary;
  if (streq(kind, "start_call") || streq(kind, "start_conf")) {
    summary = json_pack("{s:{s:s}}", "started", "session", answer);
    yx_string_free(answer);
    CHECK(yx_exchange_record(ex, &record, NULL) == YX_INVALID_ARGUMENT);
    return summary;
  }
  if (!streq(kind, "query")) {
    CHECK(yx_exchange_record(ex, &record, NULL) == YX_INVALID_ARGUMENT);
    return json_pack("{s:o}", "json", from_lib(answer));
  }
  /* A query: the answer is the record's JSON, and yx_exchange_record the record itself. */
  if (yx_exchange_record(ex, &record, NULL) != YX_OK) {
    CHECK(!"yx_exchange_record");
    yx_string_free(answer);
    return json_null();
  }
  expect_json_owned(from_lib(answer), record_json(record)); /* the same view */
  summary = json_pack("{s:{s:o,s:b,s:I}}", "record", "session", jstr(yx_call_record_session(record)),
                      "answered", yx_call_record_answered(record), "billed_minutes",
                      (json_int_t)yx_call_record_billed_minutes(record));
  yx_call_record_free(record);
  return summary;
}

/* Reads the events and checks that none carries a signature value; returns how many. */
static size_t exchange_events(yx_exchange *ex, const json_t *attempts, const char *secret) {
  char *text = NULL;
  json_t *events, *event, *attempt;
  size_t i, j, n;
  CHECK(yx_exchange_events_json(ex, &text, NULL) == YX_OK);
  events = from_lib(text);
  CHECK(json_is_array(events));
  n = json_array_size(events);
  json_array_foreach(events, i, event) {
    const char *line = sget(event, "line");
    const char *level = sget(event, "level");
    CHECK(streq(level, "debug") || streq(level, "info") || streq(level, "warn"));
    CHECK(line != NULL && strchr(line, '\n') == NULL);
    json_array_foreach(attempts, j, attempt) {
      CHECK(!contains(line, sget(attempt, "nonce")));
      CHECK(!contains(line, sget(attempt, "checksum")));
    }
    CHECK(!contains(line, secret));
  }
  json_decref(events);
  return n;
}

static void vectors_exchanges(const char *dir) {
  json_t *v = load(dir, "exchanges.json");
  json_t *c;
  size_t i, n = 0;
  yx_credentials *creds = NULL;
  if (yx_credentials_new(sget(v, "app_key"), sget(v, "secret"), &creds, NULL) != YX_OK) {
    fprintf(stderr, "exchanges.json: bad credentials\n");
    exit(2);
  }
  json_array_foreach(json_object_get(v, "cases"), i, c) {
    const json_t *expect = json_object_get(c, "expect");
    const json_t *script = json_object_get(c, "script");
    const json_t *want_attempts = json_object_get(expect, "attempts");
    const json_t *settings_in = json_object_get(c, "settings");
    const char *kind = sget(json_object_get(c, "request"), "kind");
    json_t *nonces = json_array(), *attempts = json_array(), *waits = json_array();
    json_t *result = NULL, *a;
    char *settings, *entropy;
    size_t k, step, events = 0;
    yx_request *request = NULL;
    yx_exchange *ex = NULL;
    yx_error *err = NULL;

    begin("exchanges.json", sget(c, "name"));
    json_array_foreach(want_attempts, k, a) { json_array_append(nonces, json_object_get(a, "nonce")); }
    settings = json_text(json_pack("{s:O,s:O,s:O}", "base_url", json_object_get(v, "base_url"),
                                   "max_retries", json_object_get(settings_in, "max_retries"),
                                   "backoff_ms", json_object_get(settings_in, "backoff_ms")));
    entropy = json_text(json_pack("{s:o,s:O,s:O}", "nonces", nonces, "now_secs",
                                  json_object_get(v, "now_secs"), "jitter",
                                  json_object_get(v, "jitter")));
    CHECK(exchange_request(json_object_get(c, "request"), &request, NULL) == YX_OK);
    CHECK(yx_exchange_new(creds, request, settings, entropy, &ex, NULL) == YX_OK);
    /* The exchange copied the request: it may go at once. */
    yx_request_free(request);
    /* Bounded: one attempt per scripted step, and one more to notice an unscripted attempt. */
    for (step = 0; ex != NULL && step <= json_array_size(script); step++) {
      const json_t *s = json_array_get(script, step);
      const json_t *answer = json_object_get(s, "answer");
      const json_t *failure = json_object_get(s, "failure");
      const json_t *too_large = json_object_get(s, "too_large");
      yx_prepared_request *prepared = NULL;
      yx_attempt_limits limits = {0, 0, 0};
      int64_t wait_ms = -2;
      char *text = NULL;
      yx_result r;
      if (yx_exchange_send(ex, &prepared, &limits, &err) != YX_OK) {
        result = json_pack("{s:s}", "unexpected", yx_error_message(err));
        break;
      }
      json_array_append_new(
          attempts, json_pack("{s:o,s:o,s:o,s:o}", "url", jstr(yx_prepared_request_url(prepared)),
                              "nonce", jstr(header_value(yx_prepared_request_headers(prepared), "Nonce")),
                              "cur_time", jstr(header_value(yx_prepared_request_headers(prepared), "CurTime")),
                              "checksum", jstr(header_value(yx_prepared_request_headers(prepared), "CheckSum"))));
      /* The default limits, attempt after attempt. */
      CHECK(limits.connect_timeout_ms == 5000 && limits.timeout_ms == 15000);
      CHECK(limits.max_response_bytes == 1048576);
      CHECK(contains(yx_prepared_request_body(prepared), "=") ||
            streq(yx_prepared_request_body(prepared), ""));
      yx_prepared_request_free(prepared);
      if (s == NULL) {
        result = json_pack("{s:s}", "unexpected", "an attempt that was not scripted");
        break;
      }
      if (answer != NULL) {
        const char *body = sget(answer, "body");
        r = yx_exchange_receive(ex, (uint16_t)iget(answer, "status"), sget(answer, "location"),
                                body, strlen(body), 1, &wait_ms, &text, &err);
      } else if (failure != NULL) {
        const char *fk = sget(failure, "kind");
        int32_t tk = streq(fk, "connect")   ? YX_TRANSPORT_CONNECT
                     : streq(fk, "timeout") ? YX_TRANSPORT_TIMEOUT
                     : streq(fk, "tls")     ? YX_TRANSPORT_TLS
                                            : YX_TRANSPORT_IO;
        r = yx_exchange_fail(ex, tk, json_is_true(json_object_get(failure, "maybe_sent")),
                             "scripted", 1, &wait_ms, &text, &err);
      } else {
        CHECK(too_large != NULL);
        r = yx_exchange_too_large(ex, (uint16_t)iget(too_large, "status"), 1, &wait_ms, &text, &err);
      }
      events += exchange_events(ex, want_attempts, sget(v, "secret"));
      if (r != YX_OK) {
        CHECK(wait_ms == -2 && text == NULL); /* out-parameters untouched on error */
        CHECK(r == yx_error_kind(err));
        result = exchange_error_json(err);
        yx_error_free(err);
        err = NULL;
        break;
      }
      if (wait_ms < 0) {
        CHECK(wait_ms == -1);
        result = exchange_answer_json(ex, kind, text);
        break;
      }
      CHECK(text == NULL); /* a wait writes no answer */
      json_array_append_new(waits, json_integer(wait_ms));
    }
    /* Every attempt logged at least "request sent" and its outcome. */
    CHECK(events >= 2 * json_array_size(attempts));
    if (result == NULL) {
      result = json_pack("{s:s}", "unexpected", "no outcome");
    }
    expect_json_owned(json_pack("{s:o,s:o,s:o}", "attempts", attempts, "waits_ms", waits, "result",
                                result),
                      json_incref((json_t *)expect));
    yx_exchange_free(ex);
    free(settings);
    free(entropy);
    n++;
    end_case();
  }
  begin("exchanges.json", "every case was run");
  CHECK(n == 28);
  end_case();
  yx_credentials_free(creds);
  json_decref(v);
}

/* A start exchange on the sample credentials with fixed entropy, its request freed already. */
static yx_exchange *start_exchange(const yx_credentials *creds, const char *settings) {
  yx_request *call = NULL;
  yx_exchange *ex = NULL;
  CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, NULL) == YX_OK);
  CHECK(yx_exchange_new(creds, call, settings,
                        "{\"nonces\":[\"n1\"],\"now_secs\":1440570500,\"jitter\":0}", &ex,
                        NULL) == YX_OK);
  yx_request_free(call);
  return ex;
}

static void test_exchange_misuse(void) {
  yx_credentials *creds = sample_credentials();
  yx_request *query = NULL;
  yx_exchange *ex, *none = SENTINEL(yx_exchange);
  yx_prepared_request *prepared = SENTINEL(yx_prepared_request);
  yx_attempt_limits limits = {1, 2, 3};
  yx_retry_advice advice = YX_RETRY_BACKOFF;
  yx_call_record *record = SENTINEL(yx_call_record);
  yx_error *err = NULL;
  int64_t wait_ms = -2;
  char *text = SENTINEL(char);
  const char *base = "{\"base_url\":\"http://127.0.0.1:9\"}";

  begin("exchange", "NULL arguments are named, out-parameters untouched");
  ex = start_exchange(creds, base);
  CHECK(yx_query_new("s-1", YX_SESSION_CALL, &query, NULL) == YX_OK);
  EXPECT_NULL_ARG(yx_exchange_new(NULL, query, base, NULL, &none, &err), "credentials");
  EXPECT_NULL_ARG(yx_exchange_new(creds, NULL, base, NULL, &none, &err), "request");
  EXPECT_NULL_ARG(yx_exchange_new(creds, query, base, NULL, NULL, &err), "exchange_out");
  EXPECT_NULL_ARG(yx_exchange_send(NULL, &prepared, &limits, &err), "exchange");
  EXPECT_NULL_ARG(yx_exchange_send(ex, NULL, &limits, &err), "prepared_out");
  EXPECT_NULL_ARG(yx_exchange_send(ex, &prepared, NULL, &err), "limits_out");
  EXPECT_NULL_ARG(yx_exchange_receive(NULL, 200, NULL, "", 0, 1, &wait_ms, &text, &err), "exchange");
  EXPECT_NULL_ARG(yx_exchange_receive(ex, 200, NULL, NULL, 5, 1, &wait_ms, &text, &err), "body");
  EXPECT_NULL_ARG(yx_exchange_receive(ex, 200, NULL, "", 0, 1, NULL, &text, &err),
                  "retry_after_ms_out");
  EXPECT_NULL_ARG(yx_exchange_receive(ex, 200, NULL, "", 0, 1, &wait_ms, NULL, &err), "answer_out");
  EXPECT_NULL_ARG(yx_exchange_too_large(NULL, 200, 1, &wait_ms, &text, &err), "exchange");
  EXPECT_NULL_ARG(yx_exchange_fail(NULL, YX_TRANSPORT_IO, 1, NULL, 1, &wait_ms, &text, &err),
                  "exchange");
  EXPECT_NULL_ARG(yx_exchange_cancel(NULL, 1, &advice, &err), "exchange");
  EXPECT_NULL_ARG(yx_exchange_cancel(ex, 1, NULL, &err), "advice_out");
  EXPECT_NULL_ARG(yx_exchange_events_json(NULL, &text, &err), "exchange");
  EXPECT_NULL_ARG(yx_exchange_events_json(ex, NULL, &err), "json_out");
  EXPECT_NULL_ARG(yx_exchange_record(NULL, &record, &err), "exchange");
  EXPECT_NULL_ARG(yx_exchange_record(ex, NULL, &err), "record_out");
  CHECK(none == SENTINEL(yx_exchange) && prepared == SENTINEL(yx_prepared_request));
  CHECK(limits.connect_timeout_ms == 1 && limits.timeout_ms == 2 && limits.max_response_bytes == 3);
  CHECK(wait_ms == -2 && text == SENTINEL(char) && advice == YX_RETRY_BACKOFF);
  CHECK(record == SENTINEL(yx_call_record));
  yx_exchange_free(NULL);
  end_case();

  begin("exchange", "bad settings, entropy and transport kinds are refused naming them");
  err = NULL;
  CHECK(yx_exchange_new(creds, query, "{\"timeout_ms\":0}", NULL, &none, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "timeout_ms") && err_is(err, "rule", "not_positive"));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_exchange_new(creds, query, base, "{\"seed\":1}", &none, &err) == YX_INVALID_ARGUMENT);
  CHECK(err_is(err, "field", "entropy_json"));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_exchange_new(creds, query, base, "{\"nonces\":[]}", &none, &err) == YX_INVALID_ARGUMENT);
  yx_error_free(err);
  CHECK(none == SENTINEL(yx_exchange));
  err = NULL;
  CHECK(yx_exchange_fail(ex, 0, 0, NULL, 1, &wait_ms, &text, &err) == YX_INVALID_ARGUMENT);
  CHECK(err_is(err, "field", "kind"));
  yx_error_free(err);
  end_case();

  begin("exchange", "receive before send, send twice, send after done: the exchange's conflict");
  err = NULL;
  CHECK(yx_exchange_receive(ex, 200, NULL, "{}", 2, 1, &wait_ms, &text, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "exchange") && err_is(err, "rule", "conflict"));
  yx_error_free(err);
  prepared = NULL;
  CHECK(yx_exchange_send(ex, &prepared, &limits, NULL) == YX_OK);
  CHECK(streq(header_value(yx_prepared_request_headers(prepared), "Nonce"), "n1"));
  CHECK(streq(header_value(yx_prepared_request_headers(prepared), "CurTime"), "1440570500"));
  yx_prepared_request_free(prepared);
  prepared = SENTINEL(yx_prepared_request);
  err = NULL;
  CHECK(yx_exchange_send(ex, &prepared, &limits, &err) == YX_VALIDATION);
  CHECK(err_is(err, "field", "exchange") && prepared == SENTINEL(yx_prepared_request));
  yx_error_free(err);
  /* A connect failure after a send: nothing left, so the start goes again at once... */
  CHECK(yx_exchange_fail(ex, YX_TRANSPORT_CONNECT, 0, "refused", 1, &wait_ms, &text, NULL) == YX_OK);
  CHECK(wait_ms == 100 && text == SENTINEL(char));
  CHECK(yx_exchange_send(ex, &prepared, &limits, NULL) == YX_OK);
  yx_prepared_request_free(prepared);
  /* ...and a timeout after sending ends it: the call may exist. */
  err = NULL;
  CHECK(yx_exchange_fail(ex, YX_TRANSPORT_TIMEOUT, 1, "timed out", 15000, &wait_ms, &text, &err) ==
        YX_TRANSPORT);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN && yx_error_maybe_sent(err) == 1);
  CHECK(err_is(err, "detail", "timed out"));
  yx_error_free(err);
  err = NULL;
  prepared = SENTINEL(yx_prepared_request);
  CHECK(yx_exchange_send(ex, &prepared, &limits, &err) == YX_VALIDATION);
  CHECK(err_is(err, "rule", "conflict"));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_exchange_too_large(ex, 200, 1, &wait_ms, &text, &err) == YX_VALIDATION);
  yx_error_free(err);
  err = NULL;
  CHECK(yx_exchange_record(ex, &record, &err) == YX_INVALID_ARGUMENT);
  CHECK(err_is(err, "field", "exchange") && record == SENTINEL(yx_call_record));
  yx_error_free(err);
  text = NULL;
  CHECK(yx_exchange_events_json(ex, &text, NULL) == YX_OK);
  {
    json_t *events = from_lib(text);
    json_t *last = json_array_get(events, json_array_size(events) - 1);
    CHECK(json_array_size(events) == 6); /* sent, no response, retry, sent, no response, gave up */
    CHECK(streq(sget(last, "level"), "warn"));
    CHECK(contains(sget(last, "line"), "gave up id=00000000 attempts=2 reason=transport_timeout"));
    json_decref(events);
  }
  text = NULL;
  CHECK(yx_exchange_events_json(ex, &text, NULL) == YX_OK);
  CHECK(streq(text, "[]")); /* taken: read once */
  yx_string_free(text);
  yx_exchange_free(ex);
  end_case();

  begin("exchange", "cancel: a start in flight may have been placed, a query never matters");
  ex = start_exchange(creds, base);
  CHECK(yx_exchange_send(ex, &prepared, &limits, NULL) == YX_OK);
  yx_prepared_request_free(prepared);
  CHECK(yx_exchange_cancel(ex, 1, &advice, NULL) == YX_OK);
  CHECK(advice == YX_RETRY_OUTCOME_UNKNOWN);
  text = NULL;
  CHECK(yx_exchange_events_json(ex, &text, NULL) == YX_OK);
  CHECK(contains(text, "\"level\":\"warn\",\"line\":\"cancelled id=00000000 endpoint=start_call"));
  yx_string_free(text);
  CHECK(yx_exchange_send(ex, &prepared, &limits, NULL) == YX_VALIDATION);
  yx_exchange_free(ex);
  ex = NULL;
  CHECK(yx_exchange_new(creds, query, base, NULL, &ex, NULL) == YX_OK);
  prepared = NULL;
  CHECK(yx_exchange_send(ex, &prepared, &limits, NULL) == YX_OK);
  /* No entropy fixed: a fresh 32-character nonce. */
  CHECK(strlen(header_value(yx_prepared_request_headers(prepared), "Nonce")) == 32);
  yx_prepared_request_free(prepared);
  CHECK(yx_exchange_cancel(ex, 1, &advice, NULL) == YX_OK);
  CHECK(advice == YX_RETRY_SAFE);
  yx_exchange_free(ex);
  end_case();

  yx_request_free(query);
  yx_credentials_free(creds);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "tests/vectors";
  int with_mock = !(argc > 2 && strcmp(argv[2], "--no-mock") == 0);

  if (yx_abi_version() != YX_ABI_VERSION) {
    fprintf(stderr, "header ABI %d, library ABI %u\n", YX_ABI_VERSION, yx_abi_version());
    return 2;
  }
  pthread_mutex_init(&logged.lock, NULL);
  vectors_signing(dir);
  vectors_requests(dir);
  vectors_responses(dir);
  vectors_callbacks(dir);
  vectors_callback_sign(dir);
  vectors_server(dir);
  vectors_exchanges(dir);
  test_versions();
  test_credentials_from_env();
  test_null_arguments();
  test_invalid_utf8();
  test_free_null_and_accessors();
  test_err_out_untouched_on_success();
  test_error_details();
  test_code_table();
  test_billing();
  test_nonces_and_fresh_signatures();
  test_prepare();
  test_callback_round_trip();
  test_callback_sign();
  test_verifier_options();
  test_rotation();
  test_delivery_guard();
  test_callback_answers();
  test_client_settings();
  test_client_base_url_from_env();
  test_api_requests();
  test_server_refusals();
  test_threads();
  test_exchange_misuse();
  if (with_mock) {
    test_mock_round_trip();
    test_mock_control();
    test_mock_faults();
    test_client_default_retries();
    test_log_callback();
  }
  pthread_mutex_destroy(&logged.lock);
  printf("c: %d passed, %d failed\n", cases_passed, cases_failed);
  return cases_failed == 0 ? 0 : 1;
}
