/* The fault table's C side: every fault the mock can inject, against the blocking client of the
 * C API, for a start call and for a query. Prints one tab-separated ROW per case and DONE at the
 * end, for scripts/fault-table.py. The outcome words are the same in every language (see
 * tests/faults/faults.py). The last row says whether every call the mock placed had its call-end
 * callback received by the mock's inbox and verified. Built by tests/faults/build-c.sh. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "yunxin_ecp.h"

/* The same faults, in the same order, as every other language's program. */
static const struct {
  const char *kind;
  uint64_t ms;
  size_t bytes;
} FAULTS[] = {
    {"delay", 1500, 0},
    {"reset_before_response", 0, 0},
    {"reset_mid_body", 0, 0},
    {"html_502", 0, 0},
    {"empty_body", 0, 0},
    {"garbage_json", 0, 0},
    {"oversized", 0, 4 * 1024 * 1024},
    {"rate_limited", 0, 0},
    {"server_error", 0, 0},
    {"busy_503", 0, 0},
    {"redirect", 0, 0},
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms) {
  if (ms <= 0) {
    return;
  }
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000.0);
  ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static const char *text(const char *s) { return s ? s : "?"; }

/* The string `key` of a JSON object, or "?". */
static const char *text_of(const json_t *object, const char *key) {
  return text(json_string_value(json_object_get(object, key)));
}

/* Parses a JSON text the library wrote, and frees it; NULL when there is none. */
static json_t *parsed(char *json) {
  json_t *value = json != NULL ? json_loads(json, 0, NULL) : NULL;
  yx_string_free(json);
  return value;
}

/* Writes a table cell for an outcome: `err` NULL means success. The words (kind, reason, retry
 * advice) are those of the error JSON, as every binding reports them. */
static void describe(const yx_error *err, char *out, size_t size) {
  if (err == NULL) {
    snprintf(out, size, "ok");
    return;
  }
  char *json = NULL;
  json_t *detail = yx_error_to_json(err, &json, NULL) == YX_OK ? parsed(json) : NULL;
  const char *advice = text_of(detail, "retry");
  switch (yx_error_kind(err)) {
  case YX_API:
    snprintf(out, size, "api %lld [%s]", (long long)yx_error_api_code(err), advice);
    break;
  case YX_PROTOCOL:
    snprintf(out, size, "protocol %s [%s]", text_of(detail, "reason"), advice);
    break;
  case YX_TRANSPORT:
    snprintf(out, size, "transport %s sent=%s [%s]", text_of(detail, "reason"),
             yx_error_maybe_sent(err) ? "true" : "false", advice);
    break;
  default:
    snprintf(out, size, "%s [%s]", text_of(detail, "kind"), advice);
    break;
  }
  json_decref(detail);
}

/* The mock's answer to a control request, parsed; NULL when it failed (`err` says why). */
static json_t *control(const yx_mock_server *mock, const char *method, const char *path,
                       const char *form, yx_error **err) {
  char *json = NULL;
  if (yx_mock_server_control(mock, method, path, form, &json, err) != YX_OK) {
    return NULL;
  }
  return parsed(json);
}

/* One count of the mock's GET /_mock/stats; -1 when it cannot be read. */
static long long stat_of(const yx_mock_server *mock, const char *name) {
  json_t *stats = control(mock, "GET", "/_mock/stats", NULL, NULL);
  json_t *value = json_object_get(stats, name);
  long long n = json_is_integer(value) ? (long long)json_integer_value(value) : -1;
  json_decref(stats);
  return n;
}

/* Clears the mock's faults and queues FAULTS[f] for the next request. */
static yx_result inject(const yx_mock_server *mock, size_t f, yx_error **err) {
  char form[128];
  int n = snprintf(form, sizeof form, "kind=%s&times=1", FAULTS[f].kind);
  if (FAULTS[f].ms > 0) {
    n += snprintf(form + n, sizeof form - (size_t)n, "&ms=%llu", (unsigned long long)FAULTS[f].ms);
  }
  if (FAULTS[f].bytes > 0) {
    snprintf(form + n, sizeof form - (size_t)n, "&bytes=%zu", FAULTS[f].bytes);
  }
  json_t *answer = control(mock, "POST", "/_mock/faults/clear", NULL, err);
  if (answer == NULL) {
    return YX_OTHER;
  }
  json_decref(answer);
  answer = control(mock, "POST", "/_mock/fault", form, err);
  if (answer == NULL) {
    return YX_OTHER;
  }
  json_decref(answer);
  return YX_OK;
}

/* A copy (free with free()) of the session of a received callback (an entry of the mock's
 * inbox: headers and body as received) that verifies as a call end; NULL otherwise. */
