/*
 * The C suite of libyunxin_ecp: every case of the JSON files in tests/vectors through the C API (the same
 * way core/tests/vectors.rs runs them), then NULL arguments, error paths, out-parameters left
 * untouched on error, threads, and round trips against the in-process mock server.
 *
 * Plain C11 that also compiles as C++17 (the run script builds both, with -Wall -Wextra
 * -Werror). JSON is read with jansson. Usage: test_yunxin_ecp VECTOR_DIR
 * Prints one line per failure and closes with "c: N passed, M failed".
 */
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

/* [[name, value], ...] as yx_headers pointing into the JSON (valid while it lives). */
static yx_header *headers_of(const json_t *pairs, size_t *count) {
  size_t i;
  json_t *pair;
  yx_header *headers = (yx_header *)calloc(json_array_size(pairs) + 1, sizeof *headers);
  json_array_foreach(pairs, i, pair) {
    headers[i].name = json_string_value(json_array_get(pair, 0));
    headers[i].value = json_string_value(json_array_get(pair, 1));
  }
  *count = json_array_size(pairs);
  return headers;
}

/* {"error": {"field", "rule", "index"?}} as the vectors spell a validation error. */
static json_t *validation_json(const yx_error *err) {
  json_t *detail = json_object();
  json_object_set_new(detail, "field", jstr(yx_error_field(err)));
  json_object_set_new(detail, "rule", jstr(yx_error_rule(err)));
  if (yx_error_index(err) >= 0) {
    json_object_set_new(detail, "index", json_integer(yx_error_index(err)));
  }
  return json_pack("{s:o}", "error", detail);
}

/* No error message may quote a secret. */
static void check_no_secret(const yx_error *err, const char *secret) {
  char *json = NULL;
  if (secret == NULL || strlen(secret) < 4) {
    return;
  }
  CHECK(strstr(yx_error_message(err), secret) == NULL);
  if (yx_error_to_json(err, &json, NULL) == YX_OK) {
    CHECK(strstr(json, secret) == NULL);
    yx_string_free(json);
  }
}

static const char *retry_code(const yx_error *err) {
  return yx_retry_advice_code(yx_error_retry_advice(err));
}

/* ---- signing.json ---- */

static void vectors_signing(const char *dir) {
  json_t *v = load(dir, "signing.json");
  size_t i;
  json_t *c;

  json_array_foreach(json_object_get(v, "sign"), i, c) {
    yx_credentials *creds = NULL;
    yx_auth_headers *headers = SENTINEL(yx_auth_headers);
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
    if (r == YX_OK) {
      char *json = NULL;
      json_t *parsed;
      char *sum = NULL;
      CHECK(yx_auth_headers_to_json(headers, &json, NULL) == YX_OK);
      parsed = from_lib(json);
      got = json_pack("{s:O}", "headers", json_object_get(parsed, "headers"));
      CHECK(streq(yx_auth_headers_app_key(headers), sget(parsed, "app_key")));
      CHECK(streq(yx_auth_headers_nonce(headers), sget(parsed, "nonce")));
      CHECK(streq(yx_auth_headers_cur_time(headers), sget(parsed, "cur_time")));
      CHECK(streq(yx_auth_headers_checksum(headers), sget(parsed, "checksum")));
      /* The digest alone, from the bare function, agrees. */
      CHECK(yx_checksum(sget(c, "secret"), yx_auth_headers_nonce(headers),
                        yx_auth_headers_cur_time(headers), &sum, NULL) == YX_OK);
      CHECK(streq(sum, yx_auth_headers_checksum(headers)));
      yx_string_free(sum);
      json_decref(parsed);
      yx_auth_headers_free(headers);
    } else {
      CHECK(r == YX_VALIDATION);
      CHECK(yx_error_kind(err) == r);
      CHECK(headers == SENTINEL(yx_auth_headers));
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
      CHECK(streq(yx_credentials_app_key(creds), sget(c, "app_key")));
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
    yx_auth_headers *auth = NULL;
    yx_request *request = SENTINEL(yx_request);
    yx_prepared_request *prepared = SENTINEL(yx_prepared_request);
    yx_error *err = NULL;
    json_t *got = NULL;
    yx_result r;
    begin("requests.json", sget(c, "name"));
    r = yx_credentials_sign(creds, sget(v, "nonce"), (uint64_t)iget(v, "cur_time"), &auth, &err);
    CHECK(r == YX_OK);
    if (r == YX_OK) {
      r = build_request(c, &request, &err);
    }
    if (r == YX_OK) {
      r = yx_request_prepare(request, sget(c, "base_url"), auth, &prepared, &err);
    } else {
      CHECK(request == SENTINEL(yx_request));
      request = NULL;
    }
    if (r == YX_OK) {
      char *json = NULL;
      json_t *parsed;
      size_t h, count = yx_prepared_request_header_count(prepared);
      CHECK(yx_prepared_request_to_json(prepared, &json, NULL) == YX_OK);
      parsed = from_lib(json);
      CHECK(streq(sget(parsed, "endpoint"),
                  yx_endpoint_code(yx_prepared_request_endpoint(prepared))));
      CHECK(yx_prepared_request_endpoint(prepared) == yx_request_endpoint(request));
      json_object_del(parsed, "endpoint");
      /* The accessors say what the JSON says. */
      CHECK(streq(yx_prepared_request_method(prepared), sget(parsed, "method")));
      CHECK(streq(yx_prepared_request_url(prepared), sget(parsed, "url")));
      CHECK(streq(yx_prepared_request_body(prepared), sget(parsed, "body")));
      CHECK(count == json_array_size(json_object_get(parsed, "headers")));
      for (h = 0; h < count; h++) {
        const json_t *pair = json_array_get(json_object_get(parsed, "headers"), h);
        CHECK(streq(yx_prepared_request_header_name(prepared, h),
                    json_string_value(json_array_get(pair, 0))));
        CHECK(streq(yx_prepared_request_header_value(prepared, h),
                    json_string_value(json_array_get(pair, 1))));
      }
      CHECK(yx_prepared_request_header_name(prepared, count) == NULL);
      {
        char *body = NULL;
        CHECK(yx_request_form_body(request, &body, NULL) == YX_OK);
        CHECK(streq(body, yx_prepared_request_body(prepared)));
        yx_string_free(body);
      }
      got = parsed;
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
    yx_auth_headers_free(auth);
    end_case();
  }
  yx_credentials_free(creds);
  json_decref(v);
}

/* ---- responses.json ---- */

static json_t *opt_u64(int present, uint64_t value) {
  return present ? json_integer((json_int_t)value) : json_null();
}

static json_t *members_json(const yx_call_record *record) {
  json_t *members;
  size_t i, n = yx_call_record_member_count(record);
  if (!yx_call_record_is_conference(record)) {
    return json_null();
  }
  members = json_array();
  for (i = 0; i < n; i++) {
    json_array_append_new(members, jstr(yx_call_record_member(record, i)));
  }
  CHECK(yx_call_record_member(record, n) == NULL);
  return members;
}

/* The record as core/tests/vectors.rs summarizes a query answer. */
static json_t *query_record_json(const yx_call_record *r) {
  uint64_t duration = 0;
  int has = yx_call_record_duration_sec(r, &duration);
  return json_pack("{s:o,s:o,s:b,s:I,s:I,s:I,s:o}", "session", jstr(yx_call_record_session(r)),
                   "duration_sec", opt_u64(has, duration), "answered",
                   yx_call_record_answered(r), "billed_minutes",
                   (json_int_t)yx_call_record_billed_minutes(r), "cost_fen",
                   (json_int_t)yx_call_record_cost_fen(r, 12), "legs",
                   (json_int_t)yx_call_record_leg_count(r), "members", members_json(r));
}

/* The record JSON the library writes agrees with its accessors. */
static void check_record_json(const yx_call_record *r) {
  char *text = NULL;
  json_t *j, *want;
  uint64_t duration = 0, created = 0;
  int has_duration = yx_call_record_duration_sec(r, &duration);
  int has_created = yx_call_record_create_time_ms(r, &created);
  CHECK(yx_call_record_to_json(r, &text, NULL) == YX_OK);
  j = from_lib(text);
  want = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:I,s:I,s:b,s:o}", "session",
                   jstr(yx_call_record_session(r)), "init_account",
                   jstr(yx_call_record_init_account(r)), "caller", jstr(yx_call_record_caller(r)),
                   "callee", jstr(yx_call_record_callee(r)), "start_time",
                   jstr(yx_call_record_start_time(r)), "status", jstr(yx_call_record_status(r)),
                   "duration_sec", opt_u64(has_duration, duration), "create_time_ms",
                   opt_u64(has_created, created), "answered", yx_call_record_answered(r),
                   "billed_minutes", (json_int_t)yx_call_record_billed_minutes(r), "cost_fen",
                   (json_int_t)yx_call_record_cost_fen(r, 12), "is_conference",
                   yx_call_record_is_conference(r), "members", members_json(r));
  {
    const char *key;
    json_t *value;
    json_object_foreach(want, key, value) {
      if (!json_equal(json_object_get(j, key), value)) {
        fprintf(stderr, "FAIL [%s] record JSON field %s disagrees with its accessor\n", case_name,
                key);
        case_ok = 0;
      }
    }
  }
  CHECK(json_array_size(json_object_get(j, "legs")) == yx_call_record_leg_count(r));
  CHECK(json_is_object(json_object_get(j, "raw")));
  json_decref(want);
  json_decref(j);
}

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
    CHECK(streq(yx_endpoint_code(endpoint), endpoint_code));
    if (endpoint == YX_ENDPOINT_QUERY_BY_SESSION) {
      yx_call_record *record = SENTINEL(yx_call_record);
      r = yx_parse_query_response(status, body, body_len, &record, &err);
      if (r == YX_OK) {
        got = json_pack("{s:o}", "ok", query_record_json(record));
        check_record_json(record);
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
      CHECK(yx_error_kind(err) == r);
      /* Whatever failed, the message must say which endpoint answered. */
      CHECK(strstr(yx_error_message(err), "/call/ecp/") != NULL);
      CHECK(yx_error_endpoint(err) == endpoint);
      CHECK(yx_error_http_status(err) == status);
      CHECK(yx_error_maybe_sent(err) == 1);
      CHECK(yx_error_raw_body(err) != NULL);
      if (r == YX_API) {
        got = json_pack("{s:{s:s,s:I,s:o,s:s}}", "error", "kind", "api", "code",
                        (json_int_t)yx_error_api_code(err), "message",
                        jstr(yx_error_api_message(err)), "retry", retry_code(err));
      } else if (r == YX_PROTOCOL) {
        got = json_pack("{s:{s:s,s:s,s:s}}", "error", "kind", "protocol", "protocol",
                        yx_error_reason(err), "retry", retry_code(err));
      } else {
        CHECK(!"unexpected result");
        got = json_null();
      }
      yx_error_free(err);
    }
    expect_json(got, json_object_get(c, "expect"));
    end_case();
  }
  json_decref(v);
}

/* ---- callbacks.json ---- */

static json_t *hang_causes_json(const yx_call_record *r) {
  json_t *causes = json_array();
  size_t i, n = yx_call_record_leg_count(r);
  for (i = 0; i < n; i++) {
    json_array_append_new(causes, jstr(yx_call_record_leg_hang_cause(r, i)));
  }
  CHECK(yx_call_record_leg_hang_cause(r, n) == NULL);
  return causes;
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
    yx_header *headers = headers_of(json_object_get(c, "headers"), &count);
    const json_t *tolerance = json_object_get(c, "tolerance_ms");
    const char *body = sget(c, "body");
    size_t body_len = json_string_length(json_object_get(c, "body"));
    json_t *got;
    yx_result r;
    begin("callbacks.json verify", sget(c, "name"));
    CHECK(yx_credentials_new(sget(c, "app_key"), sget(c, "secret"), &creds, NULL) == YX_OK);
    if (json_is_integer(tolerance)) {
      r = yx_callback_verifier_new(creds, (uint64_t)json_integer_value(tolerance), &verifier, NULL);
    } else {
      r = yx_callback_verifier_new_skip_time_check(creds, &verifier, NULL);
    }
    CHECK(r == YX_OK);
    /* The verifier keeps its own copy of the credentials. */
    yx_credentials_free(creds);
    r = yx_callback_verifier_verify(verifier, body, body_len, headers, count,
                                    (uint64_t)iget(c, "now_ms"), &err);
    if (r == YX_OK) {
      got = json_string("ok");
    } else {
      CHECK(r == YX_CALLBACK);
      check_no_secret(err, sget(c, "secret"));
      got = jstr(yx_error_reason(err));
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
        yx_call_record *r = SENTINEL(yx_call_record);
        uint64_t duration = 0, created = 0;
        int has_duration, has_created;
        CHECK(yx_callback_event_raw(event) == NULL);
        CHECK(yx_callback_event_record(event, &r, NULL) == YX_OK);
        has_duration = yx_call_record_duration_sec(r, &duration);
        has_created = yx_call_record_create_time_ms(r, &created);
        got = json_pack(
            "{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:I,s:I,s:o,s:o}", "type", "call_end",
            "session", jstr(yx_call_record_session(r)), "init_account",
            jstr(yx_call_record_init_account(r)), "caller", jstr(yx_call_record_caller(r)),
            "callee", jstr(yx_call_record_callee(r)), "create_time_ms",
            opt_u64(has_created, created), "start_time", jstr(yx_call_record_start_time(r)),
            "status", jstr(yx_call_record_status(r)), "duration_sec",
            opt_u64(has_duration, duration), "answered", yx_call_record_answered(r),
            "billed_minutes", (json_int_t)yx_call_record_billed_minutes(r), "cost_fen",
            (json_int_t)yx_call_record_cost_fen(r, 12), "members", members_json(r), "hang_causes",
            hang_causes_json(r));
        CHECK(streq(sget(as_json, "type"), "call_end"));
        CHECK(streq(yx_callback_event_type(event), "10"));
        check_record_json(r);
        yx_call_record_free(r);
      } else {
        yx_call_record *r = SENTINEL(yx_call_record);
        CHECK(yx_callback_event_kind(event) == YX_EVENT_OTHER);
        CHECK(yx_callback_event_record(event, &r, &err) == YX_INVALID_ARGUMENT);
        CHECK(r == SENTINEL(yx_call_record));
        yx_error_free(err);
        got = json_pack("{s:s,s:o,s:o}", "type", "other", "event_type",
                        jstr(yx_callback_event_type(event)), "raw",
                        jstr(yx_callback_event_raw(event)));
        CHECK(streq(sget(as_json, "type"), "other"));
        CHECK(streq(sget(as_json, "raw"), yx_callback_event_raw(event)));
      }
      json_decref(as_json);
      yx_callback_event_free(event);
    } else {
      CHECK(event == SENTINEL(yx_callback_event));
      CHECK(yx_error_kind(err) == YX_CALLBACK);
      got = json_pack("{s:o}", "error", jstr(yx_error_reason(err)));
      yx_error_free(err);
    }
    expect_json(got, json_object_get(c, "expect"));
    end_case();
  }
  json_decref(v);
}