static char *verified_session(const yx_callback_verifier *verifier, const json_t *received) {
  const json_t *headers = json_object_get(received, "headers");
  const json_t *body = json_object_get(received, "body");
  size_t count = json_array_size(headers);
  yx_pair *pairs = calloc(count + 1, sizeof *pairs);
  yx_callback_event *event = NULL;
  const yx_call_record *record = NULL;
  char *session = NULL;
  if (pairs == NULL) {
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    pairs[i].name = json_string_value(json_array_get(json_array_get(headers, i), 0));
    pairs[i].value = json_string_value(json_array_get(json_array_get(headers, i), 1));
  }
  if (yx_callback_verifier_verify_and_parse(verifier, json_string_value(body),
                                            json_string_length(body), pairs, count, 0, &event,
                                            NULL) == YX_OK &&
      (record = yx_callback_event_record(event)) != NULL &&
      yx_call_record_session(record) != NULL) {
    session = strdup(yx_call_record_session(record));
  }
  yx_callback_event_free(event);
  free(pairs);
  return session;
}

/* Waits for the callback of every call the mock placed and verifies each: "all N verified",
 * else how many were lost or refused. */
static void callbacks_outcome(const yx_mock_server *mock, const yx_callback_verifier *verifier,
                              char *out, size_t size) {
  long long sessions = stat_of(mock, "sessions");
  size_t placed = sessions > 0 ? (size_t)sessions : 0;
  char *json = NULL;
  json_t *inbox = yx_mock_server_wait_for_inbox(mock, placed, 10000, &json, NULL) == YX_OK
                      ? parsed(json)
                      : NULL;
  size_t received = json_array_size(inbox);
  char **verified = calloc(received + 1, sizeof *verified);
  size_t distinct = 0;
  size_t refused = 0;
  for (size_t i = 0; verified != NULL && i < received; i++) {
    char *session = verified_session(verifier, json_array_get(inbox, i));
    if (session == NULL) {
      refused++;
      continue;
    }
    int seen = 0;
    for (size_t j = 0; j < distinct; j++) {
      seen |= strcmp(verified[j], session) == 0;
    }
    if (seen) {
      free(session);
    } else {
      verified[distinct++] = session;
    }
  }
  for (size_t j = 0; j < distinct; j++) {
    free(verified[j]);
  }
  free(verified);
  json_decref(inbox);
  size_t lost = placed > distinct ? placed - distinct : 0;
  if (lost == 0 && refused == 0) {
    snprintf(out, size, "all %zu verified", placed);
  } else {
    snprintf(out, size, "%zu lost, %zu refused of %zu", lost, refused, placed);
  }
}

/* The first callback received, delivered twice to a handler behind the duplicate guard, as a
 * sender that got no answer in time delivers it again: "handled 1 of 2 deliveries". */
static void duplicate_outcome(const yx_mock_server *mock, const yx_callback_verifier *verifier,
                              char *out, size_t size) {
  char *json = NULL;
  json_t *inbox =
      yx_mock_server_wait_for_inbox(mock, 1, 10000, &json, NULL) == YX_OK ? parsed(json) : NULL;
  const json_t *first = json_array_get(inbox, 0);
  const json_t *headers = json_object_get(first, "headers");
  const json_t *body = json_object_get(first, "body");
  size_t count = json_array_size(headers);
  yx_pair *pairs = calloc(count + 1, sizeof *pairs);
  yx_delivery_guard *guard = NULL;
  int handled = 0;
  int refused = 0;
  if (first == NULL || pairs == NULL || yx_delivery_guard_new(NULL, &guard, NULL) != YX_OK) {
    snprintf(out, size, "no callback received");
  } else {
    for (size_t i = 0; i < count; i++) {
      pairs[i].name = json_string_value(json_array_get(json_array_get(headers, i), 0));
      pairs[i].value = json_string_value(json_array_get(json_array_get(headers, i), 1));
    }
    for (int delivered = 0; delivered < 2; delivered++) {
      yx_delivery delivery;
      int32_t claim = 0;
      if (yx_callback_verifier_verify_delivery(verifier, json_string_value(body),
                                               json_string_length(body), pairs, count, 0,
                                               &delivery, NULL, NULL) != YX_OK) {
        refused = 1;
        break;
      }
      if (yx_delivery_guard_claim(guard, delivery.key, delivery.expires_at_ms, 0, &claim, NULL) ==
              YX_OK &&
          claim == YX_CLAIM_FIRST) {
        handled++; /* the handler */
        yx_delivery_guard_complete(guard, delivery.key, delivery.expires_at_ms, NULL);
      }
    }
    if (refused) {
      snprintf(out, size, "refused");
    } else {
      snprintf(out, size, "handled %d of 2 deliveries", handled);
    }
  }
  yx_delivery_guard_free(guard);
  free(pairs);
  json_decref(inbox);
}