/* ---- server.json ---- */

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
    yx_header *headers = headers_of(json_object_get(c, "headers"), &count);
    yx_error *err = NULL;
    yx_request *request = SENTINEL(yx_request);
    json_t *got;
    yx_result r;
    begin("server.json", sget(c, "name"));
    r = yx_server_verify_request(app, headers, count, (uint64_t)iget(c, "now_secs"), window, &err);
    if (r != YX_OK) {
      char *reply = NULL;
      CHECK(r == YX_AUTH);
      CHECK(yx_server_reply_bad_http_header(&reply, NULL) == YX_OK);
      got = json_pack("{s:s,s:o}", "reply", reply, "refusal", jstr(yx_error_reason(err)));
      yx_string_free(reply);
      yx_error_free(err);
    } else {
      const char *body = sget(c, "body");
      size_t body_len = json_string_length(json_object_get(c, "body"));
      r = yx_server_parse_request(sget(c, "path"), sget(c, "query"), body, body_len, &request,
                                  &err);
      if (r == YX_OK) {
        char *text = NULL;
        CHECK(yx_request_to_json(request, &text, NULL) == YX_OK);
        got = from_lib(text);
        yx_request_free(request);
      } else {
        char *reply = NULL;
        CHECK(r == YX_VALIDATION);
        CHECK(request == SENTINEL(yx_request));
        CHECK(yx_server_reply_bad_param(yx_error_field(err), &reply, NULL) == YX_OK);
        got = json_pack("{s:s,s:o}", "reply", reply, "field", jstr(yx_error_field(err)));
        yx_string_free(reply);
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
  CHECK(v != NULL && strlen(v) >= 5 && strchr(v, '.') != NULL);
  CHECK(streq(yx_result_code(YX_OK), "ok"));
  CHECK(streq(yx_result_code(YX_PANIC), "panic"));
  CHECK(yx_result_code(-1) == NULL);
  end_case();
}

/* A failing call: the expected code, the argument named, out-parameters untouched. */
static void expect_null_argument(yx_result r, yx_error *err, const char *argument) {
  CHECK(r == YX_NULL_ARGUMENT);
  CHECK(yx_error_kind(err) == YX_NULL_ARGUMENT);
  CHECK(streq(yx_error_field(err), argument));
  CHECK(yx_error_retry_advice(err) == YX_RETRY_NEVER);
  if (!streq(yx_error_field(err), argument)) {
    fprintf(stderr, "  field was %s, want %s\n", yx_error_field(err) ? yx_error_field(err) : "NULL",
            argument);
  }
  yx_error_free(err);
}

/* The call writes err; reading it must come after the call, not among its arguments. */
#define EXPECT_NULL_ARG(call, argument)    \
  do {                                     \
    yx_result r_;                          \
    err = NULL;                            \
    r_ = (call);                           \
    expect_null_argument(r_, err, argument); \
  } while (0)

static void test_null_arguments(void) {
  yx_credentials *creds = sample_credentials();
  yx_credentials *c_out = SENTINEL(yx_credentials);
  yx_auth_headers *h_out = SENTINEL(yx_auth_headers);
  yx_request *r_out = SENTINEL(yx_request);
  yx_prepared_request *p_out = SENTINEL(yx_prepared_request);
  yx_call_record *rec_out = SENTINEL(yx_call_record);
  yx_callback_event *ev_out = SENTINEL(yx_callback_event);
  yx_callback_verifier *v_out = SENTINEL(yx_callback_verifier);
  yx_client_builder *b_out = SENTINEL(yx_client_builder);
  char *s_out = SENTINEL(char);
  yx_error *err = NULL;
  const char *callees[] = {"13888888888", NULL};

  begin("api", "NULL arguments are refused and name the argument");
  EXPECT_NULL_ARG(yx_credentials_new(NULL, SECRET, &c_out, &err), "app_key");
  EXPECT_NULL_ARG(yx_credentials_new(KEY, NULL, &c_out, &err), "app_secret");
  EXPECT_NULL_ARG(yx_credentials_new(KEY, SECRET, NULL, &err), "credentials_out");
  CHECK(c_out == SENTINEL(yx_credentials));
  EXPECT_NULL_ARG(yx_credentials_sign(NULL, "abc", 1, &h_out, &err), "credentials");
  EXPECT_NULL_ARG(yx_credentials_sign(creds, NULL, 1, &h_out, &err), "nonce");
  EXPECT_NULL_ARG(yx_credentials_sign_now(creds, NULL, &err), "headers_out");
  CHECK(h_out == SENTINEL(yx_auth_headers));
  EXPECT_NULL_ARG(yx_checksum(NULL, "n", "1", &s_out, &err), "secret");
  EXPECT_NULL_ARG(yx_body_md5(NULL, 3, &s_out, &err), "body");
  EXPECT_NULL_ARG(yx_generate_nonce(32, NULL, &err), "nonce_out");
  CHECK(s_out == SENTINEL(char));
  EXPECT_NULL_ARG(yx_start_call_new("acc", NULL, "13777777777", 60, &r_out, &err), "caller");
  EXPECT_NULL_ARG(yx_start_conf_new("acc", "13777777777", NULL, 2, 60, &r_out, &err), "callees");
  EXPECT_NULL_ARG(yx_start_conf_new("acc", "13777777777", callees, 2, 60, &r_out, &err), "callees[1]");
  EXPECT_NULL_ARG(yx_query_new(NULL, YX_SESSION_CALL, &r_out, &err), "session");
  CHECK(r_out == SENTINEL(yx_request));
  EXPECT_NULL_ARG(yx_request_prepare(NULL, NULL, NULL, &p_out, &err), "request");
  CHECK(p_out == SENTINEL(yx_prepared_request));
  EXPECT_NULL_ARG(yx_parse_query_response(200, NULL, 5, &rec_out, &err), "body");
  CHECK(rec_out == SENTINEL(yx_call_record));
  EXPECT_NULL_ARG(yx_parse_start_response(YX_ENDPOINT_START_CALL, 200, "{}", 2, NULL, &err),
                  "session_out");
  EXPECT_NULL_ARG(yx_callback_verifier_new(NULL, 0, &v_out, &err), "credentials");
  CHECK(v_out == SENTINEL(yx_callback_verifier));
  EXPECT_NULL_ARG(yx_callback_parse(NULL, 1, &ev_out, &err), "body");
  CHECK(ev_out == SENTINEL(yx_callback_event));
  {
    yx_callback_verifier *verifier = NULL;
    yx_header bad[] = {{"MD5", NULL}};
    CHECK(yx_callback_verifier_new(creds, 1000, &verifier, NULL) == YX_OK);
    EXPECT_NULL_ARG(yx_callback_verifier_verify(verifier, "{}", 2, bad, 1, 0, &err), "headers[0].value");
    EXPECT_NULL_ARG(yx_callback_verifier_verify(verifier, "{}", 2, NULL, 1, 0, &err), "headers");
    yx_callback_verifier_free(verifier);
  }
  EXPECT_NULL_ARG(yx_server_verify_request(NULL, NULL, 0, 0, 300, &err), "credentials");
  EXPECT_NULL_ARG(yx_client_builder_new(creds, NULL, &err), "builder_out");
  EXPECT_NULL_ARG(yx_client_builder_set_timeout_ms(NULL, 5, &err), "builder");
  EXPECT_NULL_ARG(yx_client_builder_build(NULL, NULL, &err), "builder");
  CHECK(b_out == SENTINEL(yx_client_builder));
  EXPECT_NULL_ARG(yx_error_to_json(NULL, &s_out, &err), "err");
  /* Without err_out the code alone comes back. */
  CHECK(yx_credentials_new(NULL, NULL, NULL, NULL) == YX_NULL_ARGUMENT);
  /* An empty body may be NULL. */
  {
    char *md5 = NULL;
    CHECK(yx_body_md5(NULL, 0, &md5, NULL) == YX_OK);
    CHECK(streq(md5, "d41d8cd98f00b204e9800998ecf8427e"));
    yx_string_free(md5);
  }
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
  CHECK(streq(yx_error_field(err), "app_secret"));
  CHECK(strstr(yx_error_message(err), "secret") == NULL ||
        strstr(yx_error_message(err), "-secret") == NULL);
  yx_error_free(err);
  err = NULL;
  CHECK(yx_start_call_new("acc", "13888888888", "1377777\xc0", 60, NULL, &err) ==
        YX_INVALID_UTF8);
  yx_error_free(err);
  end_case();
}

static void test_free_null_and_accessors(void) {
  uint64_t out = 7;
  begin("api", "free(NULL) is a no-op and accessors answer NULL or 0 to NULL");
  yx_error_free(NULL);
  yx_string_free(NULL);
  yx_credentials_free(NULL);
  yx_auth_headers_free(NULL);
  yx_request_free(NULL);
  yx_prepared_request_free(NULL);
  yx_call_record_free(NULL);
  yx_callback_verifier_free(NULL);
  yx_callback_event_free(NULL);
  yx_client_builder_free(NULL);
  yx_client_free(NULL);
  yx_mock_server_free(NULL);
  yx_received_callback_free(NULL);
  CHECK(yx_error_kind(NULL) == YX_NULL_ARGUMENT);
  CHECK(yx_error_message(NULL) == NULL);
  CHECK(yx_error_index(NULL) == -1);
  CHECK(yx_error_api_code(NULL) == 0);
  CHECK(yx_error_maybe_sent(NULL) == 0);
  CHECK(yx_credentials_app_key(NULL) == NULL);
  CHECK(yx_auth_headers_checksum(NULL) == NULL);
  CHECK(yx_request_endpoint(NULL) == 0);
  CHECK(yx_prepared_request_url(NULL) == NULL);
  CHECK(yx_prepared_request_header_count(NULL) == 0);
  CHECK(yx_call_record_session(NULL) == NULL);
  CHECK(yx_call_record_duration_sec(NULL, &out) == 0 && out == 7);
  CHECK(yx_call_record_answered(NULL) == 0);
  CHECK(yx_callback_event_kind(NULL) == 0);
  CHECK(yx_client_base_url(NULL) == NULL);
  CHECK(yx_mock_server_base_url(NULL) == NULL);
  CHECK(yx_received_callback_body_len(NULL) == 0);
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
  char *json = NULL;
  json_t *j;
  const char *body = "{\"code\":500,\"msg\":\"server internal error\"}";
  begin("api", "error objects: API code, message, retry advice, JSON");
  CHECK(yx_parse_start_response(YX_ENDPOINT_START_CALL, 200, body, strlen(body), &session, &err) ==
        YX_API);
  CHECK(session == SENTINEL(char));
  CHECK(yx_error_api_code(err) == 500);
  CHECK(streq(yx_error_api_message(err), "server internal error"));
  CHECK(yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN);
  CHECK(yx_retry_advice_is_safe(yx_error_retry_advice(err)) == 0);
  CHECK(yx_error_http_status(err) == 200);
  CHECK(streq(yx_error_raw_body(err), body));
  CHECK(strstr(yx_error_message(err), "query before trying again") != NULL);
  CHECK(yx_error_to_json(err, &json, NULL) == YX_OK);
  j = from_lib(json);
  CHECK(streq(sget(j, "kind"), "api"));
  CHECK(iget(j, "code") == 500);
  CHECK(streq(sget(j, "meaning"), "server internal error"));
  CHECK(streq(sget(j, "retry"), "outcome_unknown"));
  CHECK(streq(sget(j, "endpoint"), "start_call"));
  CHECK(json_is_true(json_object_get(j, "maybe_sent")));
  json_decref(j);
  yx_error_free(err);

  /* The same code for a query is safe to retry. */
  err = NULL;
  {
    yx_call_record *record = SENTINEL(yx_call_record);
    CHECK(yx_parse_query_response(200, body, strlen(body), &record, &err) == YX_API);
    CHECK(yx_error_retry_advice(err) == YX_RETRY_SAFE);
    CHECK(record == SENTINEL(yx_call_record));
    yx_error_free(err);
  }
  /* A proxy's HTML page. */
  err = NULL;
  body = "<html><body>502 Bad Gateway</body></html>";
  CHECK(yx_parse_start_response(YX_ENDPOINT_START_CONF, 502, body, strlen(body), &session, &err) ==
        YX_PROTOCOL);
  CHECK(streq(yx_error_reason(err), "html"));
  CHECK(yx_error_http_status(err) == 502);
  yx_error_free(err);
  /* A query endpoint is no start. */
  err = NULL;
  CHECK(yx_parse_start_response(YX_ENDPOINT_QUERY_BY_SESSION, 200, "{}", 2, &session, &err) ==
        YX_INVALID_ARGUMENT);
  CHECK(streq(yx_error_field(err), "endpoint"));
  yx_error_free(err);
  /* A validation error with an index. */
  err = NULL;
  {
    const char *callees[] = {"13888888888", "+8613666666666"};
    yx_request *r = SENTINEL(yx_request);
    CHECK(yx_start_conf_new("liuxuanlin", "13777777777", callees, 2, 60, &r, &err) ==
          YX_VALIDATION);
    CHECK(r == SENTINEL(yx_request));
    CHECK(streq(yx_error_field(err), "callee"));
    CHECK(streq(yx_error_rule(err), "country_code"));
    CHECK(yx_error_index(err) == 1);
    yx_error_free(err);
  }
  /* Body bytes with a NUL inside still read, and the raw body keeps going past it. */
  err = NULL;
  {
    const char nul_body[] = "{\"code\":414,\"msg\":\"a\0b\"}";
    CHECK(yx_parse_start_response(YX_ENDPOINT_START_CALL, 200, nul_body, sizeof nul_body - 1,
                                  &session, &err) != YX_OK);
    CHECK(yx_error_raw_body(err) != NULL && strlen(yx_error_raw_body(err)) > 10);
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
  CHECK(streq(yx_retry_advice_code(YX_RETRY_BACKOFF), "backoff"));
  CHECK(yx_retry_advice_code(99) == NULL);
  CHECK(yx_code_table_json(&json, NULL) == YX_OK);
  table = from_lib(json);
  CHECK(json_array_size(table) >= 23);
  json_array_foreach(table, i, row) {
    CHECK(streq(sget(row, "meaning"), yx_code_meaning(iget(row, "code"))));
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

static void test_endpoints_and_billing(void) {
  begin("api", "endpoints and billing");
  CHECK(streq(yx_endpoint_path(YX_ENDPOINT_START_CALL), "/call/ecp/startcall.action"));
  CHECK(streq(yx_endpoint_path(YX_ENDPOINT_QUERY_BY_SESSION), "/call/ecp/queryBySession.action"));
  CHECK(streq(yx_endpoint_code(YX_ENDPOINT_START_CONF), "start_conf"));
  CHECK(yx_endpoint_path(0) == NULL);
  CHECK(yx_endpoint_from_path("/call/ecp/startconf.action") == YX_ENDPOINT_START_CONF);
  CHECK(yx_endpoint_from_path("/nope") == 0);
  CHECK(yx_endpoint_from_path(NULL) == 0);
  CHECK(yx_billed_minutes(0) == 0 && yx_billed_minutes(60) == 1 && yx_billed_minutes(61) == 2);
  CHECK(yx_cost_fen(61, 12) == 24);
  CHECK(yx_cost_fen(UINT64_MAX, 12) > 0);
  CHECK(yx_default_callback_tolerance_ms() == 300000);
  end_case();
}

static void test_nonces_and_sign_now(void) {
  yx_credentials *creds = sample_credentials();
  yx_auth_headers *a = NULL, *b = NULL;
  char *nonce = SENTINEL(char), *sum = NULL;
  yx_error *err = NULL;
  size_t i;
  begin("api", "fresh nonces, sign_now agrees with the bare checksum");
  for (i = 1; i <= 128; i += 127) {
    char *n = NULL;
    CHECK(yx_generate_nonce(i, &n, NULL) == YX_OK);
    CHECK(n != NULL && strlen(n) == i && strspn(n, "0123456789abcdef") == i);
    yx_string_free(n);
  }
  CHECK(yx_generate_nonce(0, &nonce, &err) == YX_VALIDATION);
  CHECK(streq(yx_error_field(err), "nonce") && streq(yx_error_rule(err), "length"));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_generate_nonce(129, &nonce, &err) == YX_VALIDATION);
  yx_error_free(err);
  CHECK(nonce == SENTINEL(char));

  CHECK(yx_credentials_sign_now(creds, &a, NULL) == YX_OK);
  CHECK(yx_credentials_sign_now(creds, &b, NULL) == YX_OK);
  CHECK(!streq(yx_auth_headers_nonce(a), yx_auth_headers_nonce(b)));
  CHECK(strlen(yx_auth_headers_nonce(a)) == 32);
  CHECK(strtoull(yx_auth_headers_cur_time(a), NULL, 10) + 2 >= (unsigned long long)time(NULL));
  CHECK(yx_checksum(SECRET, yx_auth_headers_nonce(a), yx_auth_headers_cur_time(a), &sum, NULL) ==
        YX_OK);
  CHECK(streq(sum, yx_auth_headers_checksum(a)));
  yx_string_free(sum);
  /* A fresh signature passes the server-side check against the clock (now_secs 0). */
  {
    yx_header fresh[] = {
        {"AppKey", yx_auth_headers_app_key(a)},
        {"Nonce", yx_auth_headers_nonce(a)},
        {"CurTime", yx_auth_headers_cur_time(a)},
        {"CheckSum", yx_auth_headers_checksum(a)},
    };
    CHECK(yx_server_verify_request(creds, fresh, 4, 0, 300, NULL) == YX_OK);
    /* The same headers a day later: outside the window. */
    err = NULL;
    CHECK(yx_server_verify_request(creds, fresh, 4, (uint64_t)time(NULL) + 86400, 300, &err) ==
          YX_AUTH);
    CHECK(streq(yx_error_reason(err), "outside_window"));
    yx_error_free(err);
    err = NULL;
  }
  yx_auth_headers_free(a);
  yx_auth_headers_free(b);

  /* CurTime in milliseconds is the classic mistake. */
  err = NULL;
  a = SENTINEL(yx_auth_headers);
  CHECK(yx_credentials_sign(creds, "abc", 1440570500855ULL, &a, &err) == YX_VALIDATION);
  CHECK(streq(yx_error_field(err), "CurTime") && streq(yx_error_rule(err), "milliseconds"));
  CHECK(a == SENTINEL(yx_auth_headers));
  yx_error_free(err);
  yx_credentials_free(creds);
  end_case();
}

static void test_prepare_now(void) {
  yx_credentials *creds = sample_credentials();
  yx_request *query = NULL;
  yx_prepared_request *prepared = NULL;
  yx_error *err = NULL;
  char *json = NULL;
  json_t *j;
  begin("api", "prepare_now: a fresh signature per prepared request, base URL checked");
  CHECK(yx_query_new("7c4b7673-4f70-4164-82a0-decb84d77914", YX_SESSION_CONFERENCE, &query, NULL) ==
        YX_OK);
  CHECK(yx_request_endpoint(query) == YX_ENDPOINT_QUERY_BY_SESSION);
  CHECK(yx_request_to_json(query, &json, NULL) == YX_OK);
  j = from_lib(json);
  CHECK(streq(sget(json_object_get(j, "params"), "kind"), "conference"));
  json_decref(j);
  CHECK(yx_request_prepare_now(query, "http://127.0.0.1:9/", creds, &prepared, NULL) == YX_OK);
  CHECK(streq(yx_prepared_request_url(prepared), "http://127.0.0.1:9/call/ecp/queryBySession.action"));
  CHECK(streq(yx_prepared_request_body(prepared),
              "session=7c4b7673-4f70-4164-82a0-decb84d77914&type=2"));
  CHECK(streq(yx_prepared_request_header_name(prepared, 4), "Content-Type"));
  yx_prepared_request_free(prepared);
  prepared = SENTINEL(yx_prepared_request);
  CHECK(yx_request_prepare_now(query, "ftp://x", creds, &prepared, &err) == YX_VALIDATION);
  CHECK(streq(yx_error_field(err), "baseUrl") && streq(yx_error_rule(err), "url"));
  CHECK(prepared == SENTINEL(yx_prepared_request));
  yx_error_free(err);
  err = NULL;
  CHECK(yx_query_new("s", 3, &query, &err) == YX_VALIDATION);
  CHECK(streq(yx_error_field(err), "type") && streq(yx_error_rule(err), "one_of"));
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

static void test_callback_round_trip(void) {
  const char *body =
      "{\"callback\":\"{\\\"durationSec\\\":61,\\\"session\\\":\\\"s-1\\\"}\",\"eventType\":\"10\"}";
  yx_credentials *creds = sample_credentials();
  yx_callback_verifier *verifier = NULL;
  yx_callback_event *event = SENTINEL(yx_callback_event);
  yx_call_record *record = NULL;
  yx_error *err = NULL;
  char *md5 = NULL, *sum = NULL, now[32];
  begin("api", "callbacks: verify_and_parse_now on a freshly signed body");
  snprintf(now, sizeof now, "%llu", (unsigned long long)time(NULL) * 1000ULL);
  sign_callback(body, now, &md5, &sum);
  CHECK(strlen(md5) == 32); /* hex-encoded once, not twice */
  {
    yx_header headers[] = {{"Content-Type", "application/json"},
                           {"AppKey", KEY},
                           {"CurTime", now},
                           {"MD5", md5},
                           {"CheckSum", sum}};
    CHECK(yx_callback_verifier_new(creds, yx_default_callback_tolerance_ms(), &verifier, NULL) ==
          YX_OK);
    CHECK(yx_callback_verifier_verify_and_parse_now(verifier, body, strlen(body), headers, 5,
                                                    &event, &err) == YX_OK);
    CHECK(yx_callback_event_record(event, &record, NULL) == YX_OK);
    CHECK(streq(yx_call_record_session(record), "s-1"));
    CHECK(yx_call_record_billed_minutes(record) == 2);
    CHECK(yx_call_record_cost_fen(record, 12) == 24);
    yx_call_record_free(record);
    yx_callback_event_free(event);
    /* One byte more in the body: refused, and nothing written. */
    event = SENTINEL(yx_callback_event);
    CHECK(yx_callback_verifier_verify_and_parse_now(verifier, body, strlen(body) - 1, headers, 5,
                                                    &event, &err) == YX_CALLBACK);
    CHECK(streq(yx_error_reason(err), "md5_mismatch"));
    CHECK(event == SENTINEL(yx_callback_event));
    yx_error_free(err);
    /* Headers missing entirely. */
    err = NULL;
    CHECK(yx_callback_verifier_verify_now(verifier, body, strlen(body), NULL, 0, &err) ==
          YX_CALLBACK);
    CHECK(streq(yx_error_reason(err), "missing_header") && streq(yx_error_field(err), "MD5"));
    yx_error_free(err);
  }
  yx_string_free(md5);
  yx_string_free(sum);
  yx_callback_verifier_free(verifier);
  yx_credentials_free(creds);
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
    if (yx_request_prepare_now(shared->request, NULL, shared->creds, &p, NULL) != YX_OK ||
        strlen(yx_prepared_request_header_value(p, 3)) != 40) {
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

static yx_client *client_for(const yx_credentials *creds, const char *base_url, uint32_t retries) {
  yx_client_builder *builder = NULL;
  yx_client *client = NULL;
  yx_error *err = NULL;
  CHECK(yx_client_builder_new(creds, &builder, NULL) == YX_OK);
  CHECK(yx_client_builder_set_base_url(builder, base_url, NULL) == YX_OK);
  CHECK(yx_client_builder_set_connect_timeout_ms(builder, 5000, NULL) == YX_OK);
  CHECK(yx_client_builder_set_timeout_ms(builder, 20000, NULL) == YX_OK);
  CHECK(yx_client_builder_set_max_retries(builder, retries, NULL) == YX_OK);
  CHECK(yx_client_builder_set_backoff_ms(builder, 10, NULL) == YX_OK);
  if (yx_client_builder_build(builder, &client, &err) != YX_OK) {
    fprintf(stderr, "client: %s\n", yx_error_message(err));
    yx_error_free(err);
  }
  yx_client_builder_free(builder);
  return client;
}

static void test_mock_round_trip(void) {
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL, *conf = NULL, *query = NULL;
  yx_call_record *record = NULL;
  yx_callback_verifier *verifier = NULL;
  yx_error *err = NULL;
  char *session = NULL, *conf_session = NULL;
  const char *callees[] = {"13888888888", "13666666666"};
  size_t received = 0, i;

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
  CHECK(streq(yx_client_base_url(client), yx_mock_server_base_url(mock)));
  CHECK(yx_mock_server_set_callback_url(mock, yx_mock_server_inbox_url(mock), NULL) == YX_OK);
  CHECK(yx_mock_server_set_outcome_answered(mock, "13777777777", 61, NULL) == YX_OK);
  CHECK(yx_mock_server_set_outcome_no_answer(mock, "13888888888", "USER_BUSY", NULL) == YX_OK);

  CHECK(yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, NULL) == YX_OK);
  if (yx_client_start(client, call, &session, &err) != YX_OK) {
    fprintf(stderr, "start call: %s\n", yx_error_message(err));
    yx_error_free(err);
    err = NULL;
  }
  CHECK(session != NULL && strlen(session) == 36);
  CHECK(yx_start_conf_new("liuxuanlin", "13777777777", callees, 2, 600, &conf, NULL) == YX_OK);
  CHECK(yx_client_start(client, conf, &conf_session, NULL) == YX_OK);
  CHECK(yx_mock_server_start_count(mock) == 2);
  CHECK(yx_mock_server_session_count(mock) == 2);

  if (session != NULL) {
    CHECK(yx_query_new(session, YX_SESSION_CALL, &query, NULL) == YX_OK);
    CHECK(yx_client_query(client, query, &record, NULL) == YX_OK);
    CHECK(streq(yx_call_record_session(record), session));
    CHECK(streq(yx_call_record_init_account(record), "liuxuanlin"));
    CHECK(yx_call_record_answered(record) == 1);
    CHECK(yx_call_record_billed_minutes(record) == 2);
    CHECK(yx_call_record_leg_count(record) == 2);
    CHECK(streq(yx_call_record_leg_hang_cause(record, 0), "NORMAL_CLEARING"));
    yx_call_record_free(record);
    record = NULL;
    yx_request_free(query);
    query = NULL;
  }
  if (conf_session != NULL) {
    CHECK(yx_query_new(conf_session, YX_SESSION_CONFERENCE, &query, NULL) == YX_OK);
    CHECK(yx_client_query(client, query, &record, NULL) == YX_OK);
    CHECK(yx_call_record_is_conference(record) == 1);
    CHECK(yx_call_record_member_count(record) == 3);
    CHECK(yx_call_record_answered(record) == 0);
    yx_call_record_free(record);
    yx_request_free(query);
    query = NULL;
  }
  /* A start is not a query, and a query not a start. */
  {
    char *s = SENTINEL(char);
    CHECK(yx_client_query(client, call, &record, &err) == YX_INVALID_ARGUMENT);
    yx_error_free(err);
    err = NULL;
    CHECK(yx_query_new("x", YX_SESSION_CALL, &query, NULL) == YX_OK);
    CHECK(yx_client_start(client, query, &s, &err) == YX_INVALID_ARGUMENT);
    CHECK(s == SENTINEL(char));
    yx_error_free(err);
    err = NULL;
    /* An unknown session: the service's 404. */
    record = SENTINEL(yx_call_record);
    CHECK(yx_client_query(client, query, &record, &err) == YX_API);
    CHECK(yx_error_api_code(err) == 404);
    CHECK(record == SENTINEL(yx_call_record));
    yx_error_free(err);
    err = NULL;
    yx_request_free(query);
  }

  /* Both callbacks arrive at the inbox, signed: verify them on their raw bytes. */
  CHECK(yx_mock_server_wait_for_inbox(mock, 2, 10000, &received, NULL) == YX_OK);
  CHECK(received == 2);
  CHECK(yx_callback_verifier_new(creds, yx_default_callback_tolerance_ms(), &verifier, NULL) ==
        YX_OK);
  for (i = 0; i < received; i++) {
    yx_received_callback *rc = NULL;
    yx_callback_event *event = NULL;
    yx_call_record *r = NULL;
    CHECK(yx_mock_server_inbox_get(mock, i, &rc, NULL) == YX_OK);
    if (yx_callback_verifier_verify_and_parse_now(
            verifier, yx_received_callback_body(rc), yx_received_callback_body_len(rc),
            yx_received_callback_headers(rc), yx_received_callback_header_count(rc), &event,
            &err) != YX_OK) {
      fprintf(stderr, "callback: %s\n", yx_error_message(err));
      yx_error_free(err);
      err = NULL;
      CHECK(!"callback verified");
    } else {
      CHECK(yx_callback_event_record(event, &r, NULL) == YX_OK);
      CHECK(streq(yx_call_record_session(r), session) ||
            streq(yx_call_record_session(r), conf_session));
      yx_call_record_free(r);
      yx_callback_event_free(event);
    }
    CHECK(yx_received_callback_received_at_ms(rc) > 0);
    yx_received_callback_free(rc);
  }
  {
    yx_received_callback *rc = SENTINEL(yx_received_callback);
    CHECK(yx_mock_server_inbox_get(mock, 99, &rc, &err) == YX_INVALID_ARGUMENT);
    CHECK(rc == SENTINEL(yx_received_callback));
    yx_error_free(err);
    err = NULL;
  }
  {
    char *json = NULL;
    json_t *stats;
    CHECK(yx_mock_server_stats_json(mock, &json, NULL) == YX_OK);
    stats = from_lib(json);
    CHECK(iget(stats, "start_count") == 2);
    CHECK(iget(stats, "sessions") == 2);
    json_decref(stats);
    CHECK(yx_mock_server_sessions_json(mock, &json, NULL) == YX_OK);
    stats = from_lib(json);
    CHECK(json_array_size(stats) == 2);
    json_decref(stats);
    /* The mock records a delivery once the receiver has answered, which can trail the inbox:
       poll, bounded (up to 5 s). */
    {
      int tries;
      size_t delivered = 0;
      for (tries = 0; tries < 500; tries++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        CHECK(yx_mock_server_callbacks_json(mock, &json, NULL) == YX_OK);
        stats = from_lib(json);
        delivered = json_array_size(stats);
        json_decref(stats);
        if (delivered >= 2) break;
        nanosleep(&pause, NULL);
      }
      CHECK(delivered == 2);
    }
    CHECK(yx_mock_server_requests_json(mock, &json, NULL) == YX_OK);
    stats = from_lib(json);
    CHECK(json_array_size(stats) >= 5);
    json_decref(stats);
    CHECK(yx_mock_server_inbox_json(mock, &json, NULL) == YX_OK);
    stats = from_lib(json);
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
  CHECK(yx_mock_server_inject_fault(mock, "server_error", 1, 0, 0, NULL) == YX_OK);
  CHECK(yx_client_start(client, call, &session, &err) == YX_API);
  CHECK(yx_error_api_code(err) == 500);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN);
  CHECK(session == SENTINEL(char));
  CHECK(yx_mock_server_start_count(mock) == 1);
  yx_error_free(err);
  err = NULL;

  /* A reset after the request was handled: transport error, maybe sent, not resent. */
  CHECK(yx_mock_server_inject_fault(mock, "reset_before_response", 1, 0, 0, NULL) == YX_OK);
  CHECK(yx_client_start(client, call, &session, &err) == YX_TRANSPORT);
  CHECK(yx_error_maybe_sent(err) == 1);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_OUTCOME_UNKNOWN);
  CHECK(yx_mock_server_start_count(mock) == 2);
  yx_error_free(err);
  err = NULL;

  /* 416: rejected before anything happened, so the client retries and succeeds. */
  CHECK(yx_mock_server_inject_fault(mock, "rate_limited", 1, 0, 0, NULL) == YX_OK);
  CHECK(yx_client_start(client, call, &session, &err) == YX_OK);
  CHECK(session != SENTINEL(char));
  if (session != SENTINEL(char)) {
    yx_string_free(session);
  }
  session = SENTINEL(char);
  CHECK(yx_mock_server_start_count(mock) == 3);

  /* A proxy's HTML 502 page: a protocol error. */
  CHECK(yx_mock_server_inject_fault(mock, "html_502", 1, 0, 0, NULL) == YX_OK);
  CHECK(yx_client_start(no_retry, call, &session, &err) == YX_PROTOCOL);
  CHECK(streq(yx_error_reason(err), "html"));
  CHECK(yx_error_http_status(err) == 502);
  yx_error_free(err);
  err = NULL;

  /* An unknown fault kind. */
  CHECK(yx_mock_server_inject_fault(mock, "gremlins", 1, 0, 0, &err) == YX_INVALID_ARGUMENT);
  yx_error_free(err);
  err = NULL;

  /* ECP switched off: 403, never retried. */
  CHECK(yx_mock_server_set_ecp_enabled(mock, 0, NULL) == YX_OK);
  CHECK(yx_client_start(client, call, &session, &err) == YX_API);
  CHECK(yx_error_api_code(err) == 403);
  CHECK(yx_error_retry_advice(err) == YX_RETRY_NEVER);
  yx_error_free(err);
  err = NULL;
  CHECK(yx_mock_server_reset(mock, NULL) == YX_OK);
  CHECK(yx_mock_server_start_count(mock) == 0);
  CHECK(yx_mock_server_session_count(mock) == 0);
  CHECK(yx_mock_server_session_count(NULL) == 0);

  /* A wrong secret: the service's 414, and the secret in no message. */
  CHECK(yx_credentials_new(yx_mock_sample_app_key(), "wrong-secret-value", &wrong, NULL) == YX_OK);
  intruder = client_for(wrong, yx_mock_server_base_url(mock), 2);
  CHECK(yx_client_start(intruder, call, &session, &err) == YX_API);
  CHECK(yx_error_api_code(err) == 414);
  CHECK(streq(yx_error_api_message(err), "bad http header"));
  check_no_secret(err, "wrong-secret-value");
  yx_error_free(err);
  err = NULL;
  CHECK(session == SENTINEL(char));

  /* A zero timeout is refused when building. */
  {
    yx_client_builder *builder = NULL;
    yx_client *c = SENTINEL(yx_client);
    CHECK(yx_client_builder_new(creds, &builder, NULL) == YX_OK);
    CHECK(yx_client_builder_set_timeout_ms(builder, 0, NULL) == YX_OK);
    CHECK(yx_client_builder_build(builder, &c, &err) == YX_VALIDATION);
    CHECK(streq(yx_error_field(err), "timeout"));
    CHECK(c == SENTINEL(yx_client));
    yx_error_free(err);
    err = NULL;
    /* So is a zero size limit, named as such. */
    CHECK(yx_client_builder_set_timeout_ms(builder, 1000, NULL) == YX_OK);
    CHECK(yx_client_builder_set_max_response_bytes(builder, 0, NULL) == YX_OK);
    CHECK(yx_client_builder_build(builder, &c, &err) == YX_VALIDATION);
    CHECK(streq(yx_error_field(err), "max_response_bytes"));
    CHECK(streq(yx_error_rule(err), "not_positive"));
    CHECK(c == SENTINEL(yx_client));
    yx_error_free(err);
    err = NULL;
    /* Absurd waits are refused naming the setting (they used to build, then make every request
       overflow the clock arithmetic). */
    {
      struct {
        yx_result (*set)(yx_client_builder *, uint64_t, yx_error **);
        const char *field;
      } waits[] = {
          {yx_client_builder_set_connect_timeout_ms, "connect_timeout"},
          {yx_client_builder_set_timeout_ms, "timeout"},
          {yx_client_builder_set_backoff_ms, "backoff"},
      };
      for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        yx_client_builder *b = NULL;
        CHECK(yx_client_builder_new(creds, &b, NULL) == YX_OK);
        CHECK(waits[i].set(b, UINT64_MAX, NULL) == YX_OK);
        CHECK(yx_client_builder_build(b, &c, &err) == YX_VALIDATION);
        CHECK(streq(yx_error_field(err), waits[i].field));
        CHECK(streq(yx_error_rule(err), "at_most"));
        CHECK(strstr(yx_error_message(err), "at most 600 seconds") != NULL);
        CHECK(c == SENTINEL(yx_client));
        yx_error_free(err);
        err = NULL;
        CHECK(waits[i].set(b, 600000, NULL) == YX_OK);
        CHECK(yx_client_builder_build(b, &c, &err) == YX_OK);
        yx_client_free(c);
        c = SENTINEL(yx_client);
        yx_client_builder_free(b);
      }
    }
    /* A refused base URL leaves the builder as it was. */
    CHECK(yx_client_builder_set_base_url(builder, "not a url", &err) == YX_VALIDATION);
    yx_error_free(err);
    err = NULL;
    yx_client_builder_free(builder);
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
    CHECK(streq(yx_error_reason(err), "connect"));
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

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "tests/vectors";
  int with_mock = !(argc > 2 && strcmp(argv[2], "--no-mock") == 0);

  if (yx_abi_version() != YX_ABI_VERSION) {
    fprintf(stderr, "header ABI %d, library ABI %u\n", YX_ABI_VERSION, yx_abi_version());
    return 2;
  }
  vectors_signing(dir);
  vectors_requests(dir);
  vectors_responses(dir);
  vectors_callbacks(dir);
  vectors_server(dir);
  test_versions();
  test_null_arguments();
  test_invalid_utf8();
  test_free_null_and_accessors();
  test_err_out_untouched_on_success();
  test_error_details();
  test_code_table();
  test_endpoints_and_billing();
  test_nonces_and_sign_now();
  test_prepare_now();
  test_callback_round_trip();
  test_threads();
  if (with_mock) {
    test_mock_round_trip();
    test_mock_faults();
  }
  printf("c: %d passed, %d failed\n", cases_passed, cases_failed);
  return cases_failed == 0 ? 0 : 1;
}