/* Reports a failed setup step and frees its error. */
static void failed(const char *step, yx_error *err) {
  fprintf(stderr, "%s: %s\n", step, text(yx_error_message(err)));
  yx_error_free(err);
}

int main(void) {
  int ok = 0;
  yx_error *err = NULL;
  yx_mock_server *mock = NULL;
  yx_credentials *creds = NULL;
  yx_client *client = NULL;
  yx_request *call = NULL;
  yx_request *query = NULL;
  yx_callback_verifier *verifier = NULL;
  char *session = NULL;
  json_t *answer = NULL;
  char setting[512];

  if (yx_abi_version() != YX_ABI_VERSION) {
    fprintf(stderr, "libyunxin_ecp has ABI %u, this program was built for %d\n",
            (unsigned)yx_abi_version(), YX_ABI_VERSION);
    return 1;
  }
  if (yx_mock_server_start(&mock, &err) != YX_OK) {
    failed("mock server", err);
    goto done;
  }
  /* The mock's own inbox receives the call-end callbacks. */
  snprintf(setting, sizeof setting, "url=%s/_mock/inbox", yx_mock_server_base_url(mock));
  if ((answer = control(mock, "POST", "/_mock/callback_url", setting, &err)) == NULL) {
    failed("mock server", err);
    goto done;
  }
  json_decref(answer);
  snprintf(setting, sizeof setting,
           "{\"base_url\":\"%s\",\"timeout_ms\":1000,\"connect_timeout_ms\":1000,"
           "\"backoff_ms\":50}",
           yx_mock_server_base_url(mock));
  if (yx_credentials_new(yx_mock_sample_app_key(), yx_mock_sample_app_secret(), &creds, &err) !=
          YX_OK ||
      yx_callback_verifier_new(creds, "{\"tolerance_ms\":300000}", &verifier, &err) != YX_OK ||
      yx_client_new(creds, setting, &client, &err) != YX_OK) {
    failed("client", err);
    goto done;
  }
  if (yx_start_call_new("liuxuanlin", "13888888888", "13777777777", 100, &call, &err) != YX_OK ||
      yx_client_start(client, call, &session, &err) != YX_OK ||
      yx_query_new(session, YX_SESSION_CALL, &query, &err) != YX_OK) {
    failed("first call", err);
    goto done;
  }

  for (size_t f = 0; f < sizeof FAULTS / sizeof FAULTS[0]; f++) {
    for (int start = 1; start >= 0; start--) {
      if (inject(mock, f, &err) != YX_OK) {
        failed(FAULTS[f].kind, err);
        goto done;
      }
      yx_error *outcome = NULL;
      double began = now_ms();
      if (start) {
        char *started = NULL;
        if (yx_client_start(client, call, &started, &outcome) == YX_OK) {
          yx_string_free(started);
        }
      } else {
        yx_call_record *record = NULL;
        if (yx_client_query(client, query, &record, &outcome) == YX_OK) {
          yx_call_record_free(record);
        }
      }
      double took = now_ms() - began;
      char cell[256];
      describe(outcome, cell, sizeof cell);
      yx_error_free(outcome);
      printf("ROW\t%s\t%s\t%s\t%.0f\n", FAULTS[f].kind, start ? "start_call" : "query", cell,
             took);
      fflush(stdout);
      if (strcmp(FAULTS[f].kind, "delay") == 0) {
        sleep_ms(1600.0 - took); /* let the delayed request finish */
      }
    }
  }
  {
    /* Where the redirect fault pointed: nothing may have reached it, signed headers and all. */
    long long hits = stat_of(mock, "redirect_target_hits");
    if (hits < 0) {
      fprintf(stderr, "faults: no redirect_target_hits in the mock's stats\n");
      goto done;
    }
    printf("ROW\tredirect\tlocation_host\t%lld requests\t0\n", hits);
  }
  {
    char cell[256];
    double began = now_ms();
    callbacks_outcome(mock, verifier, cell, sizeof cell);
    printf("ROW\tcallbacks\tdelivered\t%s\t%.0f\n", cell, now_ms() - began);
    began = now_ms();
    duplicate_outcome(mock, verifier, cell, sizeof cell);
    printf("ROW\tduplicate_delivery\thandler\t%s\t%.0f\n", cell, now_ms() - began);
  }
  ok = 1;

done:
  yx_callback_verifier_free(verifier);
  yx_request_free(query);
  yx_string_free(session);
  yx_request_free(call);
  yx_client_free(client);
  yx_credentials_free(creds);
  yx_mock_server_free(mock);
  if (!ok) {
    return 1;
  }
  printf("DONE\n");
  fflush(stdout);
  return 0;
}
